import {
  planFlowSync,
  type FlowDefinition,
  type LiveFlow,
  type SyncFile,
  type SyncPlan,
  type SyncScope,
} from '@hookflow/flows';
import { randomBytes, randomUUID } from 'node:crypto';
import { DataSource, IsNull, type EntityManager } from 'typeorm';
import { Flow, FlowVersion, Trigger } from '../entities';
import { checksumOf } from './canonical-json';

export interface FlowRecord {
  flow: Flow;
  version: FlowVersion;
  trigger: Trigger;
}

/** What ingress needs to accept a webhook, found by trigger key in one query. */
export interface TriggerTarget {
  triggerId: string;
  flowId: string;
  slug: string;
  enabled: boolean;
  versionId: string;
  version: number;
  definition: FlowDefinition;
}

/** A flow whose current version starts runs on its own: a schedule, a poll or an event trigger. */
export interface TimedFlow {
  flowId: string;
  slug: string;
  enabled: boolean;
  versionId: string;
  definition: FlowDefinition;
}

const TIMED_FLOWS = `SELECT f.id AS "flowId", f.slug, f.enabled, v.id AS "versionId", v.definition
    FROM flows f
    JOIN flow_versions v ON v.flow_id = f.id AND v.version = f.current_version
   WHERE f.deleted_at IS NULL AND v.definition -> 'trigger' ->> 'type' IN ('schedule', 'poll')`;

/** A flow file owns this flow; only a change of the file (or a sync) may change it. */
export class FileManagedError extends Error {
  constructor(
    readonly slug: string,
    readonly source: string,
  ) {
    super(`flow '${slug}' is managed by the file ${source}; change the file instead`);
  }
}

export class SlugTakenError extends Error {
  constructor(readonly slug: string) {
    super(`a flow with slug '${slug}' already exists`);
  }
}

/** Another sync holds the schema's sync lock, and the caller chose not to wait for it. */
export class SyncInProgressError extends Error {
  constructor() {
    super('another sync is being applied');
  }
}

/** The PostgreSQL channel every API replica's trigger cache listens on (`FlowChangeListener`). */
export const FLOW_CHANGES_CHANNEL = 'hookflow_flow_changes';

/** 24 random bytes: 192 bits, base64url, so trigger URLs cannot be guessed or enumerated. */
export function newTriggerKey(): string {
  return randomBytes(24).toString('base64url');
}

/** What a trigger key can look like (base64url, see `newTriggerKey`); anything else names no trigger. */
export const TRIGGER_KEY_PATTERN = /^[A-Za-z0-9_-]{1,200}$/;

/** Flows, their immutable versions and their triggers. */
export class FlowRepository {
  private readonly m: EntityManager;

  /** Bound to the data source, or to a transaction's manager so a sync applies all or nothing. */
  constructor(source: DataSource | EntityManager) {
    this.m = source instanceof DataSource ? source.manager : source;
  }

  async create(definition: FlowDefinition, source = 'api'): Promise<FlowRecord> {
    const now = new Date();
    try {
      return await this.m.transaction(async (m) => {
        const flow = m.create(Flow, {
          id: randomUUID(),
          slug: definition.slug,
          name: definition.name ?? null,
          description: definition.description ?? null,
          enabled: definition.enabled ?? true,
          currentVersion: 1,
          source,
          createdAt: now,
          updatedAt: now,
          deletedAt: null,
        });
        await m.insert(Flow, flow);
        const version = await this.insertVersion(m, flow.id, 1, definition, now);
        const trigger = m.create(Trigger, {
          id: randomUUID(),
          flowId: flow.id,
          key: newTriggerKey(),
          createdAt: now,
          rotatedAt: null,
        });
        await m.insert(Trigger, trigger);
        return { flow, version, trigger };
      });
    } catch (err) {
      if ((err as { code?: string }).code === '23505' && String(err).includes('flows_slug_live')) {
        throw new SlugTakenError(definition.slug);
      }
      throw err;
    }
  }

  async findBySlug(slug: string): Promise<FlowRecord | null> {
    const flow = await this.m.findOne(Flow, { where: { slug, deletedAt: IsNull() } });
    if (!flow) return null;
    return this.recordOf(this.m, flow);
  }

  async list(limit: number, afterSlug?: string): Promise<FlowRecord[]> {
    const qb = this.m
      .createQueryBuilder(Flow, 'f')
      .where('f.deleted_at IS NULL')
      .orderBy('f.slug', 'ASC')
      .limit(limit);
    if (afterSlug) qb.andWhere('f.slug > :afterSlug', { afterSlug });
    const flows = await qb.getMany();
    if (flows.length === 0) return [];
    const ids = flows.map((f) => f.id);
    const [versions, triggers] = await Promise.all([
      this.m
        .createQueryBuilder(FlowVersion, 'v')
        .innerJoin(Flow, 'f', 'f.id = v.flow_id AND f.current_version = v.version')
        .where('v.flow_id IN (:...ids)', { ids })
        .getMany(),
      this.m.createQueryBuilder(Trigger, 't').where('t.flow_id IN (:...ids)', { ids }).getMany(),
    ]);
    return flows.map((flow) => ({
      flow,
      version: versions.find((v) => v.flowId === flow.id)!,
      trigger: triggers.find((t) => t.flowId === flow.id)!,
    }));
  }

  /**
   * Saves a new definition; an identical one makes no new version. The flow row is locked so that
   * concurrent saves get consecutive versions. `owner`: `api`, or a flow file's path (its `enabled` wins).
   */
  async update(
    slug: string,
    definition: FlowDefinition,
    owner?: string,
  ): Promise<(FlowRecord & { changed: boolean }) | null> {
    // Without an owner the caller is the REST API: a file-owned flow is refused under the row lock,
    // so a sync taking ownership between a check and this write cannot be overwritten.
    return this.m.transaction(async (m) => {
      const flow = await m
        .createQueryBuilder(Flow, 'f')
        .setLock('pessimistic_write')
        .where('f.slug = :slug AND f.deleted_at IS NULL', { slug })
        .getOne();
      if (!flow) return null;
      if (owner === undefined && flow.source !== 'api') throw new FileManagedError(slug, flow.source);
      const current = await m.findOneByOrFail(FlowVersion, { flowId: flow.id, version: flow.currentVersion });
      const now = new Date();
      let version = current;
      const changed = current.checksum !== checksumOf(definition);
      if (changed) {
        version = await this.insertVersion(m, flow.id, flow.currentVersion + 1, definition, now);
        flow.currentVersion = version.version;
      }
      flow.name = definition.name ?? null;
      flow.description = definition.description ?? null;
      if (owner !== undefined) flow.source = owner;
      if (definition.enabled !== undefined) flow.enabled = definition.enabled;
      else if (flow.source !== 'api') flow.enabled = true;
      flow.updatedAt = now;
      await m.update(
        Flow,
        { id: flow.id },
        {
          currentVersion: flow.currentVersion,
          name: flow.name,
          description: flow.description,
          enabled: flow.enabled,
          source: flow.source,
          updatedAt: now,
        },
      );
      return { ...(await this.recordOf(m, flow, version)), changed };
    });
  }

  /** Tells every API replica's trigger cache that flows changed; in a transaction, only at commit. */
  async announceChange(about: string): Promise<void> {
    await this.m.query(`SELECT pg_notify($1, $2)`, [FLOW_CHANGES_CHANNEL, about]);
  }

  /** What syncing these files would change now (a dry run). */
  async planSync(files: SyncFile[], scope: SyncScope): Promise<SyncPlan> {
    return planFlowSync(await this.listLive(), files, scope);
  }

  /**
   * Plans and applies a sync in one transaction under a lock per schema, announced at commit.
   * Without `wait`, a taken lock throws `SyncInProgressError`.
   */
  async applySync(files: SyncFile[], scope: SyncScope & { wait?: boolean }): Promise<SyncPlan> {
    return this.m.transaction(async (m) => {
      // current_schema() is DATABASE_SCHEMA (the connection's search_path): one lock per schema.
      if (scope.wait) {
        await m.query(`SELECT pg_advisory_xact_lock(hashtext('hookflow_flow_sync:' || current_schema()))`);
      } else {
        const [{ locked }]: { locked: boolean }[] = await m.query(
          `SELECT pg_try_advisory_xact_lock(hashtext('hookflow_flow_sync:' || current_schema())) AS locked`,
        );
        if (!locked) throw new SyncInProgressError();
      }
      const flows = new FlowRepository(m);
      const plan = await flows.planSync(files, scope);
      const byPath = new Map(files.map((f) => [f.path, f.definition]));
      for (const c of plan.created)
        c.version = (await flows.create(byPath.get(c.path)!, c.path)).version.version;
      for (const u of plan.updated) await flows.update(u.slug, byPath.get(u.path)!, u.path);
      for (const d of plan.disabled) await flows.setEnabled(d.slug, false);
      if (plan.created.length + plan.updated.length + plan.disabled.length > 0)
        await flows.announceChange('sync');
      return { ...plan, dryRun: false };
    });
  }

  /** Every live flow with its current definition: what a sync plans against. */
  private async listLive(): Promise<LiveFlow[]> {
    return this.m.query(
      `SELECT f.slug, f.source, f.enabled, v.version, v.definition
         FROM flows f JOIN flow_versions v ON v.flow_id = f.id AND v.version = f.current_version
        WHERE f.deleted_at IS NULL
        ORDER BY f.slug`,
    );
  }

  /** Gives the flow a new trigger key; the old one stops matching at once. */
  async rotateTriggerKey(slug: string): Promise<FlowRecord | null> {
    const [rows]: [{ id: string }[], number] = await this.m.query(
      `UPDATE triggers t SET key = $2, rotated_at = now()
         FROM flows f
        WHERE t.flow_id = f.id AND f.slug = $1 AND f.deleted_at IS NULL
        RETURNING t.id`,
      [slug, newTriggerKey()],
    );
    return rows.length > 0 ? this.findBySlug(slug) : null;
  }

  /** `apiOnly`: the REST API's call, refused for a file-owned flow in the same statement. */
  async setEnabled(slug: string, enabled: boolean, apiOnly = false): Promise<FlowRecord | null> {
    const now = new Date();
    const res = await this.m
      .createQueryBuilder()
      .update(Flow)
      .set({ enabled, updatedAt: now })
      .where(`slug = :slug AND deleted_at IS NULL${apiOnly ? " AND source = 'api'" : ''}`, { slug })
      .execute();
    if (!res.affected) return this.refuseFileManaged(slug, apiOnly);
    return this.findBySlug(slug);
  }

  /** Deletes a flow for its users: its trigger answers 404, its runs and events stay. */
  async softDelete(slug: string, apiOnly = false): Promise<string | null> {
    // A deleted poll's memory goes with it: a flow made again under the slug starts afresh.
    const rows: { id: string }[] = await this.m.query(
      `WITH d AS (
         UPDATE flows SET deleted_at = now(), enabled = false
          WHERE slug = $1 AND deleted_at IS NULL AND ($2 = false OR source = 'api') RETURNING id
       ), k AS (DELETE FROM poll_keys WHERE flow_id IN (SELECT id FROM d)),
          s AS (DELETE FROM poll_states WHERE flow_id IN (SELECT id FROM d))
       SELECT id FROM d`,
      [slug, apiOnly],
    );
    return rows[0]?.id ?? (await this.refuseFileManaged(slug, apiOnly));
  }

  /** After a write that matched nothing: null for a missing flow, FileManagedError for a file-owned one. */
  private async refuseFileManaged(slug: string, apiOnly: boolean): Promise<null> {
    if (!apiOnly) return null;
    const flow = await this.m.findOne(Flow, { where: { slug, deletedAt: IsNull() } });
    if (flow && flow.source !== 'api') throw new FileManagedError(slug, flow.source);
    return null;
  }

  async versions(flowId: string): Promise<FlowVersion[]> {
    return this.m.find(FlowVersion, { where: { flowId }, order: { version: 'DESC' } });
  }

  async version(flowId: string, version: number): Promise<FlowVersion | null> {
    return this.m.findOneBy(FlowVersion, { flowId, version });
  }

  async versionById(id: string): Promise<FlowVersion | null> {
    return this.m.findOneBy(FlowVersion, { id });
  }

  /** Every live, enabled flow with a schedule or a poll: what the trigger schedulers should hold. */
  async timedFlows(): Promise<TimedFlow[]> {
    return this.m.query(`${TIMED_FLOWS} AND f.enabled ORDER BY f.id`);
  }

  /** Enabled flows with an `event` trigger: the error flows an operational event may start. */
  async eventFlows(): Promise<TimedFlow[]> {
    return this.m.query(
      `SELECT f.id AS "flowId", f.slug, f.enabled, v.id AS "versionId", v.definition
         FROM flows f
         JOIN flow_versions v ON v.flow_id = f.id AND v.version = f.current_version
        WHERE f.deleted_at IS NULL AND f.enabled AND v.definition -> 'trigger' ->> 'type' = 'event'
        ORDER BY f.slug`,
    );
  }

  /** Slug and current version of flows by id, deleted ones too (an event may outlive its flow). */
  async refsOf(flowIds: readonly string[]): Promise<Map<string, { slug: string; version: number }>> {
    if (flowIds.length === 0) return new Map();
    const rows: { id: string; slug: string; version: number }[] = await this.m.query(
      `SELECT id, slug, current_version AS version FROM flows WHERE id = ANY($1::uuid[])`,
      [flowIds],
    );
    return new Map(rows.map((r) => [r.id, { slug: r.slug, version: r.version }]));
  }

  /** One flow as a schedule's tick finds it now; null when deleted or no longer timed. */
  async timedFlow(flowId: string): Promise<TimedFlow | null> {
    const rows: TimedFlow[] = await this.m.query(`${TIMED_FLOWS} AND f.id = $1`, [flowId]);
    return rows[0] ?? null;
  }

  async findTriggerTarget(key: string): Promise<TriggerTarget | null> {
    const rows: TriggerTarget[] = await this.m.query(
      `SELECT t.id AS "triggerId", f.id AS "flowId", f.slug, f.enabled,
              v.id AS "versionId", v.version, v.definition
         FROM triggers t
         JOIN flows f ON f.id = t.flow_id AND f.deleted_at IS NULL
         JOIN flow_versions v ON v.flow_id = f.id AND v.version = f.current_version
        WHERE t.key = $1`,
      [key],
    );
    return rows[0] ?? null;
  }

  private async insertVersion(
    m: EntityManager,
    flowId: string,
    version: number,
    definition: FlowDefinition,
    now: Date,
  ): Promise<FlowVersion> {
    const row = m.create(FlowVersion, {
      id: randomUUID(),
      flowId,
      version,
      definition,
      checksum: checksumOf(definition),
      createdAt: now,
    });
    await m.query(
      `INSERT INTO flow_versions (id, flow_id, version, definition, checksum, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
      [row.id, flowId, version, JSON.stringify(definition), row.checksum, now],
    );
    return row;
  }

  private async recordOf(m: EntityManager, flow: Flow, version?: FlowVersion): Promise<FlowRecord> {
    const [v, trigger] = await Promise.all([
      version ?? m.findOneByOrFail(FlowVersion, { flowId: flow.id, version: flow.currentVersion }),
      m.findOneByOrFail(Trigger, { flowId: flow.id }),
    ]);
    return { flow, version: v, trigger };
  }
}
