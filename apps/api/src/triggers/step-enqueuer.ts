import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import type { RetryPolicy } from '@hookflow/flows';
import { STEP_QUEUE, stepJob } from '@hookflow/store';
import type { Queue } from 'bullmq';

/** Hands a new run's first steps to the worker. */
@Injectable()
export class StepEnqueuer {
  private readonly logger = new Logger(StepEnqueuer.name);

  constructor(@InjectQueue(STEP_QUEUE) private readonly queue: Queue) {}

  /**
   * Never throws: the run is already committed, and a lost enqueue is picked up by the
   * worker's reconciler, so the sender still gets its 2xx.
   */
  async enqueueRoots(runId: string, roots: { id: string; policy: RetryPolicy }[]): Promise<void> {
    try {
      const jobs = roots.map((r) => stepJob(runId, r.id, r.policy));
      if (jobs.length === 1) await this.queue.add(jobs[0].name, jobs[0].data, jobs[0].opts);
      else await this.queue.addBulk(jobs);
    } catch (err) {
      this.logger.warn(
        `enqueue of run ${runId} failed (${(err as Error).message}); the reconciler will pick it up`,
      );
    }
  }

  async ping(): Promise<void> {
    await this.queue.getJobCounts('waiting');
  }
}
