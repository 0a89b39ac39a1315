import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, OnApplicationBootstrap } from '@nestjs/common';
import { HOOKFLOW_CONFIG, STEP_QUEUE, type HookflowConfig, type StepJobData } from '@hookflow/store';
import { Job, UnrecoverableError } from 'bullmq';
import { stepBackoff } from './step-backoff';
import { RetryableStepError } from './step-errors';
import { StepExecutor } from './step-executor';

const DEFAULT_LEASE_MS = 60_000;

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
    const leaseMs = job.data.leaseMs ?? DEFAULT_LEASE_MS;
    const verdict = await this.executor.run(job.data.runId, job.data.stepId, isLast, leaseMs);
    if (verdict.kind === 'retry') throw new RetryableStepError(verdict.error);
    if (verdict.kind === 'failed')
      throw new UnrecoverableError(`${verdict.error.code}: ${verdict.error.message}`);
  }
}
