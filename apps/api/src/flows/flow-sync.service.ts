import { Inject, Injectable } from '@nestjs/common';
import { diffFlows, validateFlow, type ConnectorRegistry, type FlowDefinition } from '@hookflow/flows';
import { checksumOf, FlowRepository } from '@hookflow/store';
import { DataSource } from 'typeorm';
import { AppError, ErrorCode } from '../common/app-error';
import { CONNECTOR_CATALOG } from '../common/tokens';
import { NOTIFY_FLOW_CHANGED, TriggerCache } from '../triggers/trigger-cache';

export interface FlowFile {
  path: string;
  definition: unknown;
}

export interface SyncOptions {
  prune?: boolean;
  dryRun?: boolean;
  /** File-owned flows that must not be pruned (their file exists but could not be read this time). */
  keepSources?: string[];
}

export interface SyncPlan {
  dryRun: boolean;
  created: { slug: string; path: string; version: number }[];
  updated: { slug: string; path: string; fromVersion: number; toVersion: number; changes: string[] }[];
  unchanged: { slug: string; path: string }[];
  disabled: { slug: string; source: string }[];
}

export interface FileProblem {
  file: string;
  path: string;
  message: string;
}

/**
 * Flows as files: plans and applies a set of flow files against the database. A flow a file
 * created or changed is owned by that file; pruning disables (never deletes) file-owned flows
 * whose file is gone. Used by `POST /api/flows/sync` (CI pipelines) and the FLOWS_DIR loader.
 */
@Injectable()
export class FlowSyncService {
  constructor(
    private readonly flows: FlowRepository,
    private readonly triggers: TriggerCache,
    private readonly ds: DataSource,
    @Inject(CONNECTOR_CATALOG) private readonly connectors: ConnectorRegistry,
  ) {}

  /** Validates every file; returns the definitions or every problem with its file and pointer. */
  check(files: FlowFile[]): {
    valid: { path: string; definition: FlowDefinition }[];
    problems: FileProblem[];
  } {
    const valid: { path: string; definition: FlowDefinition }[] = [];
    const problems: FileProblem[] = [];
    const slugs = new Map<string, string>();
    const paths = new Set<string>();
    for (const file of files) {
      if (paths.has(file.path)) {
        problems.push({ file: file.path, path: '', message: 'is listed twice' });
        continue;
      }
      paths.add(file.path);
      const result = validateFlow(file.definition, { connectors: this.connectors });
      if (!result.valid) {
        problems.push(...result.errors.map((e) => ({ file: file.path, path: e.path, message: e.message })));
        continue;
      }
      const other = slugs.get(result.flow.slug);
      if (other) {
        problems.push({
          file: file.path,
          path: '/slug',
          message: `'${result.flow.slug}' is also the slug of ${other}`,
        });
        continue;
      }
      slugs.set(result.flow.slug, file.path);
      valid.push({ path: file.path, definition: result.flow });
    }
    return { valid, problems };
  }

  /** All or nothing: any invalid file refuses the whole sync with 400 and every problem. */
  async sync(files: FlowFile[], options: SyncOptions): Promise<SyncPlan> {
    const { valid, problems } = this.check(files);
    if (problems.length > 0) {
      throw new AppError(
        ErrorCode.InvalidFlow,
        `${new Set(problems.map((p) => p.file)).size} flow file(s) are invalid: ${problems[0].file}: ${problems[0].path || '/'} ${problems[0].message}`,
        problems,
      );
    }
    return this.apply(valid, options);
  }

  /** Plans (dryRun) or applies already-validated files. Applying is serialised across API replicas. */
  async apply(
    files: { path: string; definition: FlowDefinition }[],
    options: SyncOptions,
  ): Promise<SyncPlan> {
    if (options.dryRun) return this.plan(files, options);
    const runner = this.ds.createQueryRunner();
    await runner.connect();
    try {
      await runner.query(`SELECT pg_advisory_lock(hashtext('hookflow_flow_sync'))`);
      try {
        const plan = await this.plan(files, options);
        const byPath = new Map(files.map((f) => [f.path, f.definition]));
        for (const c of plan.created) {
          const record = await this.flows.create(byPath.get(c.path)!, c.path);
          c.version = record.version.version;
        }
        for (const u of plan.updated) await this.flows.update(u.slug, byPath.get(u.path)!, u.path);
        for (const d of plan.disabled) await this.flows.setEnabled(d.slug, false);
        if (plan.created.length + plan.updated.length + plan.disabled.length > 0) {
          this.triggers.clear();
          await this.ds.query(NOTIFY_FLOW_CHANGED, ['sync']);
        }
        return { ...plan, dryRun: false };
      } finally {
        await runner.query(`SELECT pg_advisory_unlock(hashtext('hookflow_flow_sync'))`);
      }
    } finally {
      await runner.release();
    }
  }

  private async plan(
    files: { path: string; definition: FlowDefinition }[],
    options: SyncOptions,
  ): Promise<SyncPlan> {
    const live = new Map((await this.flows.listLive()).map((f) => [f.slug, f]));
    const plan: SyncPlan = { dryRun: true, created: [], updated: [], unchanged: [], disabled: [] };
    for (const { path, definition } of files) {
      const current = live.get(definition.slug);
      if (!current) {
        plan.created.push({ slug: definition.slug, path, version: 1 });
        continue;
      }
      const definitionChanged = checksumOf(current.definition) !== checksumOf(definition);
      const enabled = definition.enabled ?? true;
      const changes = definitionChanged ? diffFlows(current.definition, definition) : [];
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
      if (changes.length === 0 && !definitionChanged) {
        plan.unchanged.push({ slug: definition.slug, path });
        continue;
      }
      plan.updated.push({
        slug: definition.slug,
        path,
        fromVersion: current.version,
        toVersion: definitionChanged ? current.version + 1 : current.version,
        changes: changes.length > 0 ? changes : ['definition changed'],
      });
    }
    if (options.prune) {
      const slugs = new Set(files.map((f) => f.definition.slug));
      const keep = new Set([...files.map((f) => f.path), ...(options.keepSources ?? [])]);
      for (const flow of live.values()) {
        if (flow.source === 'api' || keep.has(flow.source) || slugs.has(flow.slug) || !flow.enabled) continue;
        plan.disabled.push({ slug: flow.slug, source: flow.source });
      }
    }
    return plan;
  }
}
