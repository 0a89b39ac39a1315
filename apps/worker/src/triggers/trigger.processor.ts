import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { fireSpecOf, tickAt, tickBody, tickMissed, timedTriggerOf, TRIGGER_METHODS } from '@hookflow/flows';
import { HOOKFLOW_CONFIG, WorkerMetrics, type HookflowConfig } from '@hookflow/platform';
import { connectionErrorLog, TRIGGER_QUEUE, type TriggerJobData } from '@hookflow/queue';
import { FlowRepository } from '@hookflow/store';
import type { Job } from 'bullmq';
import { Poller } from './poller';
import { TriggerRuns } from './trigger-runs';
import { TriggerSync } from './trigger-sync';

/** Ticks run side by side up to this many per worker: a slow poll must not hold the schedules back. */
const TRIGGER_CONCURRENCY = 8;

/** A tick of a schedule or a poll: the flow is read as it is now, so a disabled or deleted one fires nothing. */
@Processor(TRIGGER_QUEUE, { autorun: false, concurrency: TRIGGER_CONCURRENCY })
export class TriggerProcessor extends WorkerHost implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('TriggerProcessor');
  private readonly connectionErrors = connectionErrorLog('trigger queue consumer', (line) =>
    this.logger.warn(line),
  );

  constructor(
    private readonly flows: FlowRepository,
    private readonly runs: TriggerRuns,
    private readonly poller: Poller,
    private readonly sync: TriggerSync,
    private readonly metrics: WorkerMetrics,
    @Inject(HOOKFLOW_CONFIG) private readonly config: HookflowConfig,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    void this.worker.run();
  }

  /** Takes no new tick and lets the ones running store their runs before the queue and database close. */
  async onModuleDestroy(): Promise<void> {
    await this.worker.close();
  }

  @OnWorkerEvent('error')
  onWorkerError(err: Error): void {
    this.connectionErrors(err);
  }

  async process(job: Job<TriggerJobData>): Promise<void> {
    const firedAt = new Date();
    const flow = await this.flows.timedFlow(job.data.flowId);
    const trigger = flow?.enabled ? timedTriggerOf(flow.definition) : undefined;
    if (!flow || !trigger) {
      // The scheduler outlived its flow's schedule (a notice still on its way): drop it now.
      this.metrics.scheduleTicks.inc({ flow: flow?.slug ?? '', outcome: 'dropped' });
      void this.sync.sync();
      return;
    }
    // The tick's own time, the scheduler's slot however late the job is taken: when its delay ended.
    const spec = fireSpecOf(trigger);
    const scheduledAtMs = tickAt(spec, job.opts.prevMillis ?? job.timestamp + (job.opts.delay ?? 0));
    const tick = tickBody(scheduledAtMs, firedAt.getTime());
    if (trigger.type === 'poll') {
      await this.poller.poll(flow, trigger, tick);
      return;
    }
    if (!trigger.catchUp && tickMissed(spec, scheduledAtMs, firedAt.getTime())) {
      this.metrics.scheduleTicks.inc({ flow: flow.slug, outcome: 'missed' });
      this.logger.log({
        msg: 'tick missed while no worker ran; not replayed (catchUp is off)',
        flow: flow.slug,
        scheduledAt: tick.scheduledAt,
      });
      return;
    }
    const created = await this.runs.start(flow, {
      method: TRIGGER_METHODS.schedule,
      body: tick,
      dedupeKey: `schedule:${tick.scheduledAt}`,
      dedupeWindowMs: this.config.dedupeWindowMs,
    });
    this.metrics.scheduleTicks.inc({ flow: flow.slug, outcome: created.duplicate ? 'duplicate' : 'started' });
  }
}
