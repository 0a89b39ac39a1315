import { fireSpecOf, nextFireTimes, timedTriggerOf } from '@hookflow/flows';
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
    // A schedule or a poll has no URL: its key would only answer 404.
    triggerUrl: timed ? null : `${publicUrl}/hooks/${trigger.key}`,
    nextFireAt: !timed
      ? null
      : flow.enabled
        ? nextFireTimes(fireSpecOf(timed), nowMs, NEXT_FIRE_TIMES).map((ms) => new Date(ms).toISOString())
        : [],
    source: flow.source,
    definition: version.definition,
    createdAt: flow.createdAt,
    updatedAt: flow.updatedAt,
  };
}

export type FlowView = ReturnType<typeof flowView>;
