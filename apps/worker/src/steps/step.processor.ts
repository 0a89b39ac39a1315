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

/**
 * Steps of a worker that died are found by BullMQ's stalled-job check once their lock (30 s) has
 * lapsed; checking every 5 s rather than every 30 s brings them back 25 s sooner, for one cheap
 * script run per 5 s per queue (the check is shared by all workers).
 */
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

  /**
   * Steps this process is running or recording now: from the claim to the recorded outcome and
   * the enqueue of what comes next. A job whose step is over but whose queue bookkeeping
   * (completing it, parking it) still waits for Redis is not counted: if that never happens, the
   * job's lock lapses and the step, already recorded, is not run again.
   */
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

/**
 * A step of a fresh job, never tried before, may run a step without side effects from a read,
 * claimed only by the write that records its end.
 */
function freshStep(job: Job, step: StepJobData): JobStepOptions['fresh'] {
  return isFresh(job) && !step.attemptsBefore && step.flowVersionId
    ? { flowVersionId: step.flowVersionId }
    : undefined;
}
