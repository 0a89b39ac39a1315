import type { DataSource, EntityManager } from 'typeorm';
import { toJsonb } from './jsonb';

export type OpsDeliveryKind = 'subscription' | 'alert';
export type OpsDeliveryStatus = 'pending' | 'delivered' | 'failed';

/** A delivery to make: `key` is its identity, so the same one enqueued twice is stored once. */
export interface NewOpsDelivery {
  kind: OpsDeliveryKind;
  key: string;
  subscriptionId?: string | null;
  flowId?: string | null;
  eventId?: string | null;
  eventType: string;
  body: unknown;
}

/** A delivery claimed by a worker: `attempts` counts this one and is the claim's token. */
export interface ClaimedOpsDelivery {
  id: string;
  kind: OpsDeliveryKind;
  key: string;
  subscriptionId: string | null;
  flowId: string | null;
  eventId: string | null;
  eventType: string;
  body: unknown;
  attempts: number;
  createdAt: Date;
}

/** A delivery as the API lists it. */
export interface OpsDeliveryInfo {
  id: string;
  eventId: string | null;
  eventType: string;
  status: OpsDeliveryStatus;
  attempts: number;
  nextAt: Date | null;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: Date;
  deliveredAt: Date | null;
}

/** What one attempt came to, as the sender decided it. */
export type OpsDeliveryOutcome =
  | { status: 'delivered'; responseStatus: number }
  | { status: 'pending'; nextAt: Date; responseStatus?: number; error: string }
  | { status: 'failed'; responseStatus?: number; error: string };

/** The most characters of an error kept with a delivery. */
const MAX_ERROR_CHARS = 1000;

/** Operational deliveries (subscriptions and alert messages): enqueued once, claimed under a lease. */
export class OpsDeliveryRepository {
  constructor(private readonly ds: DataSource) {}

  /** Stores the deliveries not stored yet (by `key`); with `m`, in that transaction. */
  async enqueue(deliveries: readonly NewOpsDelivery[], m: EntityManager = this.ds.manager): Promise<number> {
    if (deliveries.length === 0) return 0;
    const rows: unknown[] = await m.query(
      `INSERT INTO ops_deliveries (kind, key, subscription_id, flow_id, event_id, event_type, body)
       SELECT d.kind, d.key, d.subscription_id, d.flow_id, d.event_id, d.event_type, d.body
         FROM json_to_recordset($1::json) AS d(kind text, key text, subscription_id uuid, flow_id uuid,
                                               event_id text, event_type text, body json)
       ON CONFLICT (key) DO NOTHING RETURNING id`,
      [
        toJsonb(
          deliveries.map((d) => ({
            kind: d.kind,
            key: d.key,
            subscription_id: d.subscriptionId ?? null,
            flow_id: d.flowId ?? null,
            event_id: d.eventId ?? null,
            event_type: d.eventType,
            body: d.body,
          })),
        ),
      ],
    );
    return rows.length;
  }

  /**
   * Claims up to `limit` due deliveries for `leaseMs`: rows another worker holds are skipped, and
   * a lease that lapsed (its worker died) makes the row due again.
   */
  async claim(limit: number, leaseMs: number): Promise<ClaimedOpsDelivery[]> {
    // UPDATE and DELETE answer [rows, count] through TypeORM's pg driver.
    const [rows]: [ClaimedOpsDelivery[], number] = await this.ds.query(
      `UPDATE ops_deliveries d
          SET lease_until = now() + $2 * interval '1 millisecond', attempts = d.attempts + 1
         FROM (SELECT id FROM ops_deliveries
                WHERE status = 'pending' AND next_at <= now() AND (lease_until IS NULL OR lease_until < now())
                ORDER BY next_at LIMIT $1 FOR UPDATE SKIP LOCKED) due
        WHERE d.id = due.id
        RETURNING d.id, d.kind, d.key, d.subscription_id AS "subscriptionId", d.flow_id AS "flowId",
                  d.event_id AS "eventId", d.event_type AS "eventType", d.body, d.attempts,
                  d.created_at AS "createdAt"`,
      [limit, leaseMs],
    );
    return rows;
  }

  /** Records an attempt's outcome, if the claim is still the latest (its `attempts`). */
  async record(
    delivery: Pick<ClaimedOpsDelivery, 'id' | 'attempts'>,
    outcome: OpsDeliveryOutcome,
  ): Promise<void> {
    const error = outcome.status === 'delivered' ? null : outcome.error.slice(0, MAX_ERROR_CHARS);
    await this.ds.query(
      `UPDATE ops_deliveries
          SET status = $3, lease_until = NULL, next_at = COALESCE($4, next_at), last_status = $5, last_error = $6,
              delivered_at = CASE WHEN $3 = 'delivered' THEN now() END
        WHERE id = $1 AND attempts = $2 AND status = 'pending'`,
      [
        delivery.id,
        delivery.attempts,
        outcome.status,
        outcome.status === 'pending' ? outcome.nextAt : null,
        outcome.responseStatus ?? null,
        error,
      ],
    );
  }

  /** A subscription's latest deliveries, newest first. */
  recent(subscriptionId: string, limit: number): Promise<OpsDeliveryInfo[]> {
    return this.ds.query(
      `SELECT id, event_id AS "eventId", event_type AS "eventType", status, attempts,
              CASE WHEN status = 'pending' THEN next_at END AS "nextAt", last_status AS "lastStatus",
              last_error AS "lastError", created_at AS "createdAt", delivered_at AS "deliveredAt"
         FROM ops_deliveries WHERE subscription_id = $1 ORDER BY id DESC LIMIT $2`,
      [subscriptionId, limit],
    );
  }

  /** Deletes finished deliveries older than `olderThanMs`, a batch at a time; returns how many. */
  async prune(olderThanMs: number, batch = 1000): Promise<number> {
    const [rows]: [unknown[], number] = await this.ds.query(
      `DELETE FROM ops_deliveries WHERE id IN (
         SELECT id FROM ops_deliveries
          WHERE status <> 'pending' AND created_at < now() - $1 * interval '1 millisecond' LIMIT $2)
       RETURNING id`,
      [olderThanMs, batch],
    );
    return rows.length;
  }
}
