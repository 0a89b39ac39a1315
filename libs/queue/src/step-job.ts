import type { Queue } from 'bullmq';

/**
 * The contract between whoever enqueues a step (the API's ingress, the worker's orchestrator,
 * the reconciler) and the worker that runs it. Jobs carry ids and the retry schedule, never
 * payloads: everything needed to redo a step is in PostgreSQL.
 */
export const STEP_QUEUE = 'steps';
export const STEP_JOB_NAME = 'step';
/** A job carrying the first steps of several new runs (see `bundleJobs`). */
export const BUNDLE_JOB_NAME = 'bundle';
/** Most steps one bundle job carries. */
export const MAX_BUNDLE_STEPS = 32;

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

/** A bundle job's data: the jobs its steps would have had on their own. */
export interface StepBundleData {
  steps: StepJobData[];
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

export interface StepBundleSpec {
  name: typeof BUNDLE_JOB_NAME;
  data: StepBundleData;
  opts: { jobId: string; attempts: 1; removeOnComplete: true; removeOnFail: { age: number } };
}

/**
 * The jobs for new runs' first steps, as the API hands them to the queue: one job alone, or many
 * carried by bundle jobs of up to MAX_BUNDLE_STEPS, so that a burst of webhooks costs the queue
 * (and the worker taking them) one job per bundle instead of one per webhook. A worker runs a
 * bundle's steps side by side, each as its own job would run it; a step that needs a retry or a
 * later try gets a job of its own then. A bundle is never retried as a whole (a stalled one comes
 * back once, like any job); a step it lost is found by the reconciler like any lost job.
 */
export function bundleJobs(jobs: StepJobSpec[]): (StepJobSpec | StepBundleSpec)[] {
  if (jobs.length === 1) return jobs;
  const bundles: StepBundleSpec[] = [];
  for (let i = 0; i < jobs.length; i += MAX_BUNDLE_STEPS) {
    const part = jobs.slice(i, i + MAX_BUNDLE_STEPS);
    bundles.push({
      name: BUNDLE_JOB_NAME,
      data: { steps: part.map((j) => j.data) },
      // Step job ids are unique to their step, and a step is in one bundle only.
      opts: {
        jobId: `bundle_${part[0].opts.jobId}`,
        attempts: 1,
        removeOnComplete: true,
        removeOnFail: { age: 24 * 3600 },
      },
    });
  }
  return bundles;
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

/** Hands jobs to the queue in one call: `add` for one (cheaper than a bulk of one), `addBulk` for more. */
export async function addJobs(queue: Queue, jobs: (StepJobSpec | StepBundleSpec)[]): Promise<void> {
  if (jobs.length === 1) await queue.add(jobs[0].name, jobs[0].data, jobs[0].opts);
  else await queue.addBulk(jobs);
}
