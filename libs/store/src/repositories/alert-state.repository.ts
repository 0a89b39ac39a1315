import type { AlertsDef, AlertWindow } from '@hookflow/flows';
import type { DataSource } from 'typeorm';
import type { NewOpsDelivery } from './ops-delivery.repository';
import { OpsDeliveryRepository } from './ops-delivery.repository';

/** A flow's alert rule as its current version has it. */
export interface AlertRule {
  flowId: string;
  slug: string;
  alerts: AlertsDef;
}

/** A flow's alert window as stored, with the version its next write must match. */
export interface StoredAlertWindow extends AlertWindow {
  flowId: string;
  throttleMs: number;
  version: number;
}

/** A window's change as the alert rules decided it, with the message it sends, if any. */
export interface AlertWindowWrite {
  flowId: string;
  /** The window's version the decision was made on (0: no row yet). */
  version: number;
  throttleMs: number;
  window: AlertWindow;
  /** The run.failed counted by this write: counted once, however often it is dispatched. */
  eventId?: string;
  message?: NewOpsDelivery;
}

interface WindowRow {
  flowId: string;
  throttleMs: string;
  lastSentAt: Date | null;
  windowEndsAt: Date | null;
  pending: number;
  version: number;
}

const WINDOW_COLUMNS = `flow_id AS "flowId", throttle_ms AS "throttleMs", last_sent_at AS "lastSentAt",
  window_ends_at AS "windowEndsAt", pending, version`;

function toWindow(row: WindowRow): StoredAlertWindow {
  return {
    flowId: row.flowId,
    throttleMs: Number(row.throttleMs),
    lastSentAtMs: row.lastSentAt ? row.lastSentAt.getTime() : null,
    windowEndsAtMs: row.windowEndsAt ? row.windowEndsAt.getTime() : null,
    pending: row.pending,
    version: row.version,
  };
}

/**
 * The alert windows of flows with an alert rule (docs/alerts.md#alert-rules). Stores what the
 * rules (libs/flows, alert-rules.ts) decided, guarded by the window's version, so two workers
 * never both open a window nor count a failure twice.
 */
export class AlertStateRepository {
  constructor(
    private readonly ds: DataSource,
    private readonly deliveries: OpsDeliveryRepository = new OpsDeliveryRepository(ds),
  ) {}

  /** The alert rules of these flows' current versions (live flows that have one). */
  rules(flowIds: readonly string[]): Promise<AlertRule[]> {
    if (flowIds.length === 0) return Promise.resolve([]);
    return this.ds.query(
      `SELECT f.id AS "flowId", f.slug, v.definition->'alerts' AS alerts
         FROM flows f JOIN flow_versions v ON v.flow_id = f.id AND v.version = f.current_version
        WHERE f.id = ANY($1::uuid[]) AND f.deleted_at IS NULL AND v.definition->'alerts' IS NOT NULL`,
      [flowIds],
    );
  }

  /** The flow's window; undefined before its first alert. */
  async window(flowId: string): Promise<StoredAlertWindow | undefined> {
    const rows: WindowRow[] = await this.ds.query(
      `SELECT ${WINDOW_COLUMNS} FROM alert_states WHERE flow_id = $1`,
      [flowId],
    );
    return rows[0] && toWindow(rows[0]);
  }

  /** Windows that ended with failures counted and not told, oldest first. */
  async ended(limit: number): Promise<StoredAlertWindow[]> {
    const rows: WindowRow[] = await this.ds.query(
      `SELECT ${WINDOW_COLUMNS} FROM alert_states WHERE pending > 0 AND window_ends_at <= now()
        ORDER BY window_ends_at LIMIT $1`,
      [limit],
    );
    return rows.map(toWindow);
  }

  /**
   * Writes a decision in one transaction: the event counted (`duplicate` if it already was), the
   * window if still at `version` (`moved` if not: decide again), and the message.
   */
  async write(change: AlertWindowWrite): Promise<'written' | 'duplicate' | 'moved'> {
    return this.ds
      .transaction(async (m) => {
        if (change.eventId !== undefined) {
          const counted: unknown[] = await m.query(
            `INSERT INTO alert_events (flow_id, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1`,
            [change.flowId, change.eventId],
          );
          if (counted.length === 0) return 'duplicate';
        }
        const { window } = change;
        const written: unknown[] = await m.query(
          `INSERT INTO alert_states AS s (flow_id, throttle_ms, last_sent_at, window_ends_at, pending, version)
         VALUES ($1, $2, $3, $4, $5, 1)
         ON CONFLICT (flow_id) DO UPDATE
           SET throttle_ms = EXCLUDED.throttle_ms, last_sent_at = EXCLUDED.last_sent_at,
               window_ends_at = EXCLUDED.window_ends_at, pending = EXCLUDED.pending, version = s.version + 1
           WHERE s.version = $6
         RETURNING 1`,
          [
            change.flowId,
            change.throttleMs,
            window.lastSentAtMs === null ? null : new Date(window.lastSentAtMs),
            window.windowEndsAtMs === null ? null : new Date(window.windowEndsAtMs),
            window.pending,
            change.version,
          ],
        );
        // A first write (version 0) that met a row another worker made is `moved` too.
        if (written.length === 0) throw new WindowMoved();
        if (change.message) await this.deliveries.enqueue([change.message], m);
        return 'written';
      })
      .catch((err: unknown) => {
        if (err instanceof WindowMoved) return 'moved' as const;
        throw err;
      });
  }

  /** Forgets the counted event ids older than `olderThanMs` (a repeated dispatch comes within minutes). */
  async prune(olderThanMs: number): Promise<void> {
    await this.ds.query(`DELETE FROM alert_events WHERE at < now() - $1 * interval '1 millisecond'`, [
      olderThanMs,
    ]);
  }

  /** Drops the window of a flow whose rule is gone. */
  async forget(flowId: string): Promise<void> {
    await this.ds.query(`DELETE FROM alert_states WHERE flow_id = $1`, [flowId]);
  }
}

/** Thrown inside the transaction to roll it back (the event must not stay counted). */
class WindowMoved extends Error {}
