import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { fireSpecOf, timedTriggerOf } from '@hookflow/flows';
import { HOOKFLOW_CONFIG, type HookflowConfig } from '@hookflow/platform';
import { TriggerSchedules } from '@hookflow/queue';
import { FlowChangeListener, FlowRepository } from '@hookflow/store';
import { DataSource } from 'typeorm';

/** A sync also runs this often, for a change whose notice was lost or a queue flushed. */
const RESYNC_MS = 60_000;

/**
 * Keeps the trigger queue's job schedulers as the flows say: at start, at every flow change any
 * replica announces, and every minute. One process at a time (an advisory lock).
 */
@Injectable()
export class TriggerSync implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(TriggerSync.name);
  private readonly changes: FlowChangeListener;
  private timer?: NodeJS.Timeout;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;

  constructor(
    private readonly flows: FlowRepository,
    private readonly schedules: TriggerSchedules,
    private readonly ds: DataSource,
    @Inject(HOOKFLOW_CONFIG) config: HookflowConfig,
  ) {
    this.changes = new FlowChangeListener(
      { url: config.databaseUrl, schema: config.databaseSchema },
      {
        changed: () => void this.sync(),
        lost: (reason) =>
          this.logger.warn(`flow change listener lost (${reason}); schedules sync every minute`),
        back: () => void this.sync(),
      },
    );
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.changes.start();
    await this.sync();
    this.timer = setInterval(() => void this.sync(), RESYNC_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.changes.close();
    await this.running;
  }

  /** Runs a sync, or one more after the one running (a change may have come after its read). */
  sync(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          await this.syncOnce();
        } catch (err) {
          this.logger.warn(`could not sync trigger schedules: ${(err as Error).message}`);
        }
      } while (this.again && !this.stopped);
    })().finally(() => (this.running = null));
    return this.running;
  }

  private async syncOnce(): Promise<void> {
    // Under the lock, two workers cannot write what they read at different moments in the wrong order.
    await this.ds.transaction(async (m) => {
      await m.query(`SELECT pg_advisory_xact_lock(hashtext('hookflow_trigger_sync_' || current_schema()))`);
      const flows = await this.flows.timedFlows();
      await this.schedules.sync(
        flows.flatMap((flow) => {
          const trigger = timedTriggerOf(flow.definition);
          return trigger ? [{ flowId: flow.flowId, spec: fireSpecOf(trigger) }] : [];
        }),
      );
    });
  }
}
