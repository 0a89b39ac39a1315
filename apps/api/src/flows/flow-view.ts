import type { FlowRecord } from '@hookflow/store';

/** The public shape of a flow (docs/api.md). */
export function flowView(record: FlowRecord, publicUrl: string) {
  const { flow, version, trigger } = record;
  return {
    slug: flow.slug,
    name: flow.name,
    description: flow.description,
    version: version.version,
    enabled: flow.enabled,
    triggerUrl: `${publicUrl}/hooks/${trigger.key}`,
    source: flow.source,
    definition: version.definition,
    createdAt: flow.createdAt,
    updatedAt: flow.updatedAt,
  };
}

export type FlowView = ReturnType<typeof flowView>;
