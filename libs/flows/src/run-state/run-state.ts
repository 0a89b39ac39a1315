import { own, type FinishedRunStatus, type StepGraph } from '../graph/step-graph';
import type { RunStatus, StepStatus } from '../model/step-status';

/** One step of a run as stored. */
export interface StepState {
  status: StepStatus;
  /** Claims made of it so far (attempt numbers count on across retries of the run). */
  attempts: number;
  /** Handed to the queue (or to a worker in process) for its current turn. */
  enqueued: boolean;
  /** A worker holds a live claim on it (`running` with a lease that has not lapsed). */
  held: boolean;
  /** A router that ended: the paths it took. */
  routes?: string[];
}

/** A run's steps at one moment; every change bumps `version`, so a write at an old one is refused. */
export interface RunView {
  version: number;
  status: RunStatus;
  steps: Record<string, StepState>;
}

/** What a change to one step does to its run: the one write the store then makes. */
export interface RunTransition {
  /** Pending steps that can never run now. */
  skip: string[];
  /** Steps that became ready and are not handed to the queue yet: the caller hands them over. */
  enqueue: string[];
  /** The run's end, when nothing is left to do; null while something is. */
  runStatus: FinishedRunStatus | null;
}

/** The statuses a step ends an attempt with. */
export type StepEnd = Extract<StepStatus, 'succeeded' | 'failed' | 'filtered'>;

const LIVE_RUN: ReadonlySet<RunStatus> = new Set<RunStatus>(['queued', 'running']);

/** Whether the run still moves (its steps run); a cancelled or finished run only records. */
export function isLiveRun(status: RunStatus): boolean {
  return LIVE_RUN.has(status);
}

/** Each step's status, by id. */
export function statusesOf(view: RunView): Record<string, StepStatus> {
  const statuses: Record<string, StepStatus> = {};
  for (const [id, step] of Object.entries(view.steps)) statuses[id] = step.status;
  return statuses;
}

/** The paths the run's routers took, by router id. */
export function routesOf(view: RunView): Record<string, string[]> {
  const routes: Record<string, string[]> = {};
  for (const [id, step] of Object.entries(view.steps)) if (step.routes) routes[id] = step.routes;
  return routes;
}

/** What follows for the run from a step's end (`routes`: a router's paths taken); in a run no longer live, nothing moves. */
export function afterStepEnd(
  graph: StepGraph,
  view: RunView,
  stepId: string,
  end: StepEnd,
  routes?: string[],
): RunTransition {
  if (!isLiveRun(view.status)) return { skip: [], enqueue: [], runStatus: null };
  const statuses = statusesOf(view);
  statuses[stepId] = end;
  const taken = routesOf(view);
  if (routes) taken[stepId] = routes;
  const { ready, skip, runStatus } = graph.settle(statuses, taken);
  return { skip, enqueue: ready.filter((id) => !own(view.steps, id)?.enqueued), runStatus };
}

/** Steps a retry of the run sets back to pending (with a fresh attempt budget). */
const REOPENABLE: ReadonlySet<StepStatus> = new Set<StepStatus>([
  'failed',
  'skipped',
  'cancelled',
  'pending',
  'retrying',
  'waiting',
]);
const RETRYABLE_RUN: ReadonlySet<RunStatus> = new Set<RunStatus>(['failed', 'cancelled']);

/** What a retry of a failed or cancelled run does, for the store to apply as one write. */
export interface RunRetry {
  /** Steps set back to pending, in definition order: what the retry runs again. */
  reopen: string[];
  /** Of those, the ones ready at once: handed to the queue right away. */
  enqueue: string[];
  /** Steps that stay behind a filter (skipped again). */
  skip: string[];
  /** `queued`, or the run's end when nothing is left to run. */
  runStatus: RunStatus;
}

/** A retry of the run, or null when its status allows none (docs/architecture.md, Run operations). */
export function retryOf(graph: StepGraph, view: RunView): RunRetry | null {
  if (!RETRYABLE_RUN.has(view.status)) return null;
  const reopenable = (step: StepState | undefined) =>
    step !== undefined && (REOPENABLE.has(step.status) || (step.status === 'running' && !step.held));
  const statuses: Record<string, StepStatus> = {};
  for (const [id, step] of Object.entries(view.steps))
    statuses[id] = reopenable(step) ? 'pending' : step.status;
  const decision = graph.settle(statuses, routesOf(view));
  const skip = new Set(decision.skip);
  const reopen = graph.ids.filter((id) => reopenable(own(view.steps, id)) && !skip.has(id));
  return {
    reopen,
    enqueue: decision.ready.filter((id) => reopen.includes(id)),
    skip: [...skip],
    runStatus: decision.runStatus ?? 'queued',
  };
}
