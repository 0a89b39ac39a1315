import Ajv, { type KeywordDefinition, type SchemaValidateFunction, type ValidateFunction } from 'ajv';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { StepGraph, StepGraphError, stepOfNeed } from '../graph/step-graph';
import type { Connector, ConnectorRegistry } from '../model/connector';
import {
  callsNoOne,
  type FlowDefinition,
  type StepDef,
  type ValidationIssue,
} from '../model/flow-definition';
import { DURATION_PATTERN, parseDuration } from '../retry/duration';
import {
  RESPOND_TEMPLATE_OPTIONS,
  WITH_TEMPLATE_OPTIONS,
  inspectTemplateTree,
  respondTemplateOf,
} from '../template/template';
import { isServerHeader } from '../trigger/trigger-reply';
import { ExpressionError, compileExpression } from '../transform/expression';
import { sizeIssue } from './definition-size';
import { joinPointer } from './json-pointer';
import {
  MAX_FLOW_BYTES,
  MAX_FLOW_DEPTH,
  MAX_FLOW_STEPS,
  MAX_RESPOND_BODY_BYTES,
  MAX_TEMPLATE_LENGTH,
} from './flow-limits';
import { cronIssue } from '../trigger/schedule';
import { CONNECTOR_KEY_PATTERN, STEP_ID_PATTERN, flowJsonSchema } from './flow.schema';
import { closestMatch, schemaIssues, templateExcuse } from './schema-issues';

export type ValidationResult =
  | { valid: true; flow: FlowDefinition; warnings: ValidationIssue[] }
  | { valid: false; errors: ValidationIssue[] };

export interface ValidateFlowOptions {
  /** When given, connector keys must exist and each action's `with` must match its connector's schema. */
  connectors?: ConnectorRegistry;
}

const ANNOTATIONS = ['errorMessage', 'patternErrorMessage'];
const DURATION_SHAPE = new RegExp(DURATION_PATTERN);

/** Milliseconds of a duration; Infinity for one too long to count; undefined for no duration (the schema says so). */
function durationMs(value: unknown): number | undefined {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0) return undefined;
    return Number.isSafeInteger(value) ? value : Infinity;
  }
  if (typeof value !== 'string' || !DURATION_SHAPE.test(value)) return undefined;
  try {
    return parseDuration(value);
  } catch {
    return Infinity;
  }
}

/** `minDuration` / `maxDuration` (ms), for durations written either way; whole ms also have `maximum`. */
function durationKeyword(keyword: 'minDuration' | 'maxDuration'): KeywordDefinition {
  const validate: SchemaValidateFunction = (limit: number, data: unknown) => {
    const ms = durationMs(data);
    const ok = ms === undefined || (keyword === 'minDuration' ? ms >= limit : ms <= limit);
    validate.errors = ok ? undefined : [{ keyword, params: { limit } }];
    return ok;
  };
  return {
    keyword,
    type: keyword === 'minDuration' ? ['string', 'number'] : 'string',
    schemaType: 'number',
    errors: true,
    validate,
  };
}

// Compiled at the first validation and kept: validation runs on every API write and file sync,
// and never in a worker, which would otherwise hold the compiled validators for nothing.
let validateFlowSchema: ValidateFunction | undefined;

function flowSchemaValidator(): ValidateFunction {
  if (!validateFlowSchema) {
    const ajv = new Ajv({ allErrors: true, verbose: true, allowUnionTypes: true, strict: true });
    ajv.addVocabulary(ANNOTATIONS);
    ajv.addKeyword(durationKeyword('minDuration'));
    ajv.addKeyword(durationKeyword('maxDuration'));
    validateFlowSchema = ajv.compile(flowJsonSchema);
  }
  return validateFlowSchema;
}

// Connector schemas are written against draft 2020-12 and come from other packages: be lenient.
let connectorAjv: Ajv2020 | undefined;
const connectorValidators = new WeakMap<object, ValidateFunction>();

function connectorValidator(schema: Record<string, unknown>): ValidateFunction {
  let validate = connectorValidators.get(schema);
  if (!validate) {
    if (!connectorAjv) {
      connectorAjv = new Ajv2020({ allErrors: true, verbose: true, allowUnionTypes: true, strict: false });
      addFormats(connectorAjv);
    }
    validate = connectorAjv.compile(schema);
    connectorValidators.set(schema, validate);
  }
  return validate;
}

const STEP_ID_RE = new RegExp(STEP_ID_PATTERN);
const CONNECTOR_KEY_RE = new RegExp(CONNECTOR_KEY_PATTERN);

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function isIpv6(address: string): boolean {
  let groups = address;
  let extra = 0;
  const lastColon = groups.lastIndexOf(':');
  const tail = groups.slice(lastColon + 1);
  if (tail.includes('.')) {
    if (
      !/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(tail) ||
      tail.split('.').some((o) => Number(o) > 255)
    ) {
      return false;
    }
    groups = `${groups.slice(0, lastColon + 1)}0`;
    extra = 1;
  }
  const halves = groups.split('::');
  if (halves.length > 2) return false;
  const parts = halves.map((h) => (h === '' ? [] : h.split(':')));
  if (parts.flat().some((g) => !/^[0-9A-Fa-f]{1,4}$/.test(g))) return false;
  const count = parts.flat().length + extra;
  return halves.length === 2 ? count <= 7 : count === 8;
}

interface StepRef {
  path: string;
  stepId: string;
}

interface Checks {
  errors: ValidationIssue[];
  warnings: ValidationIssue[];
  hints: StepIdHints;
}

/** Most "did you mean" searches in one validation: each compares against every step id. */
const MAX_HINTS = 20;

/** "Did you mean" for unknown step ids, for the first few only: a flood of typos stays linear. */
class StepIdHints {
  private left = MAX_HINTS;

  /** `ids` is only called while searches are left. */
  closest(word: string, ids: () => readonly string[]): string | undefined {
    if (this.left <= 0) return undefined;
    this.left--;
    return closestMatch(word, ids());
  }
}

/** Where a step sits: its pointer, its index in its list, and the loop holding it (none for the flow's own). */
interface Place {
  pointer: string;
  index: number;
  loop?: string;
}

/** One list of steps: the flow's own, or a loop's. */
interface StepList {
  /** Pointer of the list: `/steps`, or `/steps/<i>/steps` for a loop's. */
  base: string;
  steps: unknown[];
  /** The id of the loop whose steps these are. */
  loop?: string;
  /** Built once the needs of every list are sound. */
  graph?: StepGraph;
}

/** Every step by id, loops' steps included, and the graph of the flow's own steps. */
interface FlowScope {
  places: ReadonlyMap<string, Place>;
  graph?: StepGraph;
}

function placeName(place: Place): string {
  return place.loop === undefined ? `step ${place.index}` : `step ${place.index} of loop '${place.loop}'`;
}

/** A `foreach` step's own steps; undefined for any other step. */
function loopSteps(step: unknown): unknown[] | undefined {
  return isObject(step) && step.type === 'foreach' && Array.isArray(step.steps) ? step.steps : undefined;
}

/** The flow's own list of steps, and each loop's by the loop's index. */
function stepLists(steps: unknown[]): { own: StepList; loops: Map<number, StepList> } {
  const loops = new Map<number, StepList>();
  steps.forEach((step, i) => {
    const inner = loopSteps(step);
    if (inner) loops.set(i, { base: `/steps/${i}/steps`, steps: inner, loop: String((step as Json).id) });
  });
  return { own: { base: '/steps', steps }, loops };
}

function expressionIssue(source: unknown, path: string, checks: Checks): string[] | undefined {
  if (typeof source !== 'string' || source.length === 0) return undefined;
  try {
    return compileExpression(source).stepRefs;
  } catch (err) {
    const message = err instanceof ExpressionError ? err.message : String(err);
    checks.errors.push({ path, message: `is not valid JSONata: ${message}` });
    return undefined;
  }
}

function checkTrigger(trigger: unknown, opts: ValidateFlowOptions, checks: Checks): void {
  if (!isObject(trigger)) return;
  if (trigger.type === 'schedule' && typeof trigger.cron === 'string') {
    const issue = cronIssue(
      trigger.cron,
      typeof trigger.timezone === 'string' ? trigger.timezone : undefined,
    );
    if (issue) checks.errors.push({ path: `/trigger/${issue.field}`, message: issue.message });
  }
  if (trigger.type === 'poll') checkPoll(trigger, opts, checks);
  if (isObject(trigger.dedupe))
    expressionIssue(trigger.dedupe.expression, '/trigger/dedupe/expression', checks);
  if (Array.isArray(trigger.allowIps)) {
    trigger.allowIps.forEach((entry, k) => {
      if (typeof entry === 'string' && entry.includes(':') && !isIpv6(entry.split('/')[0])) {
        checks.errors.push({
          path: `/trigger/allowIps/${k}`,
          message: "must be an IP address or CIDR range such as '203.0.113.0/24'",
        });
      }
    });
  }
  if (isObject(trigger.respond) && trigger.respond.body !== undefined) {
    const tooLarge = sizeIssue(
      trigger.respond.body,
      { maxBytes: MAX_RESPOND_BODY_BYTES, maxDepth: MAX_FLOW_DEPTH },
      '/trigger/respond/body',
    );
    if (tooLarge) checks.errors.push(tooLarge);
  }
}

/**
 * Ids unique in the whole flow, loops' steps included: a loop's steps read the flow's outputs and
 * their own in one `steps`. Returns every step's place by id and whether all ids are sound.
 */
function checkIds(
  own: StepList,
  loops: ReadonlyMap<number, StepList>,
  checks: Checks,
): { places: Map<string, Place>; sound: boolean } {
  const places = new Map<string, Place>();
  let sound = true;
  const visit = (step: unknown, place: Place) => {
    if (!isObject(step) || typeof step.id !== 'string' || !STEP_ID_RE.test(step.id)) {
      sound = false;
      return;
    }
    const first = places.get(step.id);
    if (!first) {
      places.set(step.id, place);
      return;
    }
    sound = false;
    const rule =
      first.loop === undefined && place.loop === undefined
        ? 'step ids must be unique'
        : "step ids must be unique in the whole flow, loops' steps included";
    checks.errors.push({
      path: `${place.pointer}/id`,
      message: `duplicates the id of ${placeName(first)} ('${step.id}'); ${rule}`,
    });
  };
  own.steps.forEach((step, i) => {
    visit(step, { pointer: `${own.base}/${i}`, index: i });
    const loop = loops.get(i);
    loop?.steps.forEach((inner, j) =>
      visit(inner, { pointer: `${loop.base}/${j}`, index: j, loop: loop.loop }),
    );
  });
  return { places, sound };
}

const SAME_LOOP = "a loop's steps may only need steps of the same loop";

/** Why a need names no step of its own list: a step inside or outside a loop, or none. */
function outsideNeed(
  need: string,
  list: StepList,
  listIds: () => string[],
  places: ReadonlyMap<string, Place>,
  hints: StepIdHints,
): string {
  const place = places.get(need);
  if (list.loop === undefined) {
    if (place?.loop !== undefined)
      return `step '${need}' is inside loop '${place.loop}'; steps outside a loop see its output as steps.${place.loop}: need '${place.loop}'`;
  } else if (need === list.loop) {
    return `${SAME_LOOP}, not the loop itself: the first of them gets the item as its input`;
  } else if (place && place.loop === undefined) {
    return `step '${need}' is outside loop '${list.loop}'; ${SAME_LOOP} (to wait for it, put it in the loop's needs)`;
  } else if (place) {
    return `step '${need}' is inside loop '${place.loop}'; ${SAME_LOOP}`;
  }
  const hint = hints.closest(need, listIds);
  const did = hint ? `; did you mean '${hint}'?` : '';
  return list.loop === undefined
    ? `unknown step '${need}'${did}`
    : `unknown step '${need}' in loop '${list.loop}' (${SAME_LOOP})${did}`;
}

/** `needs` of one list that name unknown, own or later steps, or steps of another list. Returns whether they are sound. */
function checkNeeds(
  list: StepList,
  places: ReadonlyMap<string, Place>,
  hints: StepIdHints,
  checks: Checks,
): boolean {
  const { steps } = list;
  const firstIndex = new Map<string, number>();
  steps.forEach((step, i) => {
    if (isObject(step) && typeof step.id === 'string' && STEP_ID_RE.test(step.id) && !firstIndex.has(step.id))
      firstIndex.set(step.id, i);
  });
  const listIds = () => [...firstIndex.keys()];
  let sound = true;
  steps.forEach((step, i) => {
    if (!isObject(step) || step.needs === undefined) return;
    if (!Array.isArray(step.needs)) {
      sound = false;
      return;
    }
    step.needs.forEach((ref, j) => {
      const path = `${list.base}/${i}/needs/${j}`;
      if (typeof ref !== 'string') {
        sound = false;
        return;
      }
      // `"<routerId>.<path>"`: a path of a router, which must be a router with that path.
      const [need, pathName, ...rest] = ref.split('.');
      if (
        !STEP_ID_RE.test(need) ||
        rest.length > 0 ||
        (pathName !== undefined && !STEP_ID_RE.test(pathName))
      ) {
        sound = false;
        return;
      }
      const at = firstIndex.get(need);
      const target = at === undefined ? undefined : steps[at];
      if (pathName !== undefined && at !== undefined && at < i && isObject(target)) {
        const names = Array.isArray(target.paths) ? target.paths.filter(isObject).map((p) => p.name) : [];
        if (target.type !== 'router') {
          checks.errors.push({ path, message: `step '${need}' is not a router; only a router has paths` });
          sound = false;
          return;
        }
        if (!names.includes(pathName)) {
          const known = names.filter((n): n is string => typeof n === 'string');
          const hint = closestMatch(pathName, known);
          checks.errors.push({
            path,
            message: `router '${need}' has no path '${pathName}'${hint ? `; did you mean '${need}.${hint}'?` : ` (paths: ${known.join(', ')})`}`,
          });
          sound = false;
          return;
        }
      }
      if (need === step.id) {
        checks.errors.push({ path, message: 'a step cannot need itself' });
      } else if (at === undefined) {
        checks.errors.push({ path, message: outsideNeed(need, list, listIds, places, hints) });
      } else if (at > i) {
        checks.errors.push({
          path,
          message: `step '${need}' comes later in the list; a step can only need steps defined before it`,
        });
      } else return;
      sound = false;
    });
  });
  return sound;
}

const NOT_DEPENDED_ON = 'which this step does not depend on; add it to needs or the value may be missing';

/** What a step's reads are checked against: its list's graph, the flow's, and every step's place. */
interface RefScope {
  /** The loop holding the step, if any. */
  loop?: string;
  graph: StepGraph;
  flowGraph: StepGraph;
  places: ReadonlyMap<string, Place>;
}

/** Why reading step `id`'s output from step `stepId` may find nothing; undefined when it will not. */
function refIssue(id: string, stepId: string, scope: RefScope, checks: Checks): string | undefined {
  if (id === stepId) return 'reads the output of this step itself, which does not exist yet';
  const place = scope.places.get(id);
  if (!place) {
    const visible = () =>
      [...scope.places].filter(([, p]) => p.loop === undefined || p.loop === scope.loop).map(([k]) => k);
    const hint = checks.hints.closest(id, visible);
    return `reads the output of unknown step '${id}', which is always missing${hint ? `; did you mean '${hint}'?` : ''}`;
  }
  if (place.loop !== undefined && place.loop !== scope.loop) {
    return `reads the output of step '${id}' of loop '${place.loop}', which only that loop's steps see; steps outside it see its output as steps.${place.loop}`;
  }
  if (place.loop !== undefined || scope.loop === undefined) {
    return scope.graph.dependsOn(stepId, id)
      ? undefined
      : `reads the output of step '${id}', ${NOT_DEPENDED_ON}`;
  }
  if (id === scope.loop) {
    return `reads the output of its own loop '${id}', which does not exist until every item has finished`;
  }
  // A loop's step reading a step outside the loop: there when the loop depends on it.
  return scope.flowGraph.dependsOn(scope.loop, id)
    ? undefined
    : `reads the output of step '${id}', which loop '${scope.loop}' does not depend on; add it to the loop's needs or the value may be missing`;
}

function checkStepRefs(
  refs: StepRef[],
  stepId: string,
  list: StepList,
  flow: FlowScope,
  checks: Checks,
): void {
  if (!list.graph || !flow.graph) return;
  const scope: RefScope = { loop: list.loop, graph: list.graph, flowGraph: flow.graph, places: flow.places };
  const reported = new Set<string>();
  for (const ref of refs) {
    const key = `${ref.path}\u0000${ref.stepId}`;
    if (reported.has(key)) continue;
    reported.add(key);
    const message = refIssue(ref.stepId, stepId, scope, checks);
    if (message) checks.warnings.push({ path: ref.path, message });
  }
}

/** A poll's JSONata, and its request as an `http` action's options that see only `trigger`. */
function checkPoll(trigger: Json, opts: ValidateFlowOptions, checks: Checks): void {
  expressionIssue(trigger.items, '/trigger/items', checks);
  expressionIssue(trigger.key, '/trigger/key', checks);
  const refs = checkConnectorOptions('http', trigger.request, '/trigger/request', opts, checks);
  for (const ref of refs)
    checks.errors.push({
      path: ref.path,
      message: `names step '${ref.stepId}', but a poll's request runs before any step: only \`trigger\` is in scope`,
    });
}

function checkAction(step: Json, base: string, opts: ValidateFlowOptions, checks: Checks): StepRef[] {
  return checkConnectorOptions(step.connector, step.with, `${base}/with`, opts, checks, `${base}/connector`);
}

/** An action's `with` (or a poll's `request`) at `at`: its templates, and its connector's schema when known. */
function checkConnectorOptions(
  key: unknown,
  options: unknown,
  at: string,
  opts: ValidateFlowOptions,
  checks: Checks,
  keyAt?: string,
): StepRef[] {
  const refs: StepRef[] = [];
  if (isObject(options)) {
    const report = inspectTemplateTree(options, {
      ...WITH_TEMPLATE_OPTIONS,
      maxTemplateLength: MAX_TEMPLATE_LENGTH,
    });
    for (const issue of report.issues)
      checks.errors.push({ path: `${at}${issue.pointer}`, message: issue.message });
    for (const warning of report.warnings)
      checks.warnings.push({ path: `${at}${warning.pointer}`, message: warning.message });
    if (report.issues.length === 0) {
      for (const ref of report.stepRefs) refs.push({ path: `${at}${ref.pointer}`, stepId: ref.stepId });
    }
    // The name is looked up in the secret store as written: a template here would be sent as is.
    const signSecret = isObject(options.sign) ? options.sign.secret : undefined;
    if (typeof signSecret === 'string' && signSecret.includes('{{')) {
      checks.errors.push({
        path: `${at}/sign/secret`,
        message: 'must be a secret\'s name (e.g. "SHIP_WHSEC"), not a template',
      });
    }
  }
  if (!opts.connectors || typeof key !== 'string' || !CONNECTOR_KEY_RE.test(key)) return refs;
  const connector = opts.connectors.get(key);
  if (!connector) {
    const keys = opts.connectors.keys();
    const hint = closestMatch(key, keys);
    checks.errors.push({
      path: keyAt ?? at,
      message: `unknown connector '${key}'${hint ? `; did you mean '${hint}'?` : ` (available: ${keys.join(', ')})`}`,
    });
    return refs;
  }
  if (!isObject(options)) return refs;
  let validate: ValidateFunction;
  try {
    validate = connectorValidator(connector.schema);
  } catch (err) {
    checks.errors.push({
      path: keyAt ?? at,
      message: `connector '${connector.key}' has an invalid options schema: ${(err as Error).message}`,
    });
    return refs;
  }
  if (!validate(options)) {
    checks.errors.push(...schemaIssues(validate.errors ?? [], at, templateExcuse(options)));
  }
  return refs;
}

/** Every string of a JSON value with its pointer. */
function stringsOf(value: unknown, pointer: string): Array<[string, string]> {
  if (typeof value === 'string') return [[pointer, value]];
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, inner]) => stringsOf(inner, joinPointer(pointer, key)));
}

/** A respond step's templates and headers; its answer goes to whoever calls the trigger URL, so no secrets. */
function checkRespond(step: Json, base: string, checks: Checks): StepRef[] {
  const headers = isObject(step.headers) ? (step.headers as Record<string, string>) : undefined;
  for (const name of Object.keys(headers ?? {})) {
    if (isServerHeader(name)) {
      checks.errors.push({
        path: joinPointer(`${base}/headers`, name),
        message: "is set by the server (framing and connection headers are never a flow's to send)",
      });
    }
  }
  const tree = respondTemplateOf({
    headers,
    json: step.json,
    body: typeof step.body === 'string' ? step.body : undefined,
  });
  const report = inspectTemplateTree(tree, {
    ...RESPOND_TEMPLATE_OPTIONS,
    maxTemplateLength: MAX_TEMPLATE_LENGTH,
  });
  for (const issue of report.issues)
    checks.errors.push({ path: `${base}${issue.pointer}`, message: issue.message });
  if (report.secretNames.length > 0) {
    for (const [pointer, text] of stringsOf(tree, '')) {
      if (!text.includes('{{') || inspectTemplateTree(text, { typedPaths: [] }).secretNames.length === 0)
        continue;
      checks.errors.push({
        path: `${base}${pointer}`,
        message: 'may not use secrets: the answer goes to whoever calls the trigger URL',
      });
    }
  }
  return report.issues.length > 0
    ? []
    : report.stepRefs.map((ref) => ({ path: `${base}${ref.pointer}`, stepId: ref.stepId }));
}

/** A join of all its needs that needs two paths of one `first` router can never run: say so. */
function checkExclusivePaths(needs: unknown[], steps: unknown[], base: string, checks: Checks): void {
  const seen = new Set<string>();
  for (const need of needs) {
    if (typeof need !== 'string' || !need.includes('.')) continue;
    const routerId = stepOfNeed(need);
    const router = steps.find((s) => isObject(s) && s.id === routerId);
    if (!isObject(router) || router.type !== 'router' || router.mode === 'all') continue;
    if (seen.has(routerId)) {
      checks.warnings.push({
        path: `${base}/needs`,
        message: `needs two paths of router '${routerId}', which takes one (mode first): the step never runs; use join: "any"`,
      });
      return;
    }
    seen.add(routerId);
  }
}

/** A router's paths: unique names, one fallback at most, conditions that compile. */
function checkRouter(paths: unknown[], base: string, checks: Checks): StepRef[] {
  const refs: StepRef[] = [];
  const seen = new Map<unknown, number>();
  let fallback: number | undefined;
  paths.forEach((path, j) => {
    if (!isObject(path)) return;
    const at = `${base}/paths/${j}`;
    const first = seen.get(path.name);
    if (first !== undefined) {
      checks.errors.push({
        path: `${at}/name`,
        message: `duplicates the name of path ${first} ('${String(path.name)}'); path names must be unique`,
      });
    } else seen.set(path.name, j);
    if (path.when === undefined) {
      if (fallback !== undefined)
        checks.errors.push({
          path: at,
          message: `is a second fallback (a path without when, as path ${fallback} is); a router takes one at most`,
        });
      fallback ??= j;
      return;
    }
    const stepRefs = expressionIssue(path.when, `${at}/when`, checks) ?? [];
    refs.push(...stepRefs.map((stepId) => ({ path: `${at}/when`, stepId })));
  });
  return refs;
}

/** One step's expressions, templates, router paths and settings; a loop's steps are checked as the flow's. */
function checkStep(
  step: unknown,
  index: number,
  list: StepList,
  flow: FlowScope,
  opts: ValidateFlowOptions,
  checks: Checks,
): void {
  if (!isObject(step)) return;
  const base = `${list.base}/${index}`;
  const expressionRefs = (key: string): StepRef[] =>
    (expressionIssue(step[key], `${base}/${key}`, checks) ?? []).map((stepId) => ({
      path: `${base}/${key}`,
      stepId,
    }));
  let refs: StepRef[] = [];
  if (step.type === 'transform' || step.type === 'filter') {
    refs = expressionRefs(step.type === 'transform' ? 'expression' : 'condition');
  } else if (step.type === 'action') {
    refs = checkAction(step, base, opts, checks);
  } else if (step.type === 'router' && Array.isArray(step.paths)) {
    refs = checkRouter(step.paths, base, checks);
  } else if (step.type === 'delay' && step.until !== undefined) {
    refs = expressionRefs('until');
  } else if (step.type === 'foreach') {
    refs = expressionRefs('items');
  } else if (step.type === 'respond') {
    refs = checkRespond(step, base, checks);
  }
  const attempts = isObject(step.retry) ? step.retry.attempts : undefined;
  if (callsNoOne(step.type) && typeof attempts === 'number' && attempts > 1) {
    checks.warnings.push({
      path: `${base}/retry/attempts`,
      message: `has no effect: ${String(step.type)} errors are final and never retried`,
    });
  }
  if (isObject(step.retry) && step.retry.delay !== undefined && step.retry.maxDelay !== undefined) {
    try {
      if (parseDuration(step.retry.delay as string) > parseDuration(step.retry.maxDelay as string)) {
        checks.warnings.push({
          path: `${base}/retry/delay`,
          message: 'is longer than maxDelay, which caps every delay',
        });
      }
    } catch {
      // malformed durations are reported by the schema
    }
  }
  if (step.join !== 'any' && Array.isArray(step.needs))
    checkExclusivePaths(step.needs, list.steps, base, checks);
  if (step.join !== undefined && !(Array.isArray(step.needs) && step.needs.length >= 2)) {
    checks.errors.push({
      path: `${base}/join`,
      message: 'applies to a step with several needs: list at least two in needs',
    });
  }
  if (typeof step.id === 'string') checkStepRefs(refs, step.id, list, flow, checks);
}

/** Builds a list's graph, or reports why it cannot be built (the checks above should have said). */
function buildGraph(list: StepList, checks: Checks): boolean {
  try {
    list.graph = new StepGraph(list.steps as StepDef[]);
    return true;
  } catch (err) {
    if (!(err instanceof StepGraphError)) throw err;
    checks.errors.push({ path: `${list.base}/${err.stepIndex}/needs`, message: err.message });
    return false;
  }
}

/**
 * One respond step at most, answering a webhook (a trigger without a type is one); a respond step
 * behind a delay, or a `respondTimeout` without a respond step, is worth a warning.
 */
function checkRespondPlace(trigger: unknown, steps: unknown[], flow: FlowScope, checks: Checks): void {
  const responders = steps.flatMap((step, i) => (isObject(step) && step.type === 'respond' ? [i] : []));
  const timeout = isObject(trigger) ? trigger.respondTimeout : undefined;
  if (responders.length === 0) {
    if (timeout !== undefined)
      checks.warnings.push({
        path: '/trigger/respondTimeout',
        message: 'has no effect: the flow has no respond step',
      });
    return;
  }
  const type = isObject(trigger) ? (trigger.type ?? 'webhook') : 'webhook';
  for (const i of responders) {
    const step = steps[i] as Json;
    if (i !== responders[0]) {
      checks.errors.push({
        path: `/steps/${i}/type`,
        message: `is a second respond step (step ${responders[0]} is one); a webhook is answered once, so a flow has one at most`,
      });
    } else if (type !== 'webhook') {
      checks.errors.push({
        path: `/steps/${i}/type`,
        message: `answers the webhook that started the run; this flow's trigger is '${String(type)}', which no one waits on`,
      });
    }
    if (!flow.graph || typeof step.id !== 'string') continue;
    const delay = flow.graph
      .ancestorsOf(step.id)
      .find((id) => steps.some((s) => isObject(s) && s.id === id && s.type === 'delay'));
    if (delay) {
      checks.warnings.push({
        path: `/steps/${i}`,
        message: `comes after delay step '${delay}': the sender is answered the trigger's default once respondTimeout passes, before this step runs`,
      });
    }
  }
}

function checkSteps(trigger: unknown, steps: unknown[], opts: ValidateFlowOptions, checks: Checks): void {
  const { own, loops } = stepLists(steps);
  const ids = checkIds(own, loops, checks);
  const needHints = new StepIdHints();
  let sound = ids.sound;
  for (const list of [own, ...loops.values()]) {
    if (!checkNeeds(list, ids.places, needHints, checks)) sound = false;
  }
  // Each loop's graph first, so that a problem in one points into the loop.
  for (const list of loops.values()) if (sound) sound = buildGraph(list, checks);
  const flow: FlowScope = { places: ids.places };
  if (sound && buildGraph(own, checks)) flow.graph = own.graph;

  checks.hints = new StepIdHints();
  steps.forEach((step, i) => {
    checkStep(step, i, own, flow, opts, checks);
    const loop = loops.get(i);
    loop?.steps.forEach((inner, j) => checkStep(inner, j, loop, flow, opts, checks));
  });
  checkRespondPlace(trigger, steps, flow, checks);
}

/** An alert rule's templates: a message is sent outside any run, so they see no step. */
function checkAlerts(alerts: unknown, checks: Checks): void {
  if (!isObject(alerts) || !isObject(alerts.onFailure)) return;
  const target = alerts.onFailure;
  const at = '/alerts/onFailure';
  if (target.headers !== undefined && target.connector !== 'http') {
    checks.errors.push({ path: `${at}/headers`, message: "is for the 'http' connector only" });
  }
  const templates: Json = { url: target.url };
  if (isObject(target.headers)) templates.headers = target.headers;
  const report = inspectTemplateTree(templates, {
    ...WITH_TEMPLATE_OPTIONS,
    maxTemplateLength: MAX_TEMPLATE_LENGTH,
  });
  for (const issue of report.issues)
    checks.errors.push({ path: `${at}${issue.pointer}`, message: issue.message });
  for (const ref of report.stepRefs)
    checks.errors.push({
      path: `${at}${ref.pointer}`,
      message: `names step '${ref.stepId}', but an alert is sent outside any run: only \`trigger.body\` (the message) is in scope`,
    });
}

/** Too many steps, bytes or levels: checked first, in time bounded by the limits. */
function boundsIssue(doc: unknown): ValidationIssue | undefined {
  if (isObject(doc) && Array.isArray(doc.steps) && doc.steps.length > MAX_FLOW_STEPS) {
    return {
      path: '/steps',
      message: `has ${doc.steps.length} steps; a flow may have at most ${MAX_FLOW_STEPS}`,
    };
  }
  return sizeIssue(doc, { maxBytes: MAX_FLOW_BYTES, maxDepth: MAX_FLOW_DEPTH });
}

/**
 * Validates a flow document: its size, then the JSON Schema, then what a schema cannot say (graph,
 * syntax, connectors). Every issue carries a JSON pointer into `doc`. Never throws.
 */
export function validateFlow(doc: unknown, opts: ValidateFlowOptions = {}): ValidationResult {
  const tooLarge = boundsIssue(doc);
  if (tooLarge) return { valid: false, errors: [tooLarge] };
  const checks: Checks = { errors: [], warnings: [], hints: new StepIdHints() };
  const validateSchema = flowSchemaValidator();
  if (!validateSchema(doc)) checks.errors.push(...schemaIssues(validateSchema.errors ?? []));
  try {
    if (isObject(doc)) {
      checkTrigger(doc.trigger, opts, checks);
      if (Array.isArray(doc.steps)) checkSteps(doc.trigger, doc.steps, opts, checks);
      checkAlerts(doc.alerts, checks);
    }
  } catch (err) {
    // A bug here must not turn into a 500 for a user submitting a flow.
    checks.errors.push({ path: '', message: `could not be checked completely: ${(err as Error).message}` });
  }
  if (checks.errors.length > 0) return { valid: false, errors: checks.errors };
  return { valid: true, flow: doc as unknown as FlowDefinition, warnings: checks.warnings };
}

/** Checks rendered connector options against the connector's schema; pointers are relative to `with`. */
export function connectorInputIssues(connector: Connector, value: unknown): ValidationIssue[] {
  const validate = connectorValidator(connector.schema);
  return validate(value) ? [] : schemaIssues(validate.errors ?? []);
}
