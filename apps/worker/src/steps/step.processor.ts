import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, OnApplicationBootstrap } from '@nestjs/common';
import { backoffDelayMs } from '@hookflow/flows';
import { HOOKFLOW_CONFIG, STEP_QUEUE, type HookflowConfig, type StepJobData } from '@hookflow/store';
import { Job, UnrecoverableError, type MinimalJob } from 'bullmq';
import { RetryableStepError } from './step-errors';
import { StepExecutor } from './step-executor';

/** The step's own backoff, read from the job; a receiver's Retry-After wins, capped at maxDelay. */
export function stepBackoff(attemptsMade: number, _type?: string, err?: Error, job?: MinimalJob): number {
  const data = job?.data as StepJobData | undefined;
  if (!data) return 1000;
  const policy = {
    attempts: 0,
    backoff: data.backoff.kind,
    delayMs: data.backoff.delayMs,
    maxDelayMs: data.backoff.maxDelayMs,
  };
  return Math.round(
    backoffDelayMs(policy, attemptsMade, (err as RetryableStepError | undefined)?.retryAfterMs),
  );
}

@Processor(STEP_QUEUE, { autorun: false, settings: { backoffStrategy: stepBackoff } })
export class StepProcessor extends WorkerHost implements OnApplicationBootstrap {
  constructor(
    private readonly executor: StepExecutor,
    @Inject(HOOKFLOW_CONFIG) private readonly config: HookflowConfig,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    this.worker.concurrency = this.config.workerConcurrency;
    void this.worker.run();
  }

  async process(job: Job<StepJobData>): Promise<void> {
    const isLast = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    const verdict = await this.executor.run(job.data.runId, job.data.stepId, isLast);
    if (verdict.kind === 'retry') throw new RetryableStepError(verdict.error);
    if (verdict.kind === 'failed')
      throw new UnrecoverableError(`${verdict.error.code}: ${verdict.error.message}`);
  }
}
