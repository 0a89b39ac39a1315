import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import type { CompiledFlow } from '@hookflow/flows';
import { addJobs, STEP_QUEUE, stepJobsFor } from '@hookflow/queue';
import {
  RunRepository,
  type AttemptRecord,
  type FinishedStep,
  type PickNext,
  type SeenSteps,
  type StepResult,
} from '@hookflow/store';
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
    seen?: SeenSteps,
    pickNext?: PickNext,
  ): Promise<FinishedStep['next']> {
    const { recorded, ready, runStatus, next } = await this.runs.finishStep(
      runId,
      stepId,
      result,
      attempt,
      (statuses) => flow.graph.settle(statuses),
      seen,
      pickNext,
    );
    if (!recorded) {
      this.logger.warn({
        msg: 'attempt was taken over by a later claim; result dropped',
        runId,
        flow: flow.definition.slug,
        step: stepId,
        attempt: attempt.n,
      });
      return;
    }
    // The step claimed by the same statement runs in this process: it gets no queue job.
    const queued = next ? ready.filter((id) => id !== next.stepId) : ready;
    if (queued.length > 0) await this.enqueue(flow, flowVersionId, runId, queued);
    if (runStatus)
      this.logger.debug({ msg: `run ${runStatus}`, runId, flow: flow.definition.slug, status: runStatus });
    return next;
  }

  /**
   * Gives a step that ran in process (no job of its own) a queue job for its next try, after
   * `delayMs`: a retry, a parked delay step's resume, or an attempt whose outcome could not be
   * recorded. `attemptsDone` counts against the step's budget and schedule.
   */
  later(
    flow: CompiledFlow,
    flowVersionId: string,
    runId: string,
    stepId: string,
    attemptsDone: number,
    delayMs: number,
  ): Promise<void> {
    return this.enqueue(flow, flowVersionId, runId, [stepId], attemptsDone, delayMs);
  }

  /** A lost enqueue here is not lost work: the steps are marked enqueued and the reconciler re-adds them. */
  async enqueue(
    flow: CompiledFlow,
    flowVersionId: string,
    runId: string,
    stepIds: string[],
    attemptsDone = 0,
    delayMs = 0,
  ): Promise<void> {
    const delay = Math.max(0, Math.round(delayMs));
    const jobs = stepJobsFor(flow, flowVersionId, runId, stepIds, attemptsDone).map((job) =>
      delay > 0 ? { ...job, opts: { ...job.opts, delay } } : job,
    );
    try {
      await addJobs(this.queue, jobs);
    } catch (err) {
      this.logger.warn({
        msg: `enqueue failed: ${(err as Error).message}`,
        runId,
        flow: flow.definition.slug,
        ...(stepIds.length === 1 ? { step: stepIds[0] } : { steps: stepIds }),
      });
    }
  }
}
