import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import type { FireSpec } from '@hookflow/flows';
import { within } from '@hookflow/platform';
import type { Queue } from 'bullmq';
import { connectionErrorLog } from '../connection-errors';
import { schedulerIdOf, TICK_JOB_NAME, TRIGGER_QUEUE, type TriggerJobData } from '../trigger-job';

/** A flow's ticks as they should be: when, and which flow. */
export interface WantedSchedule {
  flowId: string;
  spec: FireSpec;
}

/** Finished ticks kept for a look in the queue; the runs and poll events are the record. */
const KEEP_FINISHED = { count: 100 };
/** How long a sync waits on the queue for one call: Redis away must not hold the sync's lock for long. */
const QUEUE_CALL_MS = 5_000;

/**
 * The trigger queue's job schedulers (BullMQ makes one job per tick, and only one, however many
 * workers run). `sync` makes them what the flows say.
 */
@Injectable()
export class TriggerSchedules {
  private readonly logger = new Logger(TriggerSchedules.name);

  constructor(@InjectQueue(TRIGGER_QUEUE) private readonly queue: Queue<TriggerJobData>) {
    // From construction, as the step queue's: a Redis away at start is a JSON warning, not a stack on stderr.
    queue.on(
      'error',
      connectionErrorLog('trigger queue connection', (line) => this.logger.warn(line)),
    );
  }

  /**
   * Adds, changes and removes schedulers so that exactly `wanted` are there; one that fails is
   * logged and left for the next sync. Returns what changed.
   */
  async sync(wanted: WantedSchedule[]): Promise<{ upserted: number; removed: number; failed: number }> {
    const have = new Map<string, { pattern?: string; tz?: string; every?: number }>();
    for (let start = 0; ; start += 1000) {
      const page = await within(this.queue.getJobSchedulers(start, start + 999, true), QUEUE_CALL_MS);
      for (const s of page) have.set(s.key, s);
      if (page.length < 1000) break;
    }
    let upserted = 0;
    let removed = 0;
    let failed = 0;
    const attempt = async (id: string, call: () => Promise<unknown>): Promise<boolean> => {
      try {
        await within(call(), QUEUE_CALL_MS);
        return true;
      } catch (err) {
        failed++;
        this.logger.warn({
          msg: `could not change the trigger scheduler: ${(err as Error).message}`,
          scheduler: id,
        });
        return false;
      }
    };
    const wantedIds = new Set<string>();
    for (const { flowId, spec } of wanted) {
      const id = schedulerIdOf(flowId);
      wantedIds.add(id);
      const current = have.get(id);
      const repeat = 'everyMs' in spec ? { every: spec.everyMs } : { pattern: spec.pattern, tz: spec.tz };
      if (current && sameRepeat(current, repeat)) continue;
      // Ticks on multiples of `every` from the epoch, as the flow's API answer shows them, not from now.
      const startDate =
        'everyMs' in spec ? Math.floor(Date.now() / spec.everyMs) * spec.everyMs + spec.everyMs : undefined;
      const done = await attempt(id, () =>
        this.queue.upsertJobScheduler(id, startDate === undefined ? repeat : { ...repeat, startDate }, {
          name: TICK_JOB_NAME,
          data: { flowId },
          opts: { removeOnComplete: KEEP_FINISHED, removeOnFail: KEEP_FINISHED },
        }),
      );
      if (done) upserted++;
    }
    for (const id of have.keys()) {
      if (wantedIds.has(id)) continue;
      if (await attempt(id, () => this.queue.removeJobScheduler(id))) removed++;
    }
    if (upserted + removed > 0) this.logger.log({ msg: 'trigger schedules synced', upserted, removed });
    return { upserted, removed, failed };
  }
}

function sameRepeat(
  a: { pattern?: string; tz?: string; every?: number },
  b: { pattern?: string; tz?: string; every?: number },
): boolean {
  return (
    (a.pattern ?? null) === (b.pattern ?? null) &&
    (a.pattern === undefined || (a.tz ?? 'UTC') === (b.tz ?? 'UTC')) &&
    Number(a.every ?? 0) === Number(b.every ?? 0)
  );
}
