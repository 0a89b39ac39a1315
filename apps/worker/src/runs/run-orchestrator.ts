import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import type { CompiledFlow } from '@hookflow/flows';
import { RunRepository, STEP_QUEUE, stepJobsFor, type AttemptRecord, type StepResult } from '@hookflow/store';
import type { Queue } from 'bullmq';

/**
 * Moves a run forward when one of its steps ends: records the result, skips what can no longer
 * run, finishes the run when nothing is left, and enqueues the steps that became ready.
 */
@Injectable()
export class RunOrchestrator {
  private readonly logger = new Logger(RunOrchestrator.name);

  constructor(
    private readonly runs: RunRepository,
    @InjectQueue(STEP_QUEUE) private readonly queue: Queue,
  ) {}

  async stepFinished(
    flow: CompiledFlow,
    flowVersionId: string,
    runId: string,
    stepId: string,
    result: StepResult,
    attempt: AttemptRecord,
  ): Promise<void> {
    const { recorded, ready, runStatus } = await this.runs.finishStep(
      runId,
      stepId,
      result,
      attempt,
      (statuses) => flow.graph.settle(statuses),
    );
    if (!recorded) {
      this.logger.warn(
        `run ${runId} step ${stepId}: attempt ${attempt.n} was taken over by a later claim; result dropped`,
      );
      return;
    }
    if (ready.length > 0) await this.enqueue(flow, flowVersionId, runId, ready);
    if (runStatus) this.logger.debug(`run ${runId} ${runStatus}`);
  }

  /** A lost enqueue here is not lost work: the steps are marked enqueued and the reconciler re-adds them. */
  async enqueue(
    flow: CompiledFlow,
    flowVersionId: string,
    runId: string,
    stepIds: string[],
    attemptsDone = 0,
  ): Promise<void> {
    const jobs = stepJobsFor(flow, flowVersionId, runId, stepIds, attemptsDone);
    try {
      await this.queue.addBulk(jobs);
    } catch (err) {
      this.logger.warn(`enqueue of ${stepIds.join(', ')} in run ${runId} failed: ${(err as Error).message}`);
    }
  }
}
