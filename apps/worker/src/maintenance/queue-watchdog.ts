import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { HOOKFLOW_CONFIG, WorkerMetrics, within, type HookflowConfig } from '@hookflow/platform';
import { STEP_QUEUE } from '@hookflow/queue';
import type { Queue, Worker } from 'bullmq';
import { StepProcessor } from '../steps/step.processor';
import { activeJobCount, cloneWorker, replaceWorker } from './bullmq-internals';
import { GracefulShutdown } from './graceful-shutdown';

/** A queue that does not answer a count within this is down, which a new consumer would not fix. */
const COUNT_TIMEOUT_MS = 2_000;

/** One look at the consumer and its queue. */
export interface WatchdogReading {
  now: number;
  /** Jobs ready to be taken (waiting and prioritized). */
  waiting: number;
  /** Jobs this consumer is running. */
  active: number;
  concurrency: number;
}

/**
 * Decides when a queue consumer is stuck: jobs have been waiting, it has had free slots, and it
 * has started none, all for `stallMs`. A consumer whose slots are all busy (slow receivers) is
 * not stuck, nor is one that simply had nothing to do.
 */
export class StallDetector {
  private lastStartAt: number;
  private waitingSince: number | undefined;

  constructor(
    private readonly stallMs: number,
    now: number,
  ) {
    this.lastStartAt = now;
  }

  jobStarted(now: number): void {
    this.lastStartAt = now;
  }

  /** Whether the consumer counts as stuck after this reading. */
  observe({ now, waiting, active, concurrency }: WatchdogReading): boolean {
    if (waiting === 0 || active >= concurrency) {
      this.waitingSince = undefined;
      return false;
    }
    this.waitingSince ??= now;
    return now - Math.max(this.waitingSince, this.lastStartAt) >= this.stallMs;
  }

  /** After a replacement: the new consumer gets its own `stallMs`. */
  reset(now: number): void {
    this.lastStartAt = now;
    this.waitingSince = undefined;
  }
}

/**
 * A BullMQ worker can stop receiving jobs after a Redis restart (its blocking connection never
 * comes back to life) while everything else looks healthy. Every few seconds this looks for the
 * signs (see StallDetector) and, after WORKER_WATCHDOG_MS of them, replaces the consumer with a
 * new one on fresh connections; the old one finishes what it runs in the background. Logged and
 * counted in `hookflow_worker_recreated_total`.
 */
@Injectable()
export class QueueWatchdog implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(QueueWatchdog.name);
  private readonly detector: StallDetector;
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<boolean> | undefined;

  constructor(
    private readonly steps: StepProcessor,
    @InjectQueue(STEP_QUEUE) private readonly queue: Queue,
    private readonly shutdown: GracefulShutdown,
    private readonly metrics: WorkerMetrics,
    @Inject(HOOKFLOW_CONFIG) private readonly config: HookflowConfig,
  ) {
    this.detector = new StallDetector(config.workerWatchdogMs, Date.now());
  }

  onApplicationBootstrap(): void {
    this.follow(this.steps.worker);
    const everyMs = Math.max(250, Math.min(5_000, Math.floor(this.config.workerWatchdogMs / 4)));
    this.timer = setInterval(() => void this.check(), everyMs);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** One look; true when the consumer was replaced. Overlapping calls share one look. */
  check(): Promise<boolean> {
    this.checking ??= this.look().finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async look(): Promise<boolean> {
    if (this.shutdown.draining) return false;
    const worker = this.steps.worker;
    const waiting = await this.readyJobs();
    if (waiting === undefined || this.shutdown.draining || worker !== this.steps.worker) return false;
    const reading = {
      now: Date.now(),
      waiting,
      active: activeJobCount(worker),
      concurrency: worker.concurrency,
    };
    if (!this.detector.observe(reading)) return false;
    this.replace(worker, reading);
    return true;
  }

  private async readyJobs(): Promise<number | undefined> {
    try {
      const counts = await within(this.queue.getJobCounts('waiting', 'prioritized'), COUNT_TIMEOUT_MS);
      return (counts.waiting ?? 0) + (counts.prioritized ?? 0);
    } catch {
      return undefined;
    }
  }

  private replace(old: Worker, reading: WatchdogReading): void {
    const next = cloneWorker(old);
    replaceWorker(this.steps, next);
    this.detector.reset(reading.now);
    this.follow(next);
    next.on('error', (err) => this.steps.onWorkerError(err));
    void next
      .run()
      .catch((err: Error) => this.logger.error(`the new queue consumer stopped: ${err.message}`));
    // It had free slots, not necessarily none busy: what it still runs finishes in the background.
    void old.close().catch(() => undefined);
    this.metrics.workerRecreated.inc();
    this.logger.warn(
      `the queue consumer started no step for ${this.config.workerWatchdogMs} ms while ${reading.waiting} ` +
        `waited and ${reading.concurrency - reading.active} of its ${reading.concurrency} slots were free; ` +
        'replaced it with a new one (BullMQ workers can stop receiving jobs after a Redis restart)',
    );
  }

  private follow(worker: Worker): void {
    worker.on('active', () => this.detector.jobStarted(Date.now()));
  }
}
