import { Inject, Injectable } from '@nestjs/common';
import { diffFlows, validateFlow, type ConnectorRegistry, type FlowDefinition } from '@hookflow/flows';
import { HOOKFLOW_CONFIG, type HookflowConfig } from '@hookflow/platform';
import { checksumOf, FlowRepository, SlugTakenError, unstorableTextAt } from '@hookflow/store';
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
  /**
   * Folders whose file-owned flows a prune may disable (`flows/`). Default: the folders of the
   * files given. So a CI sync of `ci/` never disables what the FLOWS_DIR loader owns, and back.
   */
  pruneScope?: string[];
  /** Wait for a sync in progress (the loader at start) instead of answering 409 (a CI call). */
  wait?: boolean;
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
    @Inject(HOOKFLOW_CONFIG) private readonly config: HookflowConfig,
  ) {}

  /**
   * Validates every file; returns the definitions or every problem with its file and pointer. It
   * yields to the event loop between files: a sync of many large files keeps the API answering.
   */
  async check(files: FlowFile[]): Promise<{
    valid: { path: string; definition: FlowDefinition }[];
    problems: FileProblem[];
  }> {
    const valid: { path: string; definition: FlowDefinition }[] = [];
    const problems: FileProblem[] = [];
    const slugs = new Map<string, string>();
    const paths = new Set<string>();
    for (const file of files) {
      await new Promise((resolve) => setImmediate(resolve));
      if (paths.has(file.path)) {
        problems.push({ file: file.path, path: '', message: 'is listed twice' });
        continue;
      }
      paths.add(file.path);
      // Refused rather than changed: the file is the author's, and PostgreSQL could not store it as written.
      const unstorable = unstorableTextAt(file.definition);
      if (unstorable) {
        problems.push({
          file: file.path,
          path: unstorable.path,
          message: `must not contain ${unstorable.problem}`,
        });
        continue;
      }
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
    const badPaths = files.flatMap((f) => {
      const message = checkSourcePath(f.path);
      return message ? [{ file: f.path, path: '', message: `path ${message}` }] : [];
    });
    const checked = await this.check(files);
    const valid = checked.valid;
    const problems = [...badPaths, ...checked.problems];
    if (problems.length > 0) {
      throw new AppError(
        ErrorCode.InvalidFlow,
        `${new Set(problems.map((p) => p.file)).size} flow file(s) are invalid: ${problems[0].file}: ${problems[0].path || '/'} ${problems[0].message}`,
        problems,
      );
    }
    return this.apply(valid, options);
  }

  /**
   * Plans (dryRun) or applies already-validated files, all or nothing: one transaction under a
   * lock per schema, so concurrent syncs on several API replicas apply one after the other.
   */
  async apply(
    files: { path: string; definition: FlowDefinition }[],
    options: SyncOptions,
  ): Promise<SyncPlan> {
    if (options.dryRun) return this.plan(this.flows, files, options);
    try {
      return await this.ds.transaction(async (m) => {
        const lockKey = `hookflow_flow_sync:${this.config.databaseSchema}`;
        if (options.wait) {
          await m.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [lockKey]);
        } else {
          const [{ locked }]: { locked: boolean }[] = await m.query(
            `SELECT pg_try_advisory_xact_lock(hashtext($1)) AS locked`,
            [lockKey],
          );
          if (!locked)
            throw new AppError(ErrorCode.Conflict, 'another sync is being applied; try again in a moment');
        }
        const flows = new FlowRepository(m);
        const plan = await this.plan(flows, files, options);
        const byPath = new Map(files.map((f) => [f.path, f.definition]));
        for (const c of plan.created)
          c.version = (await flows.create(byPath.get(c.path)!, c.path)).version.version;
        for (const u of plan.updated) await flows.update(u.slug, byPath.get(u.path)!, u.path);
        for (const d of plan.disabled) await flows.setEnabled(d.slug, false);
        // Inside the transaction: delivered to every replica when it commits, and only then.
        if (plan.created.length + plan.updated.length + plan.disabled.length > 0) {
          await m.query(NOTIFY_FLOW_CHANGED, ['sync']);
        }
        return { ...plan, dryRun: false };
      });
    } catch (err) {
      if (err instanceof SlugTakenError) {
        throw new AppError(
          ErrorCode.Conflict,
          `${err.message} (created while the sync was applied); nothing was changed`,
        );
      }
      throw err;
    } finally {
      this.triggers.clear();
    }
  }

  private async plan(
    flows: FlowRepository,
    files: { path: string; definition: FlowDefinition }[],
    options: SyncOptions,
  ): Promise<SyncPlan> {
    const live = new Map((await flows.listLive()).map((f) => [f.slug, f]));
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
      const scope = options.pruneScope ?? [...new Set(files.map((f) => folderOf(f.path)))];
      const inScope = (source: string) => scope.some((folder) => source.startsWith(folder));
      for (const flow of live.values()) {
        if (flow.source === 'api' || keep.has(flow.source) || slugs.has(flow.slug) || !flow.enabled) continue;
        if (!inScope(flow.source)) continue;
        plan.disabled.push({ slug: flow.slug, source: flow.source });
      }
    }
    return plan;
  }
}

/** The folder part of a file path, with its slash (`flows/team/`), or '' for a top-level file. */
function folderOf(file: string): string {
  const i = file.lastIndexOf('/');
  return i < 0 ? '' : file.slice(0, i + 1);
}

/** A flow's owner is a relative file path: never `api` (that means the REST API), never outside the repository. */
function checkSourcePath(file: string): string | null {
  if (file === 'api') return "'api' is reserved for flows managed over the REST API";
  if (file.length > 500) return 'is longer than 500 characters';
  if (file.startsWith('/') || /^[a-zA-Z]:[\\/]/.test(file))
    return 'must be a path relative to the repository, not an absolute one';
  if (file.split(/[\\/]/).includes('..')) return "must not contain '..'";
  if ([...file].some((c) => c.charCodeAt(0) < 0x20)) return 'must not contain control characters';
  return null;
}
