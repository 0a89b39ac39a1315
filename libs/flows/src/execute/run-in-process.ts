import { randomUUID } from 'node:crypto';
import { own, type FinishedRunStatus } from '../graph/step-graph';
import type { ConnectorRegistry } from '../model/connector';
import type { StepType } from '../model/flow-definition';
import type { RunContext, TriggerData } from '../model/run-context';
import type { StepError } from '../model/step-outcome';
import type { StepStatus } from '../model/step-status';
import type { ExpressionBudget } from '../transform/expression';
import type { ExpressionEvaluator } from '../transform/expression-evaluator';
import type { CompiledFlow } from './compile-flow';
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
}

export interface InProcessRunResult {
  status: FinishedRunStatus;
  /** Every step of the flow, in definition order. */
  steps: InProcessStepResult[];
}

/**
 * Runs a whole flow in the calling process, one attempt per step and no queue, for the test
 * endpoint and the CLI. Steps run one at a time as the graph makes them ready; no retries.
 */
export async function runFlowInProcess(
  flow: CompiledFlow,
  trigger: TriggerData,
  deps: RunInProcessDeps,
): Promise<InProcessRunResult> {
  const statuses: Record<string, StepStatus> = {};
  const routes: Record<string, string[]> = {};
  const ctx: RunContext = {
    trigger,
    steps: {},
    run: { id: deps.runId ?? `test-${randomUUID()}`, flow: flow.definition.slug },
    statuses,
    routes,
  };
  const results = new Map<string, InProcessStepResult>();

  for (;;) {
    const { ready, skip } = flow.graph.advance(statuses, routes);
    for (const id of skip) statuses[id] = 'skipped';
    // One step at a time keeps the result deterministic: later siblings see earlier outputs.
    const id = ready[0];
    if (id === undefined) break;
    const step = flow.step(id);
    const outcome = await executeStep(flow, id, ctx, {
      connectors: deps.connectors,
      expressions: deps.expressions,
      budget: deps.budget,
      dryRun: deps.dryRun,
      secrets: deps.secrets,
      idempotencyKey: `${ctx.run.id}_${id}`,
    });
    statuses[id] = outcome.status;
    const output = outcome.output === undefined ? null : outcome.output;
    if (outcome.status !== 'failed') ctx.steps[id] = output;
    const result: InProcessStepResult = {
      id,
      type: step.type,
      status: outcome.status,
      input: outcome.input,
      output,
    };
    if (outcome.status === 'failed') result.error = outcome.error;
    else if (outcome.routes) result.routes = routes[id] = outcome.routes;
    if (outcome.status !== 'filtered' && outcome.logs) result.logs = outcome.logs;
    if (step.type === 'action' && deps.dryRun) {
      const request = (output as { request?: unknown } | null)?.request;
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
