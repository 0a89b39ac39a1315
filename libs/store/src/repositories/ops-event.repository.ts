import type { OpsEventType } from '@hookflow/flows';
import type { DataSource, EntityManager } from 'typeorm';

/** An operational event waiting in the outbox. Run events carry only their run; the rest carry `data`. */
export interface PendingOpsEvent {
  id: string;
  type: OpsEventType;
  at: Date;
  flowId: string | null;
  runId: string | null;
  data: Record<string, unknown>;
}

/** What a run's event tells about it, read when it is dispatched. */
export interface RunEventFacts {
  runId: string;
  status: string;
  flowId: string;
  slug: string;
  version: number;
  /**
   * The run is an error flow's, or was started by a request an error flow's run sent (followed
   * through the `Idempotency-Key` Hookflow's actions send, `<runId>_<step>`, up to 8 hops).
   */
  fromErrorFlow: boolean;
  createdAt: Date;
  finishedAt: Date | null;
  failedSteps: {
    id: string;
    error: { code?: string; message?: string; status?: number } | null;
    attempts: number;
  }[];
}

/** What an event is about, besides its type. */
export interface OpsEventInput {
  flowId?: string | null;
  runId?: string | null;
  data?: Record<string, unknown>;
}

/** How often an event limited per flow may go out (`trigger.refused`). */
const LIMITED_EVERY_MS = 60_000;
/** The failed steps a run's event lists at most. */
const MAX_FAILED_STEPS = 20;
/** An `Idempotency-Key` as Hookflow's actions send it: the sending run's id, `_`, the step. */
const RUN_KEY_PATTERN = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}_';
/** How far back a run's cause is followed through requests Hookflow sent itself. */
const MAX_CAUSE_HOPS = 8;

/**
 * The outbox of operational events (docs/alerts.md): written where things happen (run ends by a
 * trigger in the database, destinations and refusals here), read and deleted by the dispatcher.
 */
export class OpsEventRepository {
  constructor(private readonly ds: DataSource) {}

  /** Puts an event in the outbox; with `m`, in that transaction, so it goes out only if it commits. */
  async emit(type: OpsEventType, event: OpsEventInput, m: EntityManager = this.ds.manager): Promise<void> {
    await m.query(`INSERT INTO ops_events (type, flow_id, run_id, data) VALUES ($1, $2, $3, $4)`, [
      type,
      event.flowId ?? null,
      event.runId ?? null,
      JSON.stringify(event.data ?? {}),
    ]);
  }

  /**
   * Puts an event in the outbox unless this flow had one of its type within the last minute; the
   * ones held back are counted, and the next that goes out says how many (`data.suppressed`).
   */
  async emitLimited(type: OpsEventType, flowId: string, data: Record<string, unknown>): Promise<boolean> {
    const rows: { id: string }[] = await this.ds.query(
      `WITH prior AS (SELECT suppressed FROM ops_event_limits WHERE flow_id = $1 AND type = $2),
       due AS (
         INSERT INTO ops_event_limits AS l (flow_id, type, last_at) VALUES ($1, $2, now())
         ON CONFLICT (flow_id, type) DO UPDATE
           SET last_at = CASE WHEN l.last_at <= now() - $4 * interval '1 millisecond' THEN now() ELSE l.last_at END,
               suppressed = CASE WHEN l.last_at <= now() - $4 * interval '1 millisecond' THEN 0 ELSE l.suppressed + 1 END
         RETURNING l.last_at = now() AS sent)
       INSERT INTO ops_events (type, flow_id, data)
       SELECT $2, $1, $3::jsonb || jsonb_build_object('suppressed', COALESCE((SELECT suppressed FROM prior), 0))
         FROM due WHERE sent
       RETURNING id`,
      [flowId, type, JSON.stringify(data), LIMITED_EVERY_MS],
    );
    return rows.length > 0;
  }

  /**
   * Takes up to `limit` events, oldest first, for `leaseMs`: another worker takes them only once the
   * lease lapses (this one died), so an event is handed on at least once, and rarely twice.
   */
  async claim(limit: number, leaseMs: number): Promise<PendingOpsEvent[]> {
    return this.ds.query(
      `WITH taken AS (
         UPDATE ops_events SET lease_until = now() + $2 * interval '1 millisecond'
          WHERE id IN (SELECT id FROM ops_events WHERE lease_until IS NULL OR lease_until < now()
                        ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
          RETURNING id, type, at, flow_id AS "flowId", run_id AS "runId", data)
       SELECT * FROM taken ORDER BY id`,
      [limit, leaseMs],
    );
  }

  /** Done with: handed to every listener. */
  async remove(ids: readonly string[]): Promise<void> {
    if (ids.length > 0) await this.ds.query(`DELETE FROM ops_events WHERE id = ANY($1::bigint[])`, [ids]);
  }

  /** The runs' ends as their events tell them; a run gone (retention) is absent. */
  async runFacts(runIds: readonly string[]): Promise<Map<string, RunEventFacts>> {
    if (runIds.length === 0) return new Map();
    const rows: RunEventFacts[] = await this.ds.query(
      `SELECT r.id AS "runId", r.status, r.flow_id AS "flowId", f.slug, v.version,
              COALESCE((
                WITH RECURSIVE chain (version_id, event_id, depth) AS (
                    SELECT r.flow_version_id, r.event_id, 0
                  UNION ALL
                    SELECT p.flow_version_id, p.event_id, c.depth + 1
                      FROM chain c
                      JOIN events e ON e.id = c.event_id
                      JOIN runs p ON p.id = CASE WHEN e.headers ->> 'idempotency-key' ~ $3
                                                 THEN left(e.headers ->> 'idempotency-key', 36)::uuid END
                     WHERE c.depth < $4)
                SELECT bool_or(cv.definition -> 'trigger' ->> 'type' = 'event')
                  FROM chain JOIN flow_versions cv ON cv.id = chain.version_id), false) AS "fromErrorFlow",
              r.created_at AS "createdAt", r.finished_at AS "finishedAt",
              COALESCE((SELECT json_agg(json_build_object('id', s.step_id, 'error', s.error, 'attempts', s.attempts)
                                        ORDER BY s.position, s.item_index)
                          FROM (SELECT * FROM step_runs WHERE run_id = r.id AND status = 'failed'
                                 ORDER BY position, item_index LIMIT $2) s), '[]') AS "failedSteps"
         FROM runs r
         JOIN flows f ON f.id = r.flow_id
         JOIN flow_versions v ON v.id = r.flow_version_id
        WHERE r.id = ANY($1::uuid[])`,
      [runIds, MAX_FAILED_STEPS, RUN_KEY_PATTERN, MAX_CAUSE_HOPS],
    );
    return new Map(rows.map((r) => [r.runId, r]));
  }

  /** Forgets the per-flow limits not used for `olderThanMs` (flows gone, or quiet). */
  async pruneLimits(olderThanMs: number): Promise<void> {
    await this.ds.query(
      `DELETE FROM ops_event_limits WHERE last_at < now() - $1 * interval '1 millisecond'`,
      [olderThanMs],
    );
  }

  /** Recomputes the types someone listens for (a flow change does it too, in its transaction). */
  async refreshInterests(): Promise<void> {
    await this.ds.query(`SELECT hookflow_refresh_ops_interests()`);
  }
}
