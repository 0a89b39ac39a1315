import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { HOOKFLOW_CONFIG, type HookflowConfig } from '@hookflow/platform';
import { QueueConnectionState } from '@hookflow/queue';
import { StepProcessor } from '../steps/step.processor';

/** How often a draining worker looks whether Redis is reachable while no step is in flight. */
const QUEUE_CHECK_MS = 250;

/** Drains the worker on stop, before Nest's later hooks close the database and queue connections. */
@Injectable()
export class GracefulShutdown implements OnModuleDestroy {
  private readonly logger = new Logger(GracefulShutdown.name);
  private started = false;
  /** The queue consumer closed the ordinary way (Redis answered). */
  private consumerClosed = false;

  constructor(
    private readonly steps: StepProcessor,
    private readonly queue: QueueConnectionState,
    @Inject(HOOKFLOW_CONFIG) private readonly config: HookflowConfig,
  ) {}

  /** True from the moment the worker starts to stop. */
  get draining(): boolean {
    return this.started;
  }

  /** Readiness answers 503 from now on; main.ts calls it on the signal, before Nest's hooks run. */
  begin(): void {
    this.started = true;
    this.steps.stopChains();
  }

  /**
   * Resolves once no step is in flight while Redis is unreachable: BullMQ's close would wait for
   * Redis for the whole grace, and every outcome is already in PostgreSQL. Never after an ordinary close.
   */
  async nothingLeftButTheQueue(): Promise<void> {
    for (;;) {
      await this.steps.whenIdle();
      if (this.consumerClosed) return new Promise<void>(() => undefined);
      // A job fetched just before may have claimed its step while the check ran: look again.
      if (this.queue.unreachable && this.steps.stepsInFlight === 0) {
        this.logger.warn(
          'draining: no step in flight and the queue (Redis) is unreachable; stopping without waiting for it',
        );
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, QUEUE_CHECK_MS).unref());
    }
  }

  async onModuleDestroy(): Promise<void> {
    this.begin();
    const worker = this.steps.worker;
    const graceMs = this.config.shutdownGraceMs;
    this.logger.log(
      `draining: no new steps; ${this.steps.stepsInFlight} in flight get up to ${graceMs} ms to finish`,
    );
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      worker.close().then(
        () => true,
        (err: Error) => {
          this.logger.warn(`closing the queue consumer failed: ${err.message}`);
          return true;
        },
      ),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), graceMs))),
    ]);
    clearTimeout(timer);
    this.consumerClosed = finished;
    if (finished) {
      this.logger.log('drained: no step in flight');
    } else {
      this.logger.warn(
        `${this.steps.stepsInFlight} step(s) still running after SHUTDOWN_GRACE_MS (${graceMs} ms); ` +
          'stopping without them: each is run again, same Idempotency-Key, once its claim lease lapses',
      );
    }
  }
}
