import { CronExpressionParser } from 'cron-parser';
import { createHash } from 'node:crypto';
import {
  TRIGGER_METHODS,
  type FlowDefinition,
  type PollTriggerDef,
  type ScheduleTriggerDef,
} from '../model/flow-definition';
import { parseDuration } from '../retry/duration';
import { DEFAULT_POLL_ATTEMPTS } from '../retry/retry-policy';

/** When a schedule or a poll fires: a cron pattern read in a time zone, or an interval from the epoch. */
export type FireSpec = { pattern: string; tz: string } | { everyMs: number };

/** The longest a tick may come late and still fire without `catchUp`: half its interval, at most this. */
export const MAX_TICK_GRACE_MS = 3_600_000;
/** The least a tick may come late and still fire: ticks of short intervals wait behind others too. */
export const MIN_TICK_GRACE_MS = 5_000;
/** A cron expression must fire within this of any moment (cheap to look ahead, and no typo that waits years). */
const MAX_CRON_GAP_MS = 366 * 86_400_000;
/** A poll's request, as the one step of the flow it runs in. */
export const POLL_REQUEST_STEP = 'request';

/** A trigger that fires on its own; none for a webhook. */
export function timedTriggerOf(
  definition: Pick<FlowDefinition, 'trigger'>,
): ScheduleTriggerDef | PollTriggerDef | undefined {
  const { trigger } = definition;
  return trigger.type === 'schedule' || trigger.type === 'poll' ? trigger : undefined;
}

/** What a tick's run gets as its trigger body: the slot it was due at, and when it fired. */
export function tickBody(scheduledAtMs: number, firedAtMs: number): { scheduledAt: string; firedAt: string } {
  return { scheduledAt: new Date(scheduledAtMs).toISOString(), firedAt: new Date(firedAtMs).toISOString() };
}

/** The method a run started without a request shows (`trigger.method`); undefined for a webhook. */
export function timedMethodOf(definition: Pick<FlowDefinition, 'trigger'>): string | undefined {
  const type = definition.trigger.type;
  return type === 'webhook' ? undefined : TRIGGER_METHODS[type];
}

export function fireSpecOf(trigger: ScheduleTriggerDef | PollTriggerDef): FireSpec {
  if (trigger.type === 'schedule' && trigger.cron !== undefined)
    return { pattern: trigger.cron, tz: trigger.timezone ?? 'UTC' };
  return { everyMs: parseDuration(trigger.every as string | number) };
}

/** The next `count` fire times strictly after `afterMs`, as BullMQ's job schedulers compute them. */
export function nextFireTimes(spec: FireSpec, afterMs: number, count: number): number[] {
  const times: number[] = [];
  if ('everyMs' in spec) {
    const first = Math.floor(afterMs / spec.everyMs) * spec.everyMs + spec.everyMs;
    for (let i = 0; i < count; i++) times.push(first + i * spec.everyMs);
    return times;
  }
  const cron = CronExpressionParser.parse(spec.pattern, { currentDate: new Date(afterMs), tz: spec.tz });
  for (let i = 0; i < count && cron.hasNext(); i++) times.push(cron.next().getTime());
  return times;
}

/**
 * The fire time a queue job stands for, from the time it was due as the queue reports it (a few
 * milliseconds off on some backends): ticks are at least a second apart, so the nearest one.
 */
export function tickAt(spec: FireSpec, dueMs: number): number {
  return nextFireTimes(spec, dueMs - 500, 1)[0] ?? dueMs;
}

/** Whether a tick that fires at `nowMs` was missed (its time long past), not merely late. */
export function tickMissed(spec: FireSpec, scheduledAtMs: number, nowMs: number): boolean {
  const [next] = nextFireTimes(spec, scheduledAtMs, 1);
  const intervalMs = next === undefined ? 2 * MAX_TICK_GRACE_MS : next - scheduledAtMs;
  const graceMs = Math.max(MIN_TICK_GRACE_MS, Math.min(intervalMs / 2, MAX_TICK_GRACE_MS));
  return nowMs - scheduledAtMs > graceMs;
}

/** Why a cron expression or its time zone cannot be used; undefined when both can. */
export function cronIssue(
  pattern: string,
  timezone: string | undefined,
  nowMs = Date.now(),
): { field: 'cron' | 'timezone'; message: string } | undefined {
  if (timezone !== undefined && !isTimeZone(timezone))
    return { field: 'timezone', message: `is not an IANA time zone such as 'Europe/Berlin'` };
  // cron-parser's H picks a random value at every parse: the schedule would move each time it is read.
  if (/(^|[\s,])H(?=$|[\s,(/])/i.test(pattern))
    return { field: 'cron', message: 'must not use H (a random value): name the minute and hour' };
  const fields = pattern.trim().split(/\s+/).length;
  if (!pattern.startsWith('@') && (fields < 5 || fields > 6))
    return { field: 'cron', message: `must have 5 fields (or 6 with seconds first), not ${fields}` };
  try {
    const now = nowMs;
    const cron = CronExpressionParser.parse(pattern, { currentDate: new Date(now), tz: timezone ?? 'UTC' });
    if (!cron.hasNext() || cron.next().getTime() - now > MAX_CRON_GAP_MS)
      return { field: 'cron', message: 'must fire at least once a year' };
  } catch (err) {
    return { field: 'cron', message: `is not a valid cron expression: ${(err as Error).message}` };
  }
  return undefined;
}

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** The flow a poll's request runs in: an `http` action of its own, so it has an action's guard, secrets and retries. */
export function pollRequestFlow(slug: string, trigger: PollTriggerDef): FlowDefinition {
  return {
    slug,
    trigger: { type: 'webhook' },
    steps: [
      {
        id: POLL_REQUEST_STEP,
        type: 'action',
        connector: 'http',
        with: trigger.request,
        retry: { attempts: DEFAULT_POLL_ATTEMPTS, ...trigger.retry },
        ...(trigger.timeout === undefined ? {} : { timeout: trigger.timeout }),
      },
    ],
  };
}

/** What decides which items a poll sees and how it keys them: a change makes the next poll a first one. */
export function pollFingerprint(trigger: PollTriggerDef): string {
  return createHash('sha256')
    .update(JSON.stringify([trigger.request, trigger.items ?? '$', trigger.key]))
    .digest('base64url');
}
