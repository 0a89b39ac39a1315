import { ConnectorError, type Connector, type ConnectorRegistry, type Exchange } from '../model/connector';
import type { RunContext } from '../model/run-context';
import type { StepError, StepErrorCode, StepOutcome } from '../model/step-outcome';
import { AnswerError, buildAnswer } from '../respond/respond-answer';
import { TemplateError } from '../template/template';
import {
  DEFAULT_EXPRESSION_BUDGET,
  ExpressionError,
  type CompiledExpression,
  type ExpressionBudget,
} from '../transform/expression';
import type { ExpressionEvaluator } from '../transform/expression-evaluator';
import { DEFAULT_CODE_MEMORY_MB, logsOf } from '../transform/run-code';
import { DEFAULT_RESPOND_STEP_STATUS } from '../validation/flow-defaults';
import {
  MAX_DELAY_MS,
  MAX_LOOP_ITEMS,
  MAX_RESPOND_STEP_BODY_BYTES,
  formatDuration,
} from '../validation/flow-limits';
import { connectorInputIssues } from '../validation/validate-flow';
import { scopeOf, stepInput, type CompiledFlow, type CompiledStep } from './compile-flow';

export interface ExecuteDeps {
  connectors: ConnectorRegistry;
  /** Where transforms, filters and `until` are evaluated: the sandbox, except in unit tests. */
  expressions: ExpressionEvaluator;
  /** 1-based attempt number; default 1. */
  attempt?: number;
  /** Default `${runId}_${stepId}`: the same for every attempt of the step in this run. */
  idempotencyKey?: string;
  /** Aborts the attempt (shutdown, run cancelled); the outcome is then `cancelled`, retryable. */
  signal?: AbortSignal;
  /** Secret values by name; only the names in `flow.step(id).secretNames` are read. */
  secrets?: Record<string, string>;
  /** Render the action and stop: the connector is not called and secrets show as placeholders. */
  dryRun?: boolean;
  /** Limits of expressions; `maxOutputBytes` bounds a transform's output (default 1 MiB). */
  budget?: ExpressionBudget;
  /** The clock a delay step's `for` counts from (epoch ms); default `Date.now()`. */
  nowMs?: number;
}

/** Grace past `timeoutMs` before giving up on a connector that ignores its own timeout (holding a slot). */
export const CONNECTOR_GRACE_MS = 1000;

/** What a secret renders as in a dry run: the value never leaves the server. */
export function secretPlaceholder(name: string): string {
  return `[secret ${name}]`;
}

/** What expressions, templates and code see besides the input; `item` and `index` only in a loop. */
type Bindings = {
  trigger: unknown;
  steps: Record<string, unknown>;
  run: unknown;
  item?: unknown;
  index?: number;
};

/** What a step sees besides its input: `trigger`, `steps`, `run`, and in a loop `item` and `index`. */
export function bindingsOf(ctx: RunContext): Bindings {
  const bindings: Bindings = { trigger: ctx.trigger, steps: ctx.steps, run: ctx.run };
  if (ctx.item) Object.assign(bindings, { item: ctx.item.value, index: ctx.item.index });
  return bindings;
}

function failed(
  input: unknown,
  code: StepErrorCode,
  message: string,
  retryable: boolean,
  extra: { status?: number; retryAfterMs?: number; output?: unknown } = {},
): StepOutcome {
  const error: StepError = { code, message, retryable };
  if (extra.status !== undefined) error.status = extra.status;
  if (extra.retryAfterMs !== undefined) error.retryAfterMs = extra.retryAfterMs;
  return extra.output === undefined
    ? { status: 'failed', input, error }
    : { status: 'failed', input, error, output: extra.output };
}

function isConnectorError(err: unknown): err is ConnectorError {
  if (err instanceof ConnectorError) return true;
  const e = err as Partial<ConnectorError> | null;
  // Another copy of this module (e.g. a separately bundled connector) has another class.
  return !!e && e.name === 'ConnectorError' && typeof e.code === 'string' && typeof e.retryable === 'boolean';
}

function expressionBudget(flow: CompiledFlow, step: CompiledStep, deps: ExecuteDeps): ExpressionBudget {
  const budget = deps.budget ?? DEFAULT_EXPRESSION_BUDGET;
  // A step's own timeout can only tighten the engine's budget, never widen it.
  if (step.def.timeout === undefined) return budget;
  return { ...budget, timeoutMs: Math.min(budget.timeoutMs, flow.timeoutMs(step.id)) };
}

/** Only what an expression reads crosses to the sandbox: its variables, and of `$steps` the outputs it names. */
function bindingsFor(expression: CompiledExpression, bindings: Bindings): Partial<Bindings> {
  const reads = expression.variables;
  if (reads.has('eval')) return bindings;
  const used: Partial<Bindings> = {};
  if (reads.has('trigger')) used.trigger = bindings.trigger;
  if (reads.has('run')) used.run = bindings.run;
  if (reads.has('item') && 'item' in bindings) used.item = bindings.item;
  if (reads.has('index') && 'index' in bindings) used.index = bindings.index;
  if (reads.has('steps')) {
    const steps = bindings.steps as Record<string, unknown>;
    used.steps = expression.readsAllSteps
      ? steps
      : Object.fromEntries(
          expression.stepRefs.filter((id) => Object.hasOwn(steps, id)).map((id) => [id, steps[id]]),
        );
  }
  return used;
}

function evaluate(
  expression: CompiledExpression,
  input: unknown,
  bindings: Bindings,
  budget: ExpressionBudget,
  deps: ExecuteDeps,
  want: 'json' | 'boolean' = 'json',
): Promise<unknown> {
  return deps.expressions.evaluate({
    source: expression.source,
    input,
    bindings: bindingsFor(expression, bindings),
    budget,
    want,
  });
}

/** A pure function of its input does not improve on retry: expression failures are final, but for a busy sandbox. */
function expressionFailed(
  input: unknown,
  err: ExpressionError,
  code: StepErrorCode,
  prefix = '',
): StepOutcome {
  return failed(input, code, `${prefix}${err.message}`, err.code === 'expression_unavailable');
}

async function runExpression(
  step: Extract<CompiledStep, { type: 'transform' | 'filter' }>,
  flow: CompiledFlow,
  input: unknown,
  bindings: Bindings,
  deps: ExecuteDeps,
): Promise<StepOutcome> {
  const budget = expressionBudget(flow, step, deps);
  try {
    if (step.type === 'transform') {
      const result = await evaluate(step.expression, input, bindings, budget, deps);
      return { status: 'succeeded', input, output: result === undefined ? null : result };
    }
    return (await evaluate(step.condition, input, bindings, budget, deps, 'boolean')) === true
      ? { status: 'succeeded', input, output: input }
      : { status: 'filtered', input, output: input };
  } catch (err) {
    if (!(err instanceof ExpressionError)) throw err;
    const code = step.type === 'filter' && err.code === 'transform_error' ? 'filter_error' : err.code;
    return expressionFailed(input, err, code);
  }
}

/** A code step's time budget when it sets no `timeout` of its own. */
export const CODE_TIMEOUT_MS = 1000;

/** Runs a code step's JavaScript in the sandbox; its `console.log` lines go with the outcome. */
async function runCodeStep(
  step: Extract<CompiledStep, { type: 'code' }>,
  flow: CompiledFlow,
  input: unknown,
  bindings: Bindings,
  deps: ExecuteDeps,
): Promise<StepOutcome> {
  const budget = deps.budget ?? DEFAULT_EXPRESSION_BUDGET;
  const timeoutMs = step.def.timeout === undefined ? CODE_TIMEOUT_MS : flow.timeoutMs(step.id);
  try {
    const { value, logs } = await deps.expressions.runCode({
      code: step.def.code,
      input,
      bindings,
      budget: { timeoutMs, maxOutputBytes: budget.maxOutputBytes },
      memoryMb: DEFAULT_CODE_MEMORY_MB,
    });
    return { status: 'succeeded', input, output: value ?? null, logs };
  } catch (err) {
    if (!(err instanceof ExpressionError)) throw err;
    return { ...expressionFailed(input, err, err.code), logs: logsOf(err) } as StepOutcome;
  }
}

/** Evaluates the paths' conditions in order; the output is the input, `routes` the paths taken. */
async function runRouter(
  step: Extract<CompiledStep, { type: 'router' }>,
  flow: CompiledFlow,
  input: unknown,
  bindings: Bindings,
  deps: ExecuteDeps,
): Promise<StepOutcome> {
  const budget = expressionBudget(flow, step, deps);
  const all = step.def.mode === 'all';
  const routes: string[] = [];
  // One budget for the whole step: the paths share its time.
  const deadline = Date.now() + budget.timeoutMs;
  for (const path of step.paths) {
    if (!path.when) continue;
    const left = deadline - Date.now();
    if (left <= 0) {
      return failed(
        input,
        'expression_timeout',
        `the paths' conditions ran longer than ${budget.timeoutMs}ms`,
        false,
      );
    }
    try {
      const each = { ...budget, timeoutMs: left };
      if ((await evaluate(path.when, input, bindings, each, deps, 'boolean')) !== true) continue;
    } catch (err) {
      if (!(err instanceof ExpressionError)) throw err;
      const code = err.code === 'transform_error' ? 'filter_error' : err.code;
      return expressionFailed(input, err, code, `path '${path.name}': `);
    }
    routes.push(path.name);
    if (!all) break;
  }
  const fallback = step.paths.find((path) => !path.when);
  if (routes.length === 0 && fallback) routes.push(fallback.name);
  return routes.length > 0
    ? { status: 'succeeded', input, output: input, routes }
    : { status: 'filtered', input, output: input, routes };
}

function renderSecrets(step: CompiledStep, deps: ExecuteDeps): Record<string, string> {
  if (!deps.dryRun) return deps.secrets ?? {};
  // In a dry run a secret the caller says is missing still fails, so the test shows it.
  const names = step.secretNames.filter((name) => deps.secrets === undefined || name in deps.secrets);
  return Object.fromEntries(names.map((name) => [name, secretPlaceholder(name)]));
}

async function callConnector(
  connector: Connector,
  request: Record<string, unknown>,
  flow: CompiledFlow,
  step: CompiledStep,
  input: unknown,
  ctx: RunContext,
  deps: ExecuteDeps,
  rowId: string,
): Promise<StepOutcome> {
  const timeoutMs = flow.timeoutMs(step.id);
  const controller = new AbortController();
  const cleanup: Array<() => void> = [];
  const cancelled = () => failed(input, 'cancelled', `step '${step.id}' was cancelled`, true);
  if (deps.signal?.aborted) return cancelled();

  const stopped = new Promise<StepOutcome>((resolve) => {
    const timer = setTimeout(() => {
      controller.abort(new Error(`step '${step.id}' exceeded its ${timeoutMs}ms timeout`));
      resolve(
        failed(input, 'timeout', `connector '${connector.key}' did not finish within ${timeoutMs}ms`, true),
      );
    }, timeoutMs + CONNECTOR_GRACE_MS);
    cleanup.push(() => clearTimeout(timer));
    if (deps.signal) {
      const signal = deps.signal;
      const onAbort = () => {
        controller.abort(signal.reason);
        resolve(cancelled());
      };
      signal.addEventListener('abort', onAbort, { once: true });
      cleanup.push(() => signal.removeEventListener('abort', onAbort));
    }
  });

  let exchange: Exchange | undefined;
  const call = Promise.resolve()
    .then(() =>
      connector.execute(request, {
        runId: ctx.run.id,
        stepId: rowId,
        attempt: deps.attempt ?? 1,
        timeoutMs,
        idempotencyKey: deps.idempotencyKey ?? `${ctx.run.id}_${rowId}`,
        signal: controller.signal,
        onExchange: (told) => (exchange = told),
      }),
    )
    .then(
      (output): StepOutcome => ({ status: 'succeeded', input, output: output === undefined ? null : output }),
      (err: unknown): StepOutcome => {
        if (deps.signal?.aborted) return cancelled();
        if (isConnectorError(err)) {
          const retryAfterMs =
            err.extra?.retryAfterMs === undefined
              ? undefined
              : Math.min(Math.max(0, err.extra.retryAfterMs), step.retryPolicy.maxDelayMs);
          return failed(input, err.code, err.message, err.retryable, { ...err.extra, retryAfterMs });
        }
        const message = err instanceof Error ? err.message : String(err);
        return failed(
          input,
          'internal_error',
          `connector '${connector.key}' failed unexpectedly: ${message}`,
          false,
        );
      },
    );

  try {
    const outcome = await Promise.race([call, stopped]);
    return exchange && outcome.status !== 'filtered' ? { ...outcome, exchange } : outcome;
  } finally {
    for (const fn of cleanup) fn();
  }
}

/** A delay step's resume time in epoch ms; throws `ExpressionError` when `until` gives no time. */
async function delayResumeAtMs(
  step: Extract<CompiledStep, { type: 'delay' }>,
  flow: CompiledFlow,
  input: unknown,
  bindings: Bindings,
  deps: ExecuteDeps,
  nowMs: number,
): Promise<number> {
  if (!step.until) return nowMs + (step.forMs ?? 0);
  const value = await evaluate(step.until, input, bindings, expressionBudget(flow, step, deps), deps);
  const at = typeof value === 'number' ? value : typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(at)) {
    throw new ExpressionError(
      'transform_error',
      `gave ${JSON.stringify(value) ?? 'nothing'}; expected an ISO 8601 time or epoch milliseconds`,
    );
  }
  if (at - nowMs > MAX_DELAY_MS) {
    throw new ExpressionError(
      'transform_error',
      `gave ${JSON.stringify(value)}, more than ${formatDuration(MAX_DELAY_MS)} ahead; a delay waits at most ${formatDuration(MAX_DELAY_MS)}`,
    );
  }
  return at;
}

async function runDelay(
  step: Extract<CompiledStep, { type: 'delay' }>,
  flow: CompiledFlow,
  input: unknown,
  bindings: Bindings,
  deps: ExecuteDeps,
): Promise<StepOutcome> {
  try {
    const resumeAtMs = await delayResumeAtMs(step, flow, input, bindings, deps, deps.nowMs ?? Date.now());
    return { status: 'succeeded', input, output: input, resumeAtMs };
  } catch (err) {
    if (!(err instanceof ExpressionError)) throw err;
    return expressionFailed(input, err, err.code, 'until: ');
  }
}

async function runAction(
  step: Extract<CompiledStep, { type: 'action' }>,
  flow: CompiledFlow,
  input: unknown,
  ctx: RunContext,
  bindings: Bindings,
  deps: ExecuteDeps,
  rowId: string,
): Promise<StepOutcome> {
  let request: Record<string, unknown>;
  try {
    request = step.with.render({ input, ...bindings }, renderSecrets(step, deps)) as Record<string, unknown>;
  } catch (err) {
    if (!(err instanceof TemplateError)) throw err;
    return failed(input, 'template_error', `with${err.pointer}: ${err.message}`, false);
  }
  const connector = deps.connectors.get(step.def.connector);
  if (!connector) {
    return failed(input, 'connector_not_found', `connector '${step.def.connector}' is not available`, false);
  }
  const issues = connectorInputIssues(connector, request);
  if (issues.length > 0) {
    const detail = issues.map((i) => `with${i.path} ${i.message}`).join('; ');
    return failed(input, 'invalid_config', `rendered options are invalid: ${detail}`, false, {
      output: deps.dryRun ? { dryRun: true, request } : undefined,
    });
  }
  if (step.signSecretName !== undefined) {
    // After the schema check, which wants a secret name here, not a value.
    const name = step.signSecretName;
    const known = deps.secrets !== undefined && Object.hasOwn(deps.secrets, name);
    // As for `{{secret}}`: a dry run without a secret list shows the placeholder anyway.
    const value = deps.dryRun
      ? deps.secrets === undefined || known
        ? secretPlaceholder(name)
        : undefined
      : known
        ? deps.secrets![name]
        : undefined;
    if (value === undefined) {
      return failed(input, 'template_error', `with/sign/secret: secret '${name}' is not defined`, false);
    }
    request = { ...request, sign: { ...(request.sign as Record<string, unknown>), secret: value } };
  }
  if (deps.dryRun) return { status: 'succeeded', input, output: { dryRun: true, request } };
  return callConnector(connector, request, flow, step, input, ctx, deps, rowId);
}

/** Renders the answer the webhook's sender gets: `{ status, headers, body }`, the body as sent. */
function runRespond(
  step: Extract<CompiledStep, { type: 'respond' }>,
  input: unknown,
  bindings: Bindings,
  deps: ExecuteDeps,
): StepOutcome {
  try {
    const rendered = step.answer.render({ input, ...bindings }) as {
      headers: Record<string, unknown>;
      json?: unknown;
      body?: unknown;
    };
    const budget = deps.budget ?? DEFAULT_EXPRESSION_BUDGET;
    const answer = buildAnswer(
      {
        status: step.def.status ?? DEFAULT_RESPOND_STEP_STATUS,
        headers: rendered.headers,
        content: step.def.json !== undefined ? { json: rendered.json } : { body: rendered.body },
      },
      Math.min(MAX_RESPOND_STEP_BODY_BYTES, budget.maxOutputBytes),
    );
    return { status: 'succeeded', input, output: answer };
  } catch (err) {
    if (err instanceof TemplateError)
      return failed(input, 'template_error', `${err.pointer}: ${err.message}`, false);
    if (err instanceof AnswerError) return failed(input, err.code, `${err.field}: ${err.message}`, false);
    throw err;
  }
}

/** A loop's items: an array as it is, one value as one item, nothing as none (JSONata unwraps a single match). */
async function runForeach(
  step: Extract<CompiledStep, { type: 'foreach' }>,
  flow: CompiledFlow,
  input: unknown,
  bindings: Bindings,
  deps: ExecuteDeps,
): Promise<StepOutcome> {
  let value: unknown;
  try {
    value = await evaluate(step.items, input, bindings, expressionBudget(flow, step, deps), deps);
  } catch (err) {
    if (!(err instanceof ExpressionError)) throw err;
    return expressionFailed(input, err, err.code, 'items: ');
  }
  const items = value === undefined || value === null ? [] : Array.isArray(value) ? value : [value];
  const cap = Math.min(step.maxItems, MAX_LOOP_ITEMS);
  if (items.length > cap) {
    return failed(
      input,
      'too_many_items',
      `items gave ${items.length} items; this loop takes at most ${cap} (maxItems)`,
      false,
    );
  }
  return { status: 'succeeded', input, output: null, items };
}

/**
 * Runs one attempt of one step (a loop item's step by its row id, `each[3].post`, with
 * `ctx.item`). Knows nothing about queues or storage and never throws: every failure is an
 * outcome, retryable or final.
 */
export async function executeStep(
  whole: CompiledFlow,
  stepId: string,
  ctx: RunContext,
  deps: ExecuteDeps,
): Promise<StepOutcome> {
  let input: unknown = null;
  try {
    const { flow, stepId: id } = scopeOf(whole, stepId);
    const step = flow.step(id);
    input = stepInput(flow, id, ctx);
    const bindings = bindingsOf(ctx);
    switch (step.type) {
      case 'transform':
      case 'filter':
        return await runExpression(step, flow, input, bindings, deps);
      case 'action':
        return await runAction(step, flow, input, ctx, bindings, deps, stepId);
      case 'foreach':
        return await runForeach(step, flow, input, bindings, deps);
      case 'delay':
        return await runDelay(step, flow, input, bindings, deps);
      case 'router':
        return await runRouter(step, flow, input, bindings, deps);
      case 'code':
        return await runCodeStep(step, flow, input, bindings, deps);
      case 'respond':
        return runRespond(step, input, bindings, deps);
    }
    return failed(input, 'internal_error', `step '${stepId}' has an unknown type`, false);
  } catch (err) {
    return failed(input, 'internal_error', err instanceof Error ? err.message : String(err), false);
  }
}
