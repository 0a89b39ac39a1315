/**
 * The contract between whoever enqueues a step (the API's ingress, the worker's orchestrator,
 * the reconciler) and the worker that runs it. Jobs carry ids and the retry schedule, never
 * payloads: everything needed to redo a step is in PostgreSQL.
 */
export const STEP_QUEUE = 'steps';
export const STEP_JOB_NAME = 'step';

export interface StepJobData {
  runId: string;
  stepId: string;
  /** The step's backoff, read by the worker's backoff strategy. */
  backoff: { kind: 'exponential' | 'fixed'; delayMs: number; maxDelayMs: number };
  /** How long a claim of this step lasts: its timeout plus a margin to record the outcome. */
  leaseMs: number;
}

/** Time past a step's timeout for recording its outcome before another worker may take it over. */
export const LEASE_MARGIN_MS = 30_000;

export interface StepJobSpec {
  name: string;
  data: StepJobData;
  opts: {
    jobId: string;
    attempts: number;
    backoff: { type: 'hookflow' };
    removeOnComplete: boolean;
    removeOnFail: boolean | { age: number };
  };
}

/** BullMQ rejects ':' in custom job ids; run ids are uuids and step ids match [a-z0-9_-]. */
export function stepJobId(runId: string, stepId: string): string {
  return `${runId}_${stepId}`;
}

/**
 * Builds the job for one step. `attempts` is what is left of the step's retry budget, so a
 * step re-enqueued by the reconciler does not get its tries back. Finished jobs are removed:
 * the database holds the history, and a later retry of the same step can reuse the job id.
 */
export function stepJob(
  runId: string,
  stepId: string,
  step: {
    policy: { attempts: number; backoff: 'exponential' | 'fixed'; delayMs: number; maxDelayMs: number };
    timeoutMs: number;
  },
  attemptsDone = 0,
): StepJobSpec {
  const { policy } = step;
  return {
    name: STEP_JOB_NAME,
    data: {
      runId,
      stepId,
      backoff: { kind: policy.backoff, delayMs: policy.delayMs, maxDelayMs: policy.maxDelayMs },
      leaseMs: step.timeoutMs + LEASE_MARGIN_MS,
    },
    opts: {
      jobId: stepJobId(runId, stepId),
      attempts: Math.max(1, policy.attempts - attemptsDone),
      backoff: { type: 'hookflow' },
      removeOnComplete: true,
      removeOnFail: { age: 24 * 3600 },
    },
  };
}
