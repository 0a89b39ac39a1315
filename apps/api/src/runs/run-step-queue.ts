import { Logger } from '@nestjs/common';
import { within } from '@hookflow/platform';
import { type StepJobSpec } from '@hookflow/queue';
import type { Queue } from 'bullmq';

/** How long a run operation waits on the queue before it answers anyway. */
const ENQUEUE_TIMEOUT_MS = 2_000;
/** How often a job that is still finishing (active) is asked again whether it can be removed. */
const ACTIVE_POLL_MS = 50;
const RECONCILED = 'the reconciler will enqueue it';

/**
 * The queue side of run operations. Every step handed over here is already marked enqueued in
 * PostgreSQL, so nothing waits on the queue for long and nothing throws: what is lost or slow
 * (the queue is down) is re-enqueued by the worker's reconciler.
 */
export class RunStepQueue {
  private readonly logger = new Logger(RunStepQueue.name);

  constructor(private readonly queue: Queue) {}

  /** Adds jobs for steps that never had one (a replay's roots). False when the queue did not answer in time. */
  async add(what: string, jobs: StepJobSpec[]): Promise<boolean> {
    if (jobs.length === 0) return true;
    return this.bounded(what, () => this.queue.addBulk(jobs), RECONCILED);
  }

  /**
   * Adds jobs for reopened steps. Job ids are per run and step, and a failed job is kept for a
   * day, so an old job under the same id is removed first: otherwise the add is a silent no-op.
   * A job still active (its failure not yet booked by BullMQ) is waited for, within the bound.
   * False when the queue did not answer in time.
   */
  async replace(what: string, jobs: StepJobSpec[]): Promise<boolean> {
    if (jobs.length === 0) return true;
    const deadline = Date.now() + ENQUEUE_TIMEOUT_MS;
    return this.bounded(
      what,
      () =>
        Promise.all(
          jobs.map(async (job) => {
            // Added even when the old job could not be removed: the add is then a no-op, and the
            // reconciler replaces the old job once it has finished.
            await this.removeWhenIdle(job.opts.jobId, deadline).catch(() => undefined);
            await this.queue.add(job.name, job.data, job.opts);
          }),
        ),
      RECONCILED,
    );
  }

  /**
   * Removes the jobs of cancelled steps so that no delayed retry fires. A job that is active
   * cannot be removed; its claim is refused, the run being over.
   */
  async discard(what: string, jobIds: string[]): Promise<boolean> {
    if (jobIds.length === 0) return true;
    return this.bounded(
      what,
      () => Promise.all(jobIds.map((id) => this.queue.remove(id))),
      'a job left behind finds its step cancelled and does nothing',
    );
  }

  private async removeWhenIdle(jobId: string, deadline: number): Promise<void> {
    for (;;) {
      if ((await this.queue.remove(jobId)) === 1) return;
      const state = await this.queue.getJobState(jobId);
      if (state === 'unknown') return;
      if (Date.now() + ACTIVE_POLL_MS > deadline) {
        throw new Error(`job ${jobId} is still ${state}`);
      }
      await new Promise((resolve) => setTimeout(resolve, ACTIVE_POLL_MS));
    }
  }

  private async bounded(what: string, work: () => Promise<unknown>, fallback: string): Promise<boolean> {
    try {
      await within(work(), ENQUEUE_TIMEOUT_MS);
      return true;
    } catch (err) {
      this.logger.warn(`${what} failed (${(err as Error).message}); ${fallback}`);
      return false;
    }
  }
}
