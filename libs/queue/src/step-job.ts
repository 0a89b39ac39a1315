// The contract between StepQueue and the worker: jobs carry ids and the retry schedule, never payloads.
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
  /** The run's pinned flow version, to know the step before claiming it; absent in older jobs. */
  flowVersionId?: string;
  /** Attempts the step used before this job, so that its backoff schedule continues rather than restarts. */
  attemptsBefore?: number;
}

/** A bundle job's data: the jobs its steps would have had on their own. */
export interface StepBundleData {
  steps: StepJobData[];
}

/** Time past a step's timeout for recording its outcome before another worker may take it over. */
const LEASE_MARGIN_MS = 30_000;

/** How long a claim of a step with this timeout lasts. */
export function stepLeaseMs(timeoutMs: number): number {
  return timeoutMs + LEASE_MARGIN_MS;
}

export interface StepJobSpec {
  name: string;
  data: StepJobData;
  opts: {
    jobId: string;
    attempts: number;
    backoff: { type: 'hookflow' };
    removeOnComplete: boolean;
    removeOnFail: boolean | { age: number };
    delay?: number;
  };
}

export interface StepBundleSpec {
  name: typeof BUNDLE_JOB_NAME;
  data: StepBundleData;
  opts: { jobId: string; attempts: 1; removeOnComplete: true; removeOnFail: { age: number } };
}

/**
 * The jobs for new runs' first steps: one job alone, or bundle jobs of up to MAX_BUNDLE_STEPS
 * (docs/architecture.md, The queue).
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
 * The job for one step. `attempts` is what is left of its budget (a re-enqueue gives no tries
 * back); completed jobs are removed so that a later retry can reuse the job id.
 */
export function stepJob(
  runId: string,
  stepId: string,
  step: {
    policy: StepJobPolicy;
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
      leaseMs: stepLeaseMs(step.timeoutMs),
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

/** A step's retry budget and schedule, as its compiled flow gives it. */
export interface StepJobPolicy {
  attempts: number;
  backoff: 'exponential' | 'fixed';
  delayMs: number;
  maxDelayMs: number;
}
