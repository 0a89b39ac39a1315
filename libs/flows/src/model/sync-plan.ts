import type { FlowDefinition } from './flow-definition';
import { diffFlows } from './flow-diff';

/** A validated flow file: its path relative to the repository (its owner's name) and its definition. */
export interface SyncFile {
  path: string;
  definition: FlowDefinition;
}

/** A flow as stored now: who owns it (`api` or a file's path) and its current version. */
export interface LiveFlow {
  slug: string;
  source: string;
  enabled: boolean;
  version: number;
  definition: FlowDefinition;
}

export interface SyncScope {
  /** Disable file-owned flows whose file is not in the sync. */
  prune?: boolean;
  /** File-owned flows that must not be pruned (their file exists but could not be read this time). */
  keepSources?: string[];
  /** Folders a prune may disable flows in; default the files' own, so CI and FLOWS_DIR never collide. */
  pruneScope?: string[];
}

export interface SyncPlan {
  dryRun: boolean;
  created: { slug: string; path: string; version: number }[];
  updated: { slug: string; path: string; fromVersion: number; toVersion: number; changes: string[] }[];
  unchanged: { slug: string; path: string }[];
  disabled: { slug: string; source: string }[];
}

/** What syncing `files` over the `live` flows would change; a prune disables, never deletes. */
export function planFlowSync(
  live: readonly LiveFlow[],
  files: readonly SyncFile[],
  scope: SyncScope,
): SyncPlan {
  const bySlug = new Map(live.map((f) => [f.slug, f]));
  const plan: SyncPlan = { dryRun: true, created: [], updated: [], unchanged: [], disabled: [] };
  for (const { path, definition } of files) {
    const current = bySlug.get(definition.slug);
    if (!current) {
      plan.created.push({ slug: definition.slug, path, version: 1 });
      continue;
    }
    // Empty exactly when both have the same canonical text: the repository then keeps the version.
    const changes = diffFlows(current.definition, definition);
    const definitionChanged = changes.length > 0;
    const enabled = definition.enabled ?? true;
    if (current.source !== path) {
      changes.push(
        current.source === 'api'
          ? `now managed by ${path}`
          : `now managed by ${path} (was ${current.source})`,
      );
    }
    if (current.enabled !== enabled && !changes.some((c) => c.startsWith('enabled'))) {
      changes.push(`enabled: ${current.enabled} -> ${enabled}`);
    }
    if (changes.length === 0) {
      plan.unchanged.push({ slug: definition.slug, path });
      continue;
    }
    plan.updated.push({
      slug: definition.slug,
      path,
      fromVersion: current.version,
      toVersion: definitionChanged ? current.version + 1 : current.version,
      changes,
    });
  }
  if (scope.prune) {
    const slugs = new Set(files.map((f) => f.definition.slug));
    const keep = new Set([...files.map((f) => f.path), ...(scope.keepSources ?? [])]);
    const folders = scope.pruneScope ?? [...new Set(files.map((f) => folderOf(f.path)))];
    const inScope = (source: string) => folders.some((folder) => source.startsWith(folder));
    for (const flow of bySlug.values()) {
      if (flow.source === 'api' || keep.has(flow.source) || slugs.has(flow.slug) || !flow.enabled) continue;
      if (!inScope(flow.source)) continue;
      plan.disabled.push({ slug: flow.slug, source: flow.source });
    }
  }
  return plan;
}

/** The folder part of a file path, with its slash (`flows/team/`), or '' for a top-level file. */
function folderOf(file: string): string {
  const i = file.lastIndexOf('/');
  return i < 0 ? '' : file.slice(0, i + 1);
}
