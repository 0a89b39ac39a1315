import jsonata from 'jsonata';

/** Limits of one evaluation. */
export interface ExpressionBudget {
  /** Wall-clock limit of one evaluation. */
  timeoutMs: number;
  /** Most user-defined function calls in flight at once (recursion depth). */
  maxDepth: number;
  /** Most bytes of the result as JSON text (MAX_STEP_OUTPUT_BYTES for steps). */
  maxOutputBytes: number;
}

/** What the in-process evaluation itself checks, between JSONata's nodes. */
export type EvaluationLimits = Pick<ExpressionBudget, 'timeoutMs' | 'maxDepth'>;

export const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;

export const DEFAULT_EXPRESSION_BUDGET: Readonly<ExpressionBudget> = Object.freeze({
  timeoutMs: 1000,
  maxDepth: 300,
  maxOutputBytes: DEFAULT_MAX_OUTPUT_BYTES,
});

export type ExpressionErrorCode =
  | 'expression_timeout'
  | 'expression_depth'
  /** The evaluation ran out of the sandbox's memory, or crashed it. */
  | 'expression_too_large'
  /** The result's JSON text is over the budget's `maxOutputBytes`. */
  | 'output_too_large'
  /** The sandbox could not take the evaluation (not started, too many waiting); worth trying again. */
  | 'expression_unavailable'
  | 'transform_error'
  /** A code step threw, or did not compile (with the line and column). */
  | 'code_error';

/** A JSONata expression that did not compile, failed, or ran out of budget. */
export class ExpressionError extends Error {
  constructor(
    readonly code: ExpressionErrorCode,
    message: string,
    /** Character offset in the expression, where JSONata reported one. */
    readonly position?: number,
    readonly token?: string,
  ) {
    super(message);
    this.name = 'ExpressionError';
  }
}

export interface CompiledExpression {
  readonly source: string;
  /** Step ids the expression reads as `$steps.<id>` (static references only). */
  readonly stepRefs: string[];
  /** Names of the variables it reads (`trigger` for `$trigger`), functions included. */
  readonly variables: ReadonlySet<string>;
  /** Whether it reads `$steps` other than as `$steps.<id>` (then every output may matter). */
  readonly readsAllSteps: boolean;
  /** Whether every native call it can make costs in proportion to its input, so clock checks bound it. */
  readonly bounded: boolean;
  /**
   * Evaluates against `input` (`$`) with `bindings`; rejects only with `ExpressionError`. Bounds
   * only what runs between nodes: authors' expressions go through the sandbox.
   */
  evaluate(input: unknown, bindings?: Record<string, unknown>, budget?: EvaluationLimits): Promise<unknown>;
}

// Budget state per evaluation (the compiled expression is shared); a name with a space cannot be
// read or shadowed by any `$name`.
const BUDGET_BINDING = 'hookflow budget';
const ENTRY_HOOK = Symbol.for('jsonata.__evaluate_entry');
const EXIT_HOOK = Symbol.for('jsonata.__evaluate_exit');

interface BudgetState {
  deadline: number;
  timeoutMs: number;
  maxDepth: number;
  depth: number;
}

/** Thrown from the hooks; JSONata decorates thrown objects on the way out, so this is not the public error. */
class BudgetExceeded {
  constructor(readonly code: 'expression_timeout' | 'expression_depth') {}
}

interface JsonataNode {
  type?: string;
  body?: JsonataNode;
}

interface JsonataEnvironment {
  lookup(name: string): unknown;
}

// Depth counts nested function bodies, not nodes in flight: JSONata evaluates constructors in
// parallel, so a node count would call a large lookup table too deep.
const lambdaBodies = new WeakSet<object>();

function onEntry(expr: JsonataNode, _input: unknown, environment: JsonataEnvironment): void {
  const state = environment.lookup(BUDGET_BINDING) as BudgetState | undefined;
  if (state === undefined) return;
  if (expr.type === 'lambda' && expr.body) lambdaBodies.add(expr.body);
  if (lambdaBodies.has(expr) && ++state.depth > state.maxDepth) throw new BudgetExceeded('expression_depth');
  // Evaluation is a chain of microtasks that never yields to timers, so the clock is checked here.
  if (Date.now() > state.deadline) throw new BudgetExceeded('expression_timeout');
}

function onExit(expr: JsonataNode, _input: unknown, environment: JsonataEnvironment): void {
  const state = environment.lookup(BUDGET_BINDING) as BudgetState | undefined;
  if (state !== undefined && lambdaBodies.has(expr)) state.depth--;
}

interface JsonataFailure {
  code?: string;
  position?: number;
  token?: unknown;
  message?: string;
}

function describe(err: JsonataFailure): string {
  const token =
    err.token === undefined || err.token === null || err.token === '' ? undefined : String(err.token);
  const details = [
    err.code,
    typeof err.position === 'number' ? `at position ${err.position}` : undefined,
    token === undefined ? undefined : `near '${token}'`,
  ].filter((d) => d !== undefined);
  const message = err.message ?? 'JSONata error';
  return details.length > 0 ? `${message} (${details.join(', ')})` : message;
}

/** `$eval` wraps errors of the code it runs as `{ code: 'D3121', error }`; the budget error may sit inside. */
function budgetCause(err: unknown): BudgetExceeded | undefined {
  for (let e = err, hops = 0; e !== null && typeof e === 'object' && hops < 10; hops++) {
    if (e instanceof BudgetExceeded) return e;
    e = (e as { error?: unknown }).error;
  }
  return undefined;
}

function toExpressionError(err: unknown, state?: BudgetState): ExpressionError {
  const budget = budgetCause(err);
  if (budget) {
    return budget.code === 'expression_timeout'
      ? new ExpressionError('expression_timeout', `expression ran longer than ${state?.timeoutMs}ms`)
      : new ExpressionError(
          'expression_depth',
          `expression nested more than ${state?.maxDepth} function calls (runaway recursion?)`,
        );
  }
  if (err instanceof RangeError && /call stack/i.test(err.message)) {
    return new ExpressionError(
      'expression_depth',
      'expression exhausted the call stack (input or recursion too deep)',
    );
  }
  if (err !== null && typeof err === 'object') {
    const failure = err as JsonataFailure;
    const token = failure.token === undefined ? undefined : String(failure.token);
    return new ExpressionError('transform_error', describe(failure), failure.position, token);
  }
  return new ExpressionError('transform_error', String(err));
}

// Built-ins whose native work can outgrow their input (a width, a regex, code, native compares);
// these, a regex literal or a range make an expression unbounded.
const UNBOUNDED_FUNCTIONS = new Set(['pad', 'match', 'eval', 'distinct', 'sort', 'toMillis', 'parseInteger']);

interface Refs {
  stepRefs: string[];
  variables: Set<string>;
  readsAllSteps: boolean;
  bounded: boolean;
}

function collectRefs(ast: unknown): Refs {
  const refs = new Set<string>();
  const variables = new Set<string>();
  /** `$steps` nodes that only head a `$steps.<id>` path. */
  const staticHeads = new Set<object>();
  let readsAllSteps = false;
  let bounded = true;
  const seen = new Set<object>();
  const visit = (node: unknown): void => {
    if (node === null || typeof node !== 'object' || seen.has(node)) return;
    seen.add(node);
    const n = node as { type?: string; value?: unknown; steps?: Array<{ type?: string; value?: unknown }> };
    if (n.type === 'variable' && typeof n.value === 'string') {
      variables.add(n.value);
      if (n.value === 'steps' && !staticHeads.has(n)) readsAllSteps = true;
      if (UNBOUNDED_FUNCTIONS.has(n.value)) bounded = false;
    }
    if (n.type === 'regex' || (n.type === 'binary' && n.value === '..')) bounded = false;
    if (n.type === 'path' && Array.isArray(n.steps)) {
      const [head, next] = n.steps;
      if (
        head?.type === 'variable' &&
        head.value === 'steps' &&
        next?.type === 'name' &&
        typeof next.value === 'string'
      ) {
        refs.add(next.value);
        staticHeads.add(head);
      }
    }
    for (const value of Object.values(node)) visit(value);
  };
  visit(ast);
  return { stepRefs: [...refs], variables, readsAllSteps, bounded };
}

/** Compiles once, safe to evaluate concurrently; a parse error throws `ExpressionError` with its position. */
export function compileExpression(source: string): CompiledExpression {
  let expr: jsonata.Expression;
  try {
    expr = jsonata(source);
  } catch (err) {
    throw toExpressionError(err);
  }
  // The hook names are symbols in jsonata 2; the typings only admit strings.
  expr.assign(ENTRY_HOOK as unknown as string, onEntry);
  expr.assign(EXIT_HOOK as unknown as string, onExit);
  const { stepRefs, variables, readsAllSteps, bounded } = collectRefs(expr.ast());

  return {
    source,
    stepRefs,
    variables,
    readsAllSteps,
    bounded,
    async evaluate(input, bindings = {}, budget = DEFAULT_EXPRESSION_BUDGET) {
      const state: BudgetState = {
        deadline: Date.now() + budget.timeoutMs,
        timeoutMs: budget.timeoutMs,
        maxDepth: budget.maxDepth,
        depth: 0,
      };
      try {
        return await expr.evaluate(input, { ...bindings, [BUDGET_BINDING]: state });
      } catch (err) {
        throw toExpressionError(err, state);
      }
    },
  };
}

/** JSONata's boolean cast (`$boolean`), with "nothing" as false: how a filter reads its condition. */
export function jsonataBoolean(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (Array.isArray(value)) {
    if (value.length === 1) return jsonataBoolean(value[0]);
    return value.some((v) => jsonataBoolean(v));
  }
  switch (typeof value) {
    case 'boolean':
      return value;
    case 'string':
      return value.length > 0;
    case 'number':
      return value !== 0;
    case 'object':
      return Object.keys(value).length > 0;
    default:
      return false;
  }
}
