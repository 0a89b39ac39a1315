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

/** What an event is about, besides its type. */
export interface OpsEventInput {
  flowId?: string | null;
  runId?: string | null;
  data?: Record<string, unknown>;
}

/** How often an event limited per flow may go out (`trigger.refused`). */
const LIMITED_EVERY_MS = 60_000;

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

  /** The types someone listens for beyond those always written; `run.succeeded` is written only then. */
  async setInterests(types: readonly OpsEventType[]): Promise<void> {
    await this.ds.transaction(async (m) => {
      await m.query(`DELETE FROM ops_interests WHERE NOT (type = ANY($1::text[]))`, [types]);
      await m.query(`INSERT INTO ops_interests (type) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING`, [
        types,
      ]);
    });
  }
}
