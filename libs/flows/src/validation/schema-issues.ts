import type { ErrorObject } from 'ajv';
import type { ValidationIssue } from '../model/flow-definition';
import { formatDuration } from './flow-limits';
import { joinPointer, valueAtPointer } from './json-pointer';

/** Decides that an error does not count, e.g. because the value is a template that renders later. */
export type ErrorExcuse = (error: ErrorObject) => boolean;

interface Node {
  error: ErrorObject;
  owner?: Node;
  branch?: string;
  children: Map<string, Node[]>;
  excused: boolean;
}

const COMPOSITE = new Set(['anyOf', 'oneOf']);
/** Keywords whose message a schema's `errorMessage` replaces (never the ones about child properties). */
const OVERRIDABLE = new Set([
  'type',
  'enum',
  'const',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'minProperties',
  'maxProperties',
  'not',
  'anyOf',
  'oneOf',
  'format',
  'multipleOf',
]);

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
  object: 'an object',
  array: 'an array',
  null: 'null',
};

function quote(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : JSON.stringify(value);
}

function orList(items: string[]): string {
  return items.length <= 1
    ? (items[0] ?? '')
    : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

/** Edit distance where swapping two neighbouring letters counts as one edit (optimal string alignment). */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

/** The candidate a typo most likely meant, if any is close. */
export function closestMatch(word: string, candidates: readonly string[]): string | undefined {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const allowed = Math.max(1, Math.floor(candidate.length / 3));
    // The distance is at least the difference in length: skip the quadratic comparison.
    if (Math.abs(word.length - candidate.length) > allowed) continue;
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance <= allowed && (!best || distance < best.distance)) {
      best = { candidate, distance };
    }
  }
  return best?.candidate;
}

function didYouMean(word: unknown, candidates: readonly string[]): string {
  if (typeof word !== 'string') return '';
  const match = closestMatch(word, candidates);
  return match ? `; did you mean '${match}'?` : '';
}

function typeList(type: unknown): string {
  const types = Array.isArray(type) ? type : String(type).split(',');
  return orList(types.map((t) => TYPE_NAMES[t] ?? t));
}

/** One ajv error as a sentence for a person, at the path of the value it is about. */
function translate(error: ErrorObject, base: string): ValidationIssue {
  const at = base + error.instancePath;
  const parent = (error.parentSchema ?? {}) as Record<string, unknown>;
  const custom = typeof parent.errorMessage === 'string' ? parent.errorMessage : undefined;
  const params = error.params as Record<string, any>;
  // A duration in whole milliseconds over its range: say the range as a duration.
  if (error.keyword === 'maximum' && typeof parent.maxDuration === 'number') {
    return { path: at, message: `must be at most ${formatDuration(parent.maxDuration)}` };
  }
  if (custom && OVERRIDABLE.has(error.keyword)) return { path: at, message: custom };

  switch (error.keyword) {
    case 'required':
      return { path: joinPointer(at, params.missingProperty), message: 'is required' };
    case 'additionalProperties': {
      const known = Object.keys((parent.properties as Record<string, unknown>) ?? {});
      return {
        path: joinPointer(at, params.additionalProperty),
        message: `is not allowed${didYouMean(params.additionalProperty, known)}`,
      };
    }
    case 'type':
      return { path: at, message: `must be ${typeList(params.type)}` };
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]) ?? [];
      const names = allowed.filter((v): v is string => typeof v === 'string');
      return {
        path: at,
        message: `must be one of ${allowed.map(quote).join(', ')}${didYouMean(error.data, names)}`,
      };
    }
    case 'const':
      return { path: at, message: `must be ${quote(params.allowedValue)}` };
    case 'pattern': {
      const message = typeof parent.patternErrorMessage === 'string' ? parent.patternErrorMessage : custom;
      return { path: at, message: message ?? `must match the pattern ${params.pattern}` };
    }
    case 'minLength':
      return {
        path: at,
        message:
          params.limit === 1 ? 'must not be empty' : `must be at least ${params.limit} characters long`,
      };
    case 'maxLength':
      return { path: at, message: `must be at most ${params.limit} characters long` };
    case 'minimum':
      return { path: at, message: `must be at least ${params.limit}` };
    case 'maximum':
      return { path: at, message: `must be at most ${params.limit}` };
    case 'exclusiveMinimum':
      return { path: at, message: `must be greater than ${params.limit}` };
    case 'exclusiveMaximum':
      return { path: at, message: `must be less than ${params.limit}` };
    case 'minItems':
      return {
        path: at,
        message: params.limit === 1 ? 'must not be empty' : `must have at least ${params.limit} items`,
      };
    case 'maxItems':
      return { path: at, message: `must have at most ${params.limit} items` };
    case 'uniqueItems': {
      const [first, second] = [params.i, params.j].sort((a: number, b: number) => a - b);
      return { path: joinPointer(at, second), message: `repeats item ${first}` };
    }
    case 'minProperties':
      return {
        path: at,
        message: `must have at least ${params.limit} ${params.limit === 1 ? 'property' : 'properties'}`,
      };
    case 'maxProperties':
      return {
        path: at,
        message: `must have at most ${params.limit} ${params.limit === 1 ? 'property' : 'properties'}`,
      };
    case 'format':
      return { path: at, message: `must be a valid ${params.format}` };
    case 'minDuration':
      return {
        path: at,
        message:
          params.limit <= 1 ? 'must be longer than 0' : `must be at least ${formatDuration(params.limit)}`,
      };
    case 'maxDuration':
      return { path: at, message: `must be at most ${formatDuration(params.limit)}` };
    case 'dependentRequired':
    case 'dependencies':
      return {
        path: joinPointer(at, params.missingProperty),
        message: `is required when '${params.property}' is present`,
      };
    case 'not': {
      const required = (error.schema as { required?: unknown })?.required;
      if (Array.isArray(required) && required.length > 1) {
        const names = required.map(quote);
        return {
          path: at,
          message: `must not have ${required.length === 2 ? 'both ' : 'all of '}${orList(names).replace(/ or /, ' and ')}`,
        };
      }
      return { path: at, message: 'is not allowed here' };
    }
    default:
      return { path: at, message: error.message ?? 'is invalid' };
  }
}

/** `/a/b` -> ['', '/a', '/a/b']. */
function instancePathPrefixes(path: string): string[] {
  const prefixes = [''];
  for (let i = path.indexOf('/', 1); i > 0; i = path.indexOf('/', i + 1)) prefixes.push(path.slice(0, i));
  if (path !== '') prefixes.push(path);
  return prefixes;
}

function buildTree(errors: ErrorObject[], excuse?: ErrorExcuse): Node[] {
  const nodes: Node[] = errors
    .filter((e) => e.keyword !== 'if')
    .map((error) => ({ error, children: new Map(), excused: false }));
  const composites = nodes.filter((n) => COMPOSITE.has(n.error.keyword));
  // A composite can only own errors at or below its own instance path: look up those paths only.
  const compositesAt = new Map<string, Node[]>();
  for (const c of composites) {
    const list = compositesAt.get(c.error.instancePath) ?? [];
    list.push(c);
    compositesAt.set(c.error.instancePath, list);
  }
  for (const node of nodes) {
    for (const c of instancePathPrefixes(node.error.instancePath).flatMap((p) => compositesAt.get(p) ?? [])) {
      const prefix = `${c.error.schemaPath}/`;
      const inside =
        c !== node &&
        node.error.schemaPath.startsWith(prefix) &&
        (node.error.instancePath === c.error.instancePath ||
          node.error.instancePath.startsWith(`${c.error.instancePath}/`));
      if (inside && (!node.owner || c.error.schemaPath.length > node.owner.error.schemaPath.length)) {
        node.owner = c;
        node.branch = node.error.schemaPath.slice(prefix.length).split('/')[0];
      }
    }
  }
  for (const node of nodes) {
    if (!node.owner) continue;
    const siblings = node.owner.children.get(node.branch!) ?? [];
    siblings.push(node);
    node.owner.children.set(node.branch!, siblings);
  }
  for (const node of nodes)
    if (!COMPOSITE.has(node.error.keyword)) node.excused = excuse?.(node.error) ?? false;
  // Innermost composites first: an outer one is excused when one of its branches only failed on excused errors.
  const byDepth = [...composites].sort((a, b) => b.error.schemaPath.length - a.error.schemaPath.length);
  for (const c of byDepth) {
    const ambiguous =
      c.error.keyword === 'oneOf' && (c.error.params as { passingSchemas?: unknown }).passingSchemas;
    c.excused = !ambiguous && [...c.children.values()].some((branch) => branch.every((n) => n.excused));
  }
  return nodes.filter((n) => !n.owner);
}

function emit(node: Node, base: string, out: ValidationIssue[]): void {
  if (node.excused) return;
  const { error } = node;
  if (!COMPOSITE.has(error.keyword)) {
    out.push(translate(error, base));
    return;
  }
  const parent = (error.parentSchema ?? {}) as Record<string, unknown>;
  const at = base + error.instancePath;
  if (typeof parent.errorMessage === 'string') {
    out.push({ path: at, message: parent.errorMessage });
    return;
  }
  if ((error.params as { passingSchemas?: unknown }).passingSchemas) {
    out.push({ path: at, message: 'matches more than one of the allowed shapes' });
    return;
  }
  const branches = [...node.children.values()].map((b) => b.filter((n) => !n.excused));
  const onlyTypes = branches.every(
    (b) => b.length === 1 && b[0].error.keyword === 'type' && b[0].error.instancePath === error.instancePath,
  );
  if (branches.length > 0 && onlyTypes) {
    out.push({
      path: at,
      message: `must be ${typeList(branches.map((b) => b[0].error.params.type).join(','))}`,
    });
    return;
  }
  const closest = branches.reduce<Node[] | undefined>(
    (best, b) => (!best || b.length < best.length ? b : best),
    undefined,
  );
  if (!closest || closest.length === 0) {
    out.push({ path: at, message: 'does not match any of the allowed shapes' });
    return;
  }
  for (const child of closest) emit(child, base, out);
}

/**
 * Turns ajv errors (`allErrors`, `verbose`) into issues under `base`: `anyOf`/`oneOf` reduced to the
 * closest branch, `if` errors dropped (their `then` errors say what is wrong).
 */
export function schemaIssues(errors: ErrorObject[], base = '', excuse?: ErrorExcuse): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  for (const node of buildTree(errors, excuse)) emit(node, base, out);
  const seen = new Set<string>();
  return out.filter((issue) => {
    const key = `${issue.path}\u0000${issue.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Excuses errors about a string that contains `{{`: it is a template and renders later. */
export function templateExcuse(data: unknown): ErrorExcuse {
  return (error) => {
    const value = valueAtPointer(data, error.instancePath);
    return typeof value === 'string' && value.includes('{{');
  };
}
