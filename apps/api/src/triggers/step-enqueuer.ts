import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import type { RetryPolicy } from '@hookflow/flows';
import { Coalescer, within } from '@hookflow/platform';
import { addJobs, bundleJobs, STEP_QUEUE, stepJob, type StepJobSpec } from '@hookflow/queue';
import type { Queue } from 'bullmq';

/** How long a sender waits on the queue before it gets its answer anyway. */
const ENQUEUE_TIMEOUT_MS = 2_000;

/** Hands a new run's first steps to the worker. */
@Injectable()
export class StepEnqueuer {
  private readonly logger = new Logger(StepEnqueuer.name);
  /**
   * Jobs of concurrent webhooks go to the queue together, in bundle jobs: under load one round
   * trip and one job for many webhooks.
   */
  private readonly adds = new Coalescer<StepJobSpec[], void>(
    async (batches) => {
      await addJobs(this.queue, bundleJobs(batches.flat()));
      return batches.map(() => undefined);
    },
    { maxBatch: 100, maxInFlight: 2, sameTurn: true },
  );

  constructor(@InjectQueue(STEP_QUEUE) private readonly queue: Queue) {}

  /**
   * Never throws and never waits long: the run is already committed, and a lost or slow
   * enqueue (the queue is down) is picked up by the worker's reconciler, so the sender still
   * gets its 2xx promptly instead of retrying and creating duplicate runs.
   */
  async enqueueRoots(
    runId: string,
    flowVersionId: string,
    roots: { id: string; policy: RetryPolicy; timeoutMs: number }[],
  ): Promise<void> {
    const jobs = roots.map((r) => stepJob(runId, r.id, { ...r, flowVersionId }));
    try {
      await within(this.adds.submit(jobs), ENQUEUE_TIMEOUT_MS);
    } catch (err) {
      this.logger.warn({
        msg: `enqueue failed (${(err as Error).message}); the reconciler will pick it up`,
        runId,
      });
    }
  }

  async ping(): Promise<void> {
    await this.queue.getJobCounts('waiting');
  }
}
