import { fireSpecOf, nextFireTimes, timedTriggerOf, webhookOf } from '@hookflow/flows';
import type { FlowRecord } from '@hookflow/store';

/** Fire times the flow's answer shows ahead. */
const NEXT_FIRE_TIMES = 3;

/** The public shape of a flow (docs/api.md). */
export function flowView(record: FlowRecord, publicUrl: string, nowMs = Date.now()) {
  const { flow, version, trigger } = record;
  const timed = timedTriggerOf(version.definition);
  return {
    slug: flow.slug,
    name: flow.name,
    description: flow.description,
    version: version.version,
    enabled: flow.enabled,
    // A schedule, a poll or an event trigger has no URL: its key would only answer 404.
    triggerUrl: webhookOf(version.definition) ? `${publicUrl}/hooks/${trigger.key}` : null,
    nextFireAt: !timed ? null : flow.enabled ? nextFireAt(timed, nowMs) : [],
    source: flow.source,
    definition: version.definition,
    createdAt: flow.createdAt,
    updatedAt: flow.updatedAt,
  };
}

export type FlowView = ReturnType<typeof flowView>;

/** Never a failed answer over a time zone the runtime no longer knows: no times then. */
function nextFireAt(trigger: NonNullable<ReturnType<typeof timedTriggerOf>>, nowMs: number): string[] {
  try {
    return nextFireTimes(fireSpecOf(trigger), nowMs, NEXT_FIRE_TIMES).map((ms) => new Date(ms).toISOString());
  } catch {
    return [];
  }
}
