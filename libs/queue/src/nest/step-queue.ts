import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import { Coalescer, within } from '@hookflow/platform';
import type { RootStep } from '@hookflow/flows';
import type { Queue } from 'bullmq';
import {
  BUNDLE_JOB_NAME,
  bundleJobs,
  STEP_QUEUE,
  stepJob,
  stepJobId,
  type StepBundleSpec,
  type StepJobPolicy,
  type StepJobSpec,
} from '../step-job';

/** How long any caller waits on the queue before going on without it. */
const ENQUEUE_TIMEOUT_MS = 2_000;
/** How often a job still finishing (active) is asked again whether it can be removed. */
const ACTIVE_POLL_MS = 50;
const LIVE_JOB_STATES = new Set(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children']);

/** A step handed to the queue: which one, its retry schedule and timeout, and when to try it. */
export interface QueuedStep {
  runId: string;
  stepId: string;
  flowVersionId: string;
  policy: StepJobPolicy;
  timeoutMs: number;
  /** Attempts already used, which count against the step's budget and schedule. */
  attemptsDone?: number;
  /** Not before this many milliseconds from now. */
  delayMs?: number;
}

/** A new run's first steps, as its step plan gives them (`planSteps`, `compileTrigger`). */
export function queuedRoots(
  run: { runId: string; flowVersionId: string },
  roots: readonly RootStep[],
): QueuedStep[] {
  return roots.map(({ id, policy, timeoutMs }) => ({ ...run, stepId: id, policy, timeoutMs }));
}

/** Some steps of a run, with each step's retry schedule and timeout from its compiled flow. */
export function queuedSteps(
  flow: { retryPolicy(stepId: string): StepJobPolicy; timeoutMs(stepId: string): number },
  run: { runId: string; flowVersionId: string },
  stepIds: string[],
  more: { attemptsDone?: number; delayMs?: number } = {},
): QueuedStep[] {
  return stepIds.map((stepId) => ({
    runId: run.runId,
    flowVersionId: run.flowVersionId,
    stepId,
    policy: flow.retryPolicy(stepId),
    timeoutMs: flow.timeoutMs(stepId),
    ...more,
  }));
}

/**
 * The one producer of step jobs. Never throws nor waits past ENQUEUE_TIMEOUT_MS: every step is
 * already marked enqueued in PostgreSQL, and the reconciler re-adds what never arrived.
 */
@Injectable()
export class StepQueue {
  private readonly logger = new Logger(StepQueue.name);
  /** New runs' first steps from concurrent webhooks: one round trip and one bundle job for many. */
  private readonly starts = new Coalescer<StepJobSpec[], void>(
    async (batches) => {
      await this.addJobs(bundleJobs(batches.flat()));
      return batches.map(() => undefined);
    },
    { maxBatch: 100, maxInFlight: 2, sameTurn: true },
  );

  constructor(@InjectQueue(STEP_QUEUE) private readonly queue: Queue) {}

  /** New runs' first steps, carried with other runs' in bundle jobs. */
  start(steps: QueuedStep[]): Promise<boolean> {
    return this.bounded('enqueue of new runs', steps, () => this.starts.submit(steps.map(toJob)));
  }

  /** Steps that get a job of their own: made ready by a step's end, retried, resumed or reconciled. */
  add(steps: QueuedStep[]): Promise<boolean> {
    return this.bounded('enqueue', steps, () => this.addJobs(steps.map(toJob)));
  }

  /** Reopened steps; a kept failed job is removed first, as an add under its id would be a silent no-op. */
  replace(steps: QueuedStep[]): Promise<boolean> {
    const deadline = Date.now() + ENQUEUE_TIMEOUT_MS;
    return this.bounded('enqueue of reopened steps', steps, () =>
      Promise.all(
        steps.map(async (step) => {
          const job = toJob(step);
          // Added even when the old job stays: the add is then a no-op, and the reconciler
          // replaces the old job once it has finished.
          await this.removeWhenIdle(job.opts.jobId, deadline).catch(() => undefined);
          await this.queue.add(job.name, job.data, job.opts);
        }),
      ),
    );
  }

  /** Removes the jobs of cancelled steps, so that no delayed retry fires; an active one finds its step over. */
  discard(runId: string, stepIds: string[]): Promise<boolean> {
    const steps = stepIds.map((stepId) => ({ runId, stepId }));
    return this.bounded(
      'removal of cancelled jobs',
      steps,
      () => Promise.all(stepIds.map((stepId) => this.queue.remove(stepJobId(runId, stepId)))),
      'a job left behind finds its step cancelled and does nothing',
    );
  }

  /** Moves the delayed jobs of steps held for a destination that came back to the waiting list, to run now. */
  promote(steps: { runId: string; stepId: string }[]): Promise<boolean> {
    return this.bounded(
      'promotion of held jobs',
      steps,
      () =>
        Promise.all(
          steps.map(async (step) => {
            const job = await this.queue.getJob(stepJobId(step.runId, step.stepId));
            // Not delayed (running, or gone): nothing to bring forward.
            if (job && (await job.isDelayed())) await job.promote().catch(() => undefined);
          }),
        ),
      'they run when their delay ends',
    );
  }

  /** Whether a step has a job: 'live', 'finished' (ran and kept), 'none', or 'unknown' (no answer). */
  async jobOf(step: { runId: string; stepId: string }): Promise<'live' | 'finished' | 'none' | 'unknown'> {
    try {
      const state = await within(
        this.queue.getJobState(stepJobId(step.runId, step.stepId)),
        ENQUEUE_TIMEOUT_MS,
      );
      if (LIVE_JOB_STATES.has(state)) return 'live';
      return state === 'unknown' ? 'none' : 'finished';
    } catch {
      return 'unknown';
    }
  }

  /** Removes a step's finished job, so that a new one can be added under its id. False: not confirmed. */
  async forget(step: { runId: string; stepId: string }): Promise<boolean> {
    const removal = this.queue.remove(stepJobId(step.runId, step.stepId));
    return within(removal, ENQUEUE_TIMEOUT_MS).then(
      () => true,
      () => false,
    );
  }

  /**
   * When the oldest waiting job and the bundles being run were added (epoch ms): steps handed over
   * shortly before may be in a bundle. Undefined when the queue did not answer.
   */
  async handedOverSince(): Promise<number[] | undefined> {
    try {
      const [waiting, active] = await within(
        Promise.all([
          this.queue.getJobs(['waiting', 'prioritized'], 0, 0, true),
          this.queue.getJobs(['active'], 0, -1),
        ]),
        ENQUEUE_TIMEOUT_MS,
      );
      return [...waiting, ...active.filter((job) => job.name === BUNDLE_JOB_NAME)]
        .map((job) => job.timestamp)
        .filter((t) => Number.isFinite(t));
    } catch {
      return undefined;
    }
  }

  /** One round trip to the queue, for readiness. */
  async ping(): Promise<void> {
    await this.queue.getJobCounts('waiting');
  }

  /** One call for all: `add` for one job (cheaper than a bulk of one), `addBulk` for more. */
  private async addJobs(jobs: (StepJobSpec | StepBundleSpec)[]): Promise<void> {
    if (jobs.length === 0) return;
    if (jobs.length === 1) await this.queue.add(jobs[0].name, jobs[0].data, jobs[0].opts);
    else await this.queue.addBulk(jobs);
  }

  private async removeWhenIdle(jobId: string, deadline: number): Promise<void> {
    for (;;) {
      if ((await this.queue.remove(jobId)) === 1) return;
      const state = await this.queue.getJobState(jobId);
      if (state === 'unknown') return;
      if (Date.now() + ACTIVE_POLL_MS > deadline) throw new Error(`job ${jobId} is still ${state}`);
      await new Promise((resolve) => setTimeout(resolve, ACTIVE_POLL_MS));
    }
  }

  private async bounded(
    what: string,
    steps: { runId: string; stepId: string }[],
    work: () => Promise<unknown>,
    fallback = 'the reconciler will see to them',
  ): Promise<boolean> {
    if (steps.length === 0) return true;
    try {
      await within(work(), ENQUEUE_TIMEOUT_MS);
      return true;
    } catch (err) {
      const runs = new Set(steps.map((s) => s.runId));
      const stepIds = steps.map((s) => s.stepId);
      this.logger.warn({
        msg: `${what} not confirmed (${(err as Error).message}); ${fallback}`,
        ...(runs.size === 1 ? { runId: steps[0].runId } : { runCount: runs.size }),
        ...(stepIds.length === 1 ? { step: stepIds[0] } : { steps: stepIds.slice(0, 20) }),
      });
      return false;
    }
  }
}

function toJob(step: QueuedStep): StepJobSpec {
  const job = stepJob(step.runId, step.stepId, step, step.attemptsDone ?? 0);
  const delay = Math.max(0, Math.round(step.delayMs ?? 0));
  return delay > 0 ? { ...job, opts: { ...job.opts, delay } } : job;
}
