import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { HOOKFLOW_CONFIG, type HookflowConfig } from '@hookflow/platform';
import {
  BUNDLE_JOB_NAME,
  connectionErrorLog,
  STEP_QUEUE,
  type StepBundleData,
  type StepJobData,
} from '@hookflow/queue';
import { DelayedError, Job, UnrecoverableError } from 'bullmq';
import { BundledSteps } from './bundled-steps';
import { DestinationGate } from './destination-gate';
import { InlineChain, type JobStepOptions } from './inline-chain';
import { stepBackoff } from './step-backoff';
import { RetryableStepError } from './step-errors';

const DEFAULT_LEASE_MS = 60_000;

/** BullMQ's stalled-job check every 5 s instead of 30 s: a dead worker's steps come back sooner, cheaply. */
const STALLED_CHECK_MS = 5_000;

@Processor(STEP_QUEUE, {
  autorun: false,
  stalledInterval: STALLED_CHECK_MS,
  settings: { backoffStrategy: stepBackoff },
})
export class StepProcessor extends WorkerHost implements OnApplicationBootstrap {
  private readonly logger = new Logger('StepProcessor');
  private readonly connectionErrors = connectionErrorLog('queue consumer', (line) => this.logger.warn(line));
  /** Steps being run or recorded now (`stepsInFlight`), and who waits for there to be none. */
  private running = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly chain: InlineChain,
    private readonly bundles: BundledSteps,
    private readonly gate: DestinationGate,
    @Inject(HOOKFLOW_CONFIG) private readonly config: HookflowConfig,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    this.worker.concurrency = this.config.workerConcurrency;
    void this.worker.run();
  }

  /** The consumer's errors (Redis unreachable, a reconnect that failed) as JSON warnings, one per 10 s. */
  @OnWorkerEvent('error')
  onWorkerError(err: Error): void {
    this.connectionErrors(err);
  }

  async process(job: Job<StepJobData | StepBundleData>, token?: string): Promise<void> {
    if (job.name === BUNDLE_JOB_NAME) {
      // New runs' first steps, side by side; each gets a job of its own if it needs another try.
      await this.tracked(this.bundles.run((job.data as StepBundleData).steps, isFresh(job)));
      return;
    }
    return this.processStep(job as Job<StepJobData>, token);
  }

  private async processStep(job: Job<StepJobData>, token?: string): Promise<void> {
    // A destination at its cap: back to the queue before the claim, so no attempt is used and no worker waits.
    const admission = await this.gate.admit(job.data.runId, job.data.stepId, job.data.flowVersionId);
    if (!admission.go) return this.comeBackAt(job, token, Date.now() + admission.retryInMs);
    const isLast = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    const leaseMs = job.data.leaseMs ?? DEFAULT_LEASE_MS;
    let verdict;
    try {
      // The slot is given back as soon as this job's own step is over, before any step it runs in process.
      verdict = await this.tracked(
        this.chain.runJob(job.data.runId, job.data.stepId, {
          isLastAttempt: isLast,
          leaseMs,
          ownStepDone: admission.release,
          fresh: freshStep(job, job.data),
        }),
      );
    } finally {
      admission.release?.();
    }
    if (verdict.kind === 'park') return this.comeBackAt(job, token, verdict.untilMs);
    if (verdict.kind === 'retry') throw new RetryableStepError(verdict.error);
    if (verdict.kind === 'failed')
      throw new UnrecoverableError(`${verdict.error.code}: ${verdict.error.message}`);
  }

  /** Graceful shutdown: the jobs in flight finish their own step but start no more in process. */
  stopChains(): void {
    this.chain.stopChains();
  }

  /** Steps being run or recorded; queue bookkeeping waiting for Redis is not (outcomes are stored). */
  get stepsInFlight(): number {
    return this.running;
  }

  /** Resolves when no step is in flight (at once if none is). */
  whenIdle(): Promise<void> {
    if (this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private tracked<T>(work: Promise<T>): Promise<T> {
    this.running++;
    return work.finally(() => {
      if (--this.running === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    });
  }

  /** Parks the job in the delayed set (not counted as an attempt) and frees this worker slot. */
  private async comeBackAt(job: Job<StepJobData>, token: string | undefined, atMs: number): Promise<never> {
    await job.moveToDelayed(atMs, token);
    throw new DelayedError();
  }
}

/** The job's first try, never stalled. */
function isFresh(job: Job): boolean {
  return job.attemptsMade === 0 && !job.stalledCounter;
}

/** A fresh job's never-tried step may run from a read if side-effect free (its end's write claims it). */
function freshStep(job: Job, step: StepJobData): JobStepOptions['fresh'] {
  return isFresh(job) && !step.attemptsBefore && step.flowVersionId
    ? { flowVersionId: step.flowVersionId }
    : undefined;
}
