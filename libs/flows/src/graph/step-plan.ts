import type { FlowDefinition } from '../model/flow-definition';
import { resolveRetryPolicy, resolveTimeoutMs, type RetryPolicy } from '../retry/retry-policy';
import { StepGraph } from './step-graph';

/** A step of a new run; roots go to the queue as soon as the run is stored. */
export interface TriggerStep {
  id: string;
  root: boolean;
}

/** A root step as the queue takes it. */
export interface RootStep {
  id: string;
  policy: RetryPolicy;
  timeoutMs: number;
}

/** The rows a new run of a flow version starts with, and the steps handed to the queue at once. */
export interface NewRunPlan {
  steps: TriggerStep[];
  roots: RootStep[];
}

/** A new run's steps from a validated definition, whatever starts the run (a webhook, by hand). */
export function planSteps(definition: Pick<FlowDefinition, 'steps'>): NewRunPlan {
  const rootIds = new Set(new StepGraph(definition.steps).roots());
  return {
    steps: definition.steps.map((s) => ({ id: s.id, root: rootIds.has(s.id) })),
    roots: definition.steps
      .filter((s) => rootIds.has(s.id))
      .map((s) => ({ id: s.id, policy: resolveRetryPolicy(s), timeoutMs: resolveTimeoutMs(s) })),
  };
}
