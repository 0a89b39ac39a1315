import Handlebars from 'handlebars';
import { SECRET_NAME_PATTERN } from '../validation/flow.schema';
import { spendIteration, spendText, withRenderBudget } from './render-budget';
import { joinPointer } from '../validation/json-pointer';
import {
  KNOWN_HELPERS,
  MissingSecretError,
  PURE_HELPERS,
  SECRET_HELPER,
  secretHelper,
  RAW_HELPER,
  URLENCODE_HELPER,
  type HelperFn,
} from './template-helpers';
import { StaticUrlScanner, UrlBuilder, type UrlValueMode } from './url-template';

/** What a `with` template sees. */
export interface TemplateData {
  input?: unknown;
  trigger?: unknown;
  steps?: Record<string, unknown>;
  run?: unknown;
  [key: string]: unknown;
}

/** A template that does not parse or fails to render; `pointer` locates the string in the tree. */
export class TemplateError extends Error {
  constructor(
    message: string,
    /** JSON pointer of the offending string, relative to the tree root (`''` for the root). */
    readonly pointer: string,
  ) {
    super(message);
    this.name = 'TemplateError';
  }
}

export interface TemplateIssue {
  pointer: string;
  message: string;
}

/** A reference to `steps.<id>` in a template, for the validator's dependency warning. */
export interface TemplateStepRef {
  pointer: string;
  stepId: string;
}

export interface CompiledTemplateTree {
  /** Renders a fresh copy of the tree. Throws `TemplateError`. */
  render(data: TemplateData, secrets?: Readonly<Record<string, string>>): unknown;
  /** Names used in `{{secret '...'}}`, sorted. */
  readonly secretNames: string[];
  readonly stepRefs: TemplateStepRef[];
}

/** What validation learns from a tree in one pass: problems, warnings and references. */
export interface TemplateTreeReport {
  issues: TemplateIssue[];
  /** Not errors: e.g. a URL whose host comes from the request. */
  warnings: TemplateIssue[];
  secretNames: string[];
  stepRefs: TemplateStepRef[];
}

export interface TemplateTreeOptions {
  /** Subtrees (`json`, `/json`) where a string that is exactly one `{{ ... }}` keeps its value's type. */
  typedPaths: readonly string[];
  /** Strings (`/url`, or keys) that are URLs: values are encoded for where they land (url-template.ts). */
  urlPaths?: readonly string[];
  /** Longest template string (one containing `{{`) accepted, in characters; validation sets it. */
  maxTemplateLength?: number;
}

// An environment of our own: helpers registered here cannot leak into, or be replaced by, other
// users of the handlebars module.
const hb = Handlebars.create();
hb.unregisterHelper('log');
for (const [name, fn] of Object.entries(PURE_HELPERS))
  hb.registerHelper(name, fn as Handlebars.HelperDelegate);
// Handlebars' own `each`, with every pass of its body counted against the render's budget.
const builtinEach = hb.helpers.each as Handlebars.HelperDelegate;
hb.registerHelper('each', function (this: unknown, context: unknown, options: Handlebars.HelperOptions) {
  const body = options.fn;
  const counted = (item: unknown, opts?: Handlebars.RuntimeOptions) => {
    spendIteration();
    return body(item, opts);
  };
  return builtinEach.call(this, context, { ...options, fn: counted });
});

type CompileOptions = Parameters<typeof Handlebars.compile>[1];
// Payloads are JSON and HTTP, not HTML: no escaping.
const COMPILE_OPTIONS: CompileOptions = { noEscape: true, strict: false };
// Explicit `false` keeps prototype access denied and also silences handlebars' one-time warning log.
const PROTO_DENIED = { allowProtoPropertiesByDefault: false, allowProtoMethodsByDefault: false } as const;

type AstNode = hbs.AST.Node;
type Mustache = hbs.AST.MustacheStatement;

/** A piece of a URL template: literal text, a value, or an `if`/`unless` choosing between pieces. */
type UrlPart =
  | { kind: 'literal'; text: string }
  | { kind: 'value'; mode: UrlValueMode; source: string; template: HandlebarsTemplateDelegate }
  | {
      kind: 'branch';
      block: hbs.AST.BlockStatement;
      negate: boolean;
      then: UrlPart[];
      otherwise: UrlPart[];
    };

type Compiled =
  | { kind: 'const'; value: unknown }
  | { kind: 'text'; pointer: string; template: HandlebarsTemplateDelegate }
  | { kind: 'url'; pointer: string; parts: UrlPart[] }
  | { kind: 'typed'; pointer: string; statement: Mustache; fallback: HandlebarsTemplateDelegate }
  | { kind: 'array'; items: Compiled[] }
  | { kind: 'object'; entries: Array<[string, Compiled]> };

function parseErrorMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const lines = text.split('\n');
  if (lines.length >= 4 && lines[0].startsWith('Parse error')) {
    const column = lines[2].indexOf('^');
    return `${lines[0].replace(/:$/, '')}${column >= 0 ? `, column ${column + 1}` : ''}: ${lines.slice(3).join(' ')}`;
  }
  return text;
}

function helperName(node: { path: AstNode }): string | undefined {
  const path = node.path as hbs.AST.PathExpression;
  return path.type === 'PathExpression' && !path.data && path.depth === 0 && path.parts.length === 1
    ? path.parts[0]
    : undefined;
}

interface AstFindings {
  issues: string[];
  secretNames: Set<string>;
  stepIds: Set<string>;
}

/** Checks what Handlebars only finds at render time (unknown helpers, partials) and collects references. */
function inspect(program: hbs.AST.Program): AstFindings {
  const found: AstFindings = { issues: [], secretNames: new Set(), stepIds: new Set() };
  const secretPattern = new RegExp(SECRET_NAME_PATTERN);

  const visitPath = (path: hbs.AST.PathExpression, rootContext: boolean): void => {
    if (path.data && path.parts[0] === 'root' && path.parts[1] === 'steps' && path.parts[2]) {
      found.stepIds.add(path.parts[2]);
    } else if (!path.data && rootContext && path.depth === 0 && path.parts[0] === 'steps' && path.parts[1]) {
      found.stepIds.add(path.parts[1]);
    }
  };

  const visitCall = (
    node: { path: AstNode; params: AstNode[]; hash?: hbs.AST.Hash },
    rootContext: boolean,
  ): void => {
    const name = helperName(node);
    const hasArgs = node.params.length > 0 || (node.hash?.pairs.length ?? 0) > 0;
    if (hasArgs && (name === undefined || !KNOWN_HELPERS.has(name))) {
      const original = (node.path as hbs.AST.PathExpression).original ?? 'expression';
      found.issues.push(
        `unknown helper '${String(original)}' (available: ${[...KNOWN_HELPERS].sort().join(', ')})`,
      );
    }
    if (name === SECRET_HELPER) {
      const [first] = node.params;
      if (node.params.length !== 1 || first.type !== 'StringLiteral') {
        found.issues.push(`the secret helper takes one quoted secret name, e.g. {{secret 'API_TOKEN'}}`);
      } else {
        const secretName = (first as hbs.AST.StringLiteral).value;
        if (secretPattern.test(secretName)) found.secretNames.add(secretName);
        else found.issues.push(`'${secretName}' is not a valid secret name`);
      }
    }
    if (node.path.type === 'PathExpression' && !hasArgs)
      visitPath(node.path as hbs.AST.PathExpression, rootContext);
    for (const param of node.params) visitExpression(param, rootContext);
    for (const pair of node.hash?.pairs ?? []) visitExpression(pair.value, rootContext);
  };

  const visitExpression = (node: AstNode, rootContext: boolean): void => {
    if (node.type === 'SubExpression') visitCall(node as hbs.AST.SubExpression, rootContext);
    else if (node.type === 'PathExpression') visitPath(node as hbs.AST.PathExpression, rootContext);
  };

  const visitProgram = (p: hbs.AST.Program | undefined, rootContext: boolean): void => {
    for (const statement of p?.body ?? []) {
      switch (statement.type) {
        case 'MustacheStatement':
          visitCall(statement as Mustache, rootContext);
          break;
        case 'BlockStatement': {
          const block = statement as hbs.AST.BlockStatement;
          visitCall(block, rootContext);
          // `if`/`unless` keep the context; `each`, `with` and sections change what `steps` means.
          const name = helperName(block);
          const keeps = name === 'if' || name === 'unless';
          visitProgram(block.program, rootContext && keeps);
          visitProgram(block.inverse, rootContext);
          break;
        }
        case 'PartialStatement':
        case 'PartialBlockStatement':
          found.issues.push('partials are not supported');
          break;
        case 'Decorator':
        case 'DecoratorBlock':
          found.issues.push('decorators are not supported');
          break;
        default:
          break;
      }
    }
  };

  visitProgram(program, true);
  return found;
}

function isSingleMustache(program: hbs.AST.Program): Mustache | undefined {
  const [only] = program.body;
  return program.body.length === 1 && only.type === 'MustacheStatement' ? (only as Mustache) : undefined;
}

function own(value: unknown, key: string): unknown {
  if (value === null || value === undefined) return undefined;
  if (typeof value !== 'object' && typeof value !== 'string') return undefined;
  return Object.prototype.hasOwnProperty.call(value, key)
    ? (value as Record<string, unknown>)[key]
    : undefined;
}

/** Resolves a path the way Handlebars would at the top level, but returning the value itself. */
function resolvePath(path: hbs.AST.PathExpression, data: TemplateData): unknown {
  let parts = path.parts;
  if (path.data) {
    if (parts[0] !== 'root') return undefined;
    parts = parts.slice(1);
  } else if (path.depth > 0) {
    return undefined;
  }
  let current: unknown = data;
  for (const part of parts) {
    current = own(current, part);
    if (current === undefined) return undefined;
  }
  return current;
}

interface CallScope {
  data: TemplateData;
  helpers: Record<string, HelperFn>;
}

function helperOptions(
  hash: Record<string, unknown>,
  scope: CallScope,
  name: string,
): Record<string, unknown> {
  const noop = () => '';
  return { hash, name, data: { root: scope.data }, fn: noop, inverse: noop };
}

function evaluateExpression(node: AstNode, scope: CallScope): unknown {
  switch (node.type) {
    case 'PathExpression':
      return resolvePath(node as hbs.AST.PathExpression, scope.data);
    case 'SubExpression':
      return callHelper(node as hbs.AST.SubExpression, scope);
    case 'StringLiteral':
    case 'NumberLiteral':
    case 'BooleanLiteral':
      return (node as hbs.AST.StringLiteral).value;
    case 'NullLiteral':
      return null;
    default:
      return undefined;
  }
}

function callHelper(
  node: { path: AstNode; params: AstNode[]; hash?: hbs.AST.Hash },
  scope: CallScope,
): unknown {
  const name = helperName(node) as string;
  const params = node.params.map((p) => evaluateExpression(p, scope));
  const hash = Object.fromEntries(
    (node.hash?.pairs ?? []).map((pair) => [pair.key, evaluateExpression(pair.value, scope)]),
  );
  return scope.helpers[name](...params, helperOptions(hash, scope, name));
}

/** The value of a single-mustache string, or `NOT_TYPED` when Handlebars must render it as text. */
const NOT_TYPED = Symbol('not typed');

function typedValue(statement: Mustache, scope: CallScope): unknown {
  const name = helperName(statement);
  const hasArgs = statement.params.length > 0 || (statement.hash?.pairs.length ?? 0) > 0;
  if (name !== undefined && Object.prototype.hasOwnProperty.call(scope.helpers, name)) {
    return callHelper(statement, scope);
  }
  if (name === 'lookup' && statement.params.length === 2) {
    // Handlebars' own lookup, typed: `{{lookup steps.order.items 0}}` keeps the item's type.
    const [container, key] = statement.params.map((p) => evaluateExpression(p, scope));
    return own(container, String(key));
  }
  if (hasArgs || statement.path.type !== 'PathExpression') return NOT_TYPED;
  if (name !== undefined && KNOWN_HELPERS.has(name)) return NOT_TYPED;
  return resolvePath(statement.path as hbs.AST.PathExpression, scope.data);
}

function normalizePaths(paths: readonly string[]): string[] {
  return paths.map((p) => (p.startsWith('/') ? p : `/${p.split('.').join('/')}`));
}

function isTyped(pointer: string, typedPaths: string[]): boolean {
  return typedPaths.some((t) => pointer === t || pointer.startsWith(`${t}/`));
}

interface TreeBuild {
  issues: TemplateIssue[];
  warnings: TemplateIssue[];
  secretNames: Set<string>;
  stepRefs: TemplateStepRef[];
}

interface TreeSettings {
  typedPaths: string[];
  urlPaths: string[];
  maxTemplateLength: number;
}

/** Gives the text of a node in its template, to name a value in messages without rendering it. */
function sourceFinder(template: string): (loc: hbs.AST.SourceLocation | undefined) => string {
  let lineStarts: number[] | undefined;
  return (loc) => {
    if (!loc) return 'a value';
    if (!lineStarts) {
      lineStarts = [0];
      for (let i = template.indexOf('\n'); i >= 0; i = template.indexOf('\n', i + 1)) lineStarts.push(i + 1);
    }
    const start = (lineStarts[loc.start.line - 1] ?? 0) + loc.start.column;
    const end = (lineStarts[loc.end.line - 1] ?? 0) + loc.end.column;
    const text = template.slice(start, end);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  };
}

/** Paths a mustache or block reads (not helper names), e.g. `input.id` in `{{default input.id 'x'}}`. */
function dataPaths(node: { path: AstNode; params: AstNode[]; hash?: hbs.AST.Hash }): string[] {
  const found: string[] = [];
  const visit = (n: AstNode): void => {
    if (n.type === 'PathExpression') found.push((n as hbs.AST.PathExpression).original);
    else if (n.type === 'SubExpression') visitCall(n as hbs.AST.SubExpression);
  };
  const visitCall = (call: { path: AstNode; params: AstNode[]; hash?: hbs.AST.Hash }): void => {
    const hasArgs = call.params.length > 0 || (call.hash?.pairs.length ?? 0) > 0;
    if (!hasArgs) visit(call.path);
    for (const p of call.params) visit(p);
    for (const pair of call.hash?.pairs ?? []) visit(pair.value);
  };
  visitCall(node);
  return found;
}

/** Data a sender controls: everything but the run's own id and flow (`run.*`). */
function fromRequest(path: string): boolean {
  const head = path
    .replace(/^@root\./, '')
    .replace(/^this\./, '')
    .split(/[.[/]/)[0];
  return head !== 'run';
}

function singleStatement(statement: hbs.AST.Statement): hbs.AST.Program {
  const program: hbs.AST.Program = {
    type: 'Program',
    body: [statement],
    blockParams: [],
    loc: statement.loc,
  };
  return program;
}

function compileUrlParts(
  program: hbs.AST.Program | undefined,
  sourceOf: (loc: hbs.AST.SourceLocation | undefined) => string,
  pointer: string,
  scanner: StaticUrlScanner,
  build: TreeBuild,
): UrlPart[] {
  const parts: UrlPart[] = [];
  for (const statement of program?.body ?? []) {
    if (statement.type === 'ContentStatement') {
      const text = (statement as hbs.AST.ContentStatement).value;
      scanner.literal(text);
      parts.push({ kind: 'literal', text });
      continue;
    }
    if (statement.type !== 'MustacheStatement' && statement.type !== 'BlockStatement') continue;
    const call = statement as Mustache | hbs.AST.BlockStatement;
    const name = helperName(call);
    const source = sourceOf(statement.loc);
    if (
      statement.type === 'BlockStatement' &&
      (name === 'if' || name === 'unless') &&
      call.params.length === 1
    ) {
      const block = statement as hbs.AST.BlockStatement;
      const then = scanner.fork();
      const otherwise = scanner.fork();
      parts.push({
        kind: 'branch',
        block,
        negate: name === 'unless',
        then: compileUrlParts(block.program, sourceOf, pointer, then, build),
        otherwise: compileUrlParts(block.inverse, sourceOf, pointer, otherwise, build),
      });
      scanner.follow(then);
      continue;
    }
    const mode: UrlValueMode =
      statement.type === 'MustacheStatement' && name === RAW_HELPER
        ? 'raw'
        : statement.type === 'MustacheStatement' && name === URLENCODE_HELPER
          ? 'encoded'
          : 'value';
    const place = scanner.value();
    const requestPaths = dataPaths(call).filter(fromRequest);
    if (place !== 'elsewhere' && requestPaths.length > 0) {
      const what = place === 'whole' ? 'the whole URL or its origin' : 'the host';
      build.warnings.push({
        pointer,
        message: `${source} puts data from the request (${requestPaths.join(', ')}) in ${what}: a sender can make this step call any address; write the host out or keep it in a secret`,
      });
    }
    parts.push({
      kind: 'value',
      mode,
      source,
      template: hb.compile(singleStatement(statement), COMPILE_OPTIONS),
    });
  }
  return parts;
}

function compileNode(value: unknown, pointer: string, settings: TreeSettings, build: TreeBuild): Compiled {
  if (Array.isArray(value)) {
    return {
      kind: 'array',
      items: value.map((v, i) => compileNode(v, joinPointer(pointer, i), settings, build)),
    };
  }
  if (value !== null && typeof value === 'object') {
    return {
      kind: 'object',
      entries: Object.entries(value).map(([k, v]) => [
        k,
        compileNode(v, joinPointer(pointer, k), settings, build),
      ]),
    };
  }
  if (typeof value !== 'string' || !value.includes('{{')) return { kind: 'const', value };
  if (value.length > settings.maxTemplateLength) {
    build.issues.push({
      pointer,
      message: `is a template of ${value.length} characters; a template may have at most ${settings.maxTemplateLength}`,
    });
    return { kind: 'const', value };
  }

  let program: hbs.AST.Program;
  try {
    program = hb.parse(value);
  } catch (err) {
    build.issues.push({ pointer, message: `template does not parse: ${parseErrorMessage(err)}` });
    return { kind: 'const', value };
  }
  const found = inspect(program);
  for (const message of found.issues) build.issues.push({ pointer, message });
  for (const name of found.secretNames) build.secretNames.add(name);
  for (const stepId of found.stepIds) build.stepRefs.push({ pointer, stepId });

  if (settings.urlPaths.includes(pointer)) {
    return {
      kind: 'url',
      pointer,
      parts: compileUrlParts(program, sourceFinder(value), pointer, new StaticUrlScanner(), build),
    };
  }
  const template = hb.compile(program, COMPILE_OPTIONS);
  if (isTyped(pointer, settings.typedPaths)) {
    const trimmed = value.trim();
    const single = isSingleMustache(trimmed === value ? program : hb.parse(trimmed));
    if (single) return { kind: 'typed', pointer, statement: single, fallback: template };
  }
  return { kind: 'text', pointer, template };
}

/** Handlebars' `if`: false, null, undefined, '', 0 (unless `includeZero`) and [] are false. */
function blockCondition(block: hbs.AST.BlockStatement, scope: CallScope): boolean {
  const value = evaluateExpression(block.params[0], scope);
  const includeZero = (block.hash?.pairs ?? []).some(
    (pair) => pair.key === 'includeZero' && evaluateExpression(pair.value, scope) === true,
  );
  return !((!includeZero && !value) || (Array.isArray(value) && value.length === 0));
}

function renderUrlParts(parts: UrlPart[], scope: CallScope, url: UrlBuilder): void {
  for (const part of parts) {
    if (part.kind === 'literal') url.literal(part.text);
    else if (part.kind === 'value')
      url.value(spendText(String(part.template(scope.data, runtimeOptions(scope)))), part.mode, part.source);
    else
      renderUrlParts(
        blockCondition(part.block, scope) !== part.negate ? part.then : part.otherwise,
        scope,
        url,
      );
  }
}

function runtimeOptions(scope: CallScope): Handlebars.RuntimeOptions {
  return { ...PROTO_DENIED, helpers: { [SECRET_HELPER]: scope.helpers[SECRET_HELPER] } };
}

function renderNode(node: Compiled, scope: CallScope): unknown {
  switch (node.kind) {
    case 'const':
      return node.value;
    case 'array':
      return node.items.map((item) => renderNode(item, scope));
    case 'object':
      // fromEntries defines own properties, so a `__proto__` key stays data.
      return Object.fromEntries(node.entries.map(([k, v]) => [k, renderNode(v, scope)]));
    case 'text':
    case 'typed':
    case 'url':
      try {
        if (node.kind === 'url') {
          const url = new UrlBuilder();
          renderUrlParts(node.parts, scope, url);
          return url.finish();
        }
        if (node.kind === 'typed') {
          const value = typedValue(node.statement, scope);
          if (value !== NOT_TYPED) return value === undefined ? null : value;
        }
        const template = node.kind === 'typed' ? node.fallback : node.template;
        return spendText(template(scope.data, runtimeOptions(scope)));
      } catch (err) {
        if (err instanceof TemplateError) throw err;
        const message = err instanceof MissingSecretError || err instanceof Error ? err.message : String(err);
        throw new TemplateError(message, node.pointer);
      }
  }
}

function buildTree(value: unknown, opts: TemplateTreeOptions): { root: Compiled; build: TreeBuild } {
  const build: TreeBuild = { issues: [], warnings: [], secretNames: new Set(), stepRefs: [] };
  const settings: TreeSettings = {
    typedPaths: normalizePaths(opts.typedPaths),
    urlPaths: normalizePaths(opts.urlPaths ?? []),
    maxTemplateLength: opts.maxTemplateLength ?? Infinity,
  };
  const root = compileNode(value, '', settings, build);
  return { root, build };
}

/** Problems, warnings and references of a tree in one pass, without throwing (for validation). */
export function inspectTemplateTree(value: unknown, opts: TemplateTreeOptions): TemplateTreeReport {
  const { build } = buildTree(value, opts);
  return {
    issues: build.issues,
    warnings: build.warnings,
    secretNames: [...build.secretNames].sort(),
    stepRefs: build.stepRefs,
  };
}

/** Compiles every template string in a `with` tree once; throws `TemplateError` on the first problem. */
export function compileTemplateTree(value: unknown, opts: TemplateTreeOptions): CompiledTemplateTree {
  const { root, build } = buildTree(value, opts);
  if (build.issues.length > 0) throw new TemplateError(build.issues[0].message, build.issues[0].pointer);
  return {
    secretNames: [...build.secretNames].sort(),
    stepRefs: build.stepRefs,
    render(data, secrets = {}) {
      const helpers = { ...PURE_HELPERS, [SECRET_HELPER]: secretHelper(secrets) };
      return withRenderBudget(() => renderNode(root, { data, helpers }));
    },
  };
}

/** Where a single-mustache string in `with` keeps its type (docs/flow-format.md, "Typed values"). */
export const TYPED_WITH_PATHS: readonly string[] = ['json', 'blocks', 'embeds', 'card'];

/** Where in an action's `with` a string is a URL: `url`, for `http` and the chat connectors alike. */
export const URL_WITH_PATHS: readonly string[] = ['url'];

/** How an action's `with` is compiled, for the engine and the validator alike. */
export const WITH_TEMPLATE_OPTIONS: TemplateTreeOptions = {
  typedPaths: TYPED_WITH_PATHS,
  urlPaths: URL_WITH_PATHS,
};

/** How a respond step's answer is compiled: `json` keeps typed values, as an action's `json` does. */
export const RESPOND_TEMPLATE_OPTIONS: TemplateTreeOptions = { typedPaths: ['json'] };

/** The parts of a respond step that are templates, with pointers as in the step: `/headers/...`, `/json`, `/body`. */
export function respondTemplateOf(step: {
  headers?: Record<string, string>;
  json?: unknown;
  body?: string;
}): Record<string, unknown> {
  const tree: Record<string, unknown> = { headers: step.headers ?? {} };
  if (step.json !== undefined) tree.json = step.json;
  else tree.body = step.body ?? '';
  return tree;
}
