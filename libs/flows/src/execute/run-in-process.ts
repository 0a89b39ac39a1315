import { randomUUID } from 'node:crypto';
import { own, type FinishedRunStatus } from '../graph/step-graph';
import type { ConnectorRegistry } from '../model/connector';
import type { StepType } from '../model/flow-definition';
import type { RunContext, TriggerData } from '../model/run-context';
import type { StepError } from '../model/step-outcome';
import type { StepStatus } from '../model/step-status';
import type { ExpressionBudget } from '../transform/expression';
import type { ExpressionEvaluator } from '../transform/expression-evaluator';
import { answerOf } from '../respond/respond-answer';
import type { IngressResponse } from '../trigger/trigger-reply';
import { itemPrefix } from '../graph/loop-items';
import { itemResultStep, loopItemsFailed } from '../run-state/run-state';
import type { CompiledFlow, CompiledStep } from './compile-flow';
import { executeStep } from './execute-step';

export interface RunInProcessDeps {
  connectors: ConnectorRegistry;
  /** Where expressions are evaluated: the sandbox, except in unit tests. */
  expressions: ExpressionEvaluator;
  budget?: ExpressionBudget;
  /** Render actions without calling their connectors; secrets show as `[secret NAME]`. */
  dryRun: boolean;
  /** `run.id` seen by templates and expressions; default `test-<uuid>`. */
  runId?: string;
  /** Secret values by name; in a dry run only the names matter (a missing one fails its step). */
  secrets?: Record<string, string>;
}

export interface InProcessStepResult {
  id: string;
  type: StepType;
  status: StepStatus;
  /** The step's input document; null for a step that never ran (skipped). */
  input: unknown;
  output: unknown;
  error?: StepError;
  /** An action's rendered connector options (secrets masked), in a dry run. */
  request?: unknown;
  /** A router's paths taken. */
  routes?: string[];
  /** A code step's `console.log` lines. */
  logs?: string[];
  /** A `foreach` step's items: each one's steps, as a run of the loop's own steps. */
  items?: InProcessItemResult[];
}

export interface InProcessItemResult {
  index: number;
  /** How the item's steps ended, as a run's status. */
  status: FinishedRunStatus;
  steps: InProcessStepResult[];
}

export interface InProcessRunResult {
  status: FinishedRunStatus;
  /** Every step of the flow, in definition order. */
  steps: InProcessStepResult[];
  /**
   * A flow with a respond step: what the webhook's sender would get from it, or null when the run
   * does not reach it (the sender then gets the trigger's default answer). Absent otherwise.
   */
  response?: IngressResponse | null;
}

/**
 * Runs a whole flow in the calling process, one attempt per step and no queue, for the test
 * endpoint and the CLI. Steps run one at a time as the graph makes them ready, a loop's items one
 * after the other; no retries.
 */
export async function runFlowInProcess(
  flow: CompiledFlow,
  trigger: TriggerData,
  deps: RunInProcessDeps,
): Promise<InProcessRunResult> {
  const run = { id: deps.runId ?? `test-${randomUUID()}`, flow: flow.definition.slug };
  const { status, steps } = await runSteps(flow, { trigger, steps: {}, run }, deps, '');
  if (flow.respondStep === undefined) return { status, steps };
  const respond = steps.find((s) => s.id === flow.respondStep);
  const response = respond?.status === 'succeeded' ? answerOf(respond.output) : null;
  return { status, steps, response };
}

/** Runs `flow`'s steps against `base` (a loop item's: with its item, ids under `rowPrefix`). */
async function runSteps(
  flow: CompiledFlow,
  base: RunContext,
  deps: RunInProcessDeps,
  rowPrefix: string,
): Promise<InProcessRunResult> {
  const statuses: Record<string, StepStatus> = {};
  const routes: Record<string, string[]> = {};
  const ctx: RunContext = { ...base, steps: { ...base.steps }, statuses, routes };
  const results = new Map<string, InProcessStepResult>();

  for (;;) {
    const { ready, skip } = flow.graph.advance(statuses, routes);
    for (const id of skip) statuses[id] = 'skipped';
    // One step at a time keeps the result deterministic: later siblings see earlier outputs.
    const id = ready[0];
    if (id === undefined) break;
    const step = flow.step(id);
    const result = await runStep(flow, id, ctx, deps, rowPrefix);
    statuses[id] = result.status;
    // A loop's item steps count for the run's end as the worker counts them (an action of theirs).
    for (const item of result.items ?? [])
      for (const inner of item.steps) statuses[`${itemPrefix(id, item.index)}${inner.id}`] = inner.status;
    if (result.status !== 'failed') ctx.steps[id] = result.output;
    if (result.routes) routes[id] = result.routes;
    if (step.type === 'action' && deps.dryRun) {
      const request = (result.output as { request?: unknown } | null)?.request;
      if (request !== undefined) result.request = request;
    }
    results.set(id, result);
  }

  const steps = flow.graph.ids.map(
    (id): InProcessStepResult =>
      results.get(id) ?? {
        id,
        type: flow.step(id).type,
        status: own(statuses, id) ?? 'skipped',
        input: null,
        output: null,
      },
  );
  // Every step is finished or skipped once nothing is ready, so the graph always decides.
  const status = flow.graph.runStatus(statuses) ?? 'failed';
  return { status, steps };
}

async function runStep(
  flow: CompiledFlow,
  id: string,
  ctx: RunContext,
  deps: RunInProcessDeps,
  rowPrefix: string,
): Promise<InProcessStepResult> {
  const step = flow.step(id);
  const outcome = await executeStep(flow, id, ctx, {
    connectors: deps.connectors,
    expressions: deps.expressions,
    budget: deps.budget,
    dryRun: deps.dryRun,
    secrets: deps.secrets,
    idempotencyKey: `${ctx.run.id}_${rowPrefix}${id}`,
  });
  const output = outcome.output === undefined ? null : outcome.output;
  const result: InProcessStepResult = {
    id,
    type: step.type,
    status: outcome.status,
    input: outcome.input,
    output,
  };
  if (outcome.status === 'failed') result.error = outcome.error;
  else if (outcome.routes) result.routes = outcome.routes;
  if (outcome.status !== 'filtered' && outcome.logs) result.logs = outcome.logs;
  if (step.type === 'foreach' && outcome.status === 'succeeded' && outcome.items) {
    return runItems(step, outcome.items, result, ctx, deps);
  }
  return result;
}

/** A loop's items one after the other; its output and status as the worker decides them. */
async function runItems(
  step: Extract<CompiledStep, { type: 'foreach' }>,
  items: unknown[],
  result: InProcessStepResult,
  ctx: RunContext,
  deps: RunInProcessDeps,
): Promise<InProcessStepResult> {
  const outer: RunContext = { trigger: ctx.trigger, steps: ctx.steps, run: ctx.run };
  const ran: InProcessItemResult[] = [];
  for (const [index, value] of items.entries()) {
    const item = await runSteps(
      step.loop,
      { ...outer, item: { value, index } },
      deps,
      itemPrefix(step.id, index),
    );
    ran.push({ index, ...item });
  }
  const output = ran.map((item) => {
    const statuses = Object.fromEntries(item.steps.map((s) => [s.id, s.status]));
    const id = itemResultStep(step.loop.graph, item.status, statuses);
    return id === undefined ? null : (item.steps.find((s) => s.id === id)!.output ?? null);
  });
  const failed = ran.filter((item) => item.status === 'failed').map((item) => item.index);
  if (failed.length > 0 && !step.def.continueOnError) {
    const error = loopItemsFailed(failed, ran.length);
    return { ...result, status: 'failed', output, error, items: ran };
  }
  return { ...result, output, items: ran };
}
