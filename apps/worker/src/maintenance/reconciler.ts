import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { HOOKFLOW_CONFIG, WorkerMetrics, type HookflowConfig } from '@hookflow/platform';
import { QueueConnectionState, StepQueue } from '@hookflow/queue';
import { StepTransitions, type StaleStep } from '@hookflow/store';
import type { StepError } from '@hookflow/flows';
import { CompiledFlowCache } from '../steps/compiled-flow-cache';
import { RunProgress } from '../runs/run-progress';

/** Re-enqueues of a step (since its run's last retry) before it is given up, so it cannot loop forever. */
export const MAX_REQUEUES = 5;

/** Re-enqueues unfinished steps without a live job; safe, as job ids are deterministic. */
@Injectable()
export class Reconciler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(Reconciler.name);
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;

  constructor(
    private readonly runs: StepTransitions,
    private readonly flows: CompiledFlowCache,
    private readonly progress: RunProgress,
    private readonly metrics: WorkerMetrics,
    private readonly queue: StepQueue,
    private readonly connection: QueueConnectionState,
    @Inject(HOOKFLOW_CONFIG) private readonly config: HookflowConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.reconcileOnce(), this.config.reconcileIntervalMs);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass; returns how many steps were re-enqueued. Overlapping calls share one pass. */
  reconcileOnce(): Promise<number> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  /**
   * Cutoff for stale steps. Steps handed over near the oldest waiting job or a running bundle may sit
   * in a bundle (no job under their own id), so they are left for a later pass.
   */
  private async staleBefore(): Promise<Date | undefined> {
    const handedOver = await this.queue.handedOverSince();
    if (!handedOver) return undefined;
    return new Date(Math.min(Date.now(), ...handedOver) - this.config.reconcileStaleMs);
  }

  private async pass(): Promise<number> {
    let requeued = 0;
    // With Redis down nothing can be asked or re-added; commands would only pile up until it is back.
    if (!this.connection.up) return 0;
    try {
      const before = await this.staleBefore();
      if (!before) return 0;
      const stale = await this.runs.findStaleSteps(before, 500);
      // Counts against MAX_REQUEUES: a job that ran and left the step unfinished, or the step's own
      // failure. A job the queue lost, or a queue that refused the add, is not the step's fault.
      const tried = new Set<StaleStep>();
      for (let i = 0; i < stale.length; i += 50) {
        const batch = stale.slice(i, i + 50);
        const jobs = await Promise.all(batch.map((s) => this.queue.jobOf(s)));
        for (const [j, step] of batch.entries()) {
          // A live job runs the step; a queue that did not answer is asked again next pass.
          if (jobs[j] === 'live' || jobs[j] === 'unknown') continue;
          // One bad step (a version that no longer compiles) must not stop the others' recovery.
          try {
            if (step.requeues >= MAX_REQUEUES) {
              await this.giveUp(step);
              continue;
            }
            // A finished job for an unfinished step (or none at all): the job was lost. Clear and re-add.
            if (jobs[j] === 'finished') {
              tried.add(step);
              // Still there, an add under its id would do nothing: tried again next pass.
              if (!(await this.queue.forget(step))) continue;
            }
            const flow = await this.flows.get(step.flowVersionId);
            // Not taken (the queue is down): tried again next pass, not counted against the step.
            if (!(await this.progress.enqueue(flow, step, [step.stepId], { attemptsDone: step.attempts })))
              continue;
            requeued++;
            this.metrics.reconcilerReenqueued.inc();
          } catch (err) {
            tried.add(step);
            this.logger.error({
              msg: `could not re-enqueue: ${(err as Error).message}`,
              runId: step.runId,
              step: step.stepId,
              flowVersionId: step.flowVersionId,
            });
          }
        }
      }
      await this.runs.touchEnqueued(stale.map((step) => ({ ...step, requeued: tried.has(step) })));
      if (requeued > 0) this.logger.warn(`re-enqueued ${requeued} step(s) that had no job in the queue`);
    } catch (err) {
      this.logger.error(`reconcile pass failed: ${(err as Error).message}`);
    }
    return requeued;
  }

  /** Fails the step `requeue_limit` and moves its run on; writes nothing if the run moved since. */
  private async giveUp(step: StaleStep): Promise<void> {
    const flow = await this.flows.get(step.flowVersionId).catch(() => undefined);
    const error: StepError = {
      code: 'requeue_limit',
      message: `re-enqueued ${step.requeues} times without an outcome being recorded; given up`,
      retryable: false,
    };
    const { failed, runStatus } = await this.progress.failUnclaimed(flow, step, error);
    if (!failed) return;
    this.logger.error({
      msg: `step failed: ${error.code}: ${error.message}`,
      runId: step.runId,
      step: step.stepId,
      flowVersionId: step.flowVersionId,
      code: error.code,
      ...(runStatus ? { status: runStatus } : {}),
    });
  }
}
