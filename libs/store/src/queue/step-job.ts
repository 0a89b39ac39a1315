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
  /**
   * The run's pinned flow version, so the worker knows the step (its type, its destination) from
   * its compiled-flow cache before claiming it, without a database read. Absent in older jobs.
   */
  flowVersionId?: string;
  /**
   * Attempts the step used before this job (a reconciled job, or a retry of a step first run in
   * process): the backoff schedule continues from there rather than starting over.
   */
  attemptsBefore?: number;
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
    flowVersionId?: string;
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
      ...(step.flowVersionId ? { flowVersionId: step.flowVersionId } : {}),
      ...(attemptsDone > 0 ? { attemptsBefore: attemptsDone } : {}),
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

/** The jobs for some steps of a run, with each step's retry schedule and timeout from its compiled flow. */
export function stepJobsFor(
  flow: { retryPolicy(stepId: string): StepJobPolicy; timeoutMs(stepId: string): number },
  flowVersionId: string,
  runId: string,
  stepIds: string[],
  attemptsDone = 0,
): StepJobSpec[] {
  return stepIds.map((id) =>
    stepJob(
      runId,
      id,
      { policy: flow.retryPolicy(id), timeoutMs: flow.timeoutMs(id), flowVersionId },
      attemptsDone,
    ),
  );
}

type StepJobPolicy = {
  attempts: number;
  backoff: 'exponential' | 'fixed';
  delayMs: number;
  maxDelayMs: number;
};
