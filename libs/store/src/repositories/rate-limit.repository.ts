import type { DataSource } from 'typeorm';

/** One request counted against a fixed window. */
export interface RateLimitHit {
  /** Requests in the current window, this one included. */
  count: number;
  /** Time left until the window ends (and a new one accepts again). */
  resetInMs: number;
}

/** The current window of `$2` milliseconds by the database clock: `ms` and `start`. */
const CURRENT_WINDOW = `
  SELECT $2::bigint AS ms,
         to_timestamp(floor(extract(epoch FROM clock_timestamp()) * 1000 / $2::bigint) * $2::bigint / 1000.0) AS start`;

/** Windows that ended longer ago than this are deleted by the occasional sweep. */
const SWEEP_GRACE_MS = 60_000;
const SWEEP_EVERY_MS = 60_000;

/** Fixed-window counters in PostgreSQL, on its clock, so that every API replica counts against one limit. */
export class RateLimitRepository {
  private lastSweepAt = 0;

  constructor(private readonly ds: DataSource) {}

  /** Counts one request for `flowId` in the current `windowMs` window, in one round trip. */
  async hit(flowId: string, windowMs: number): Promise<RateLimitHit> {
    this.maybeSweep();
    const rows: { count: number; reset_in_ms: string }[] = await this.ds.query(
      `WITH w AS (${CURRENT_WINDOW})
       INSERT INTO rate_limit_windows AS t (flow_id, window_ms, window_start, count, expires_at)
       SELECT $1, w.ms, w.start, 1, w.start + make_interval(secs => w.ms / 1000.0) FROM w
       ON CONFLICT (flow_id, window_ms, window_start) DO UPDATE SET count = t.count + 1
       RETURNING t.count, ceil(extract(epoch FROM t.expires_at - clock_timestamp()) * 1000) AS reset_in_ms`,
      [flowId, windowMs],
    );
    return { count: rows[0].count, resetInMs: Math.max(0, Number(rows[0].reset_in_ms)) };
  }

  /** The requests counted in the current window, without counting one (for a check before the body). */
  async peek(flowId: string, windowMs: number): Promise<RateLimitHit> {
    const rows: { count: number; reset_in_ms: string }[] = await this.ds.query(
      `WITH w AS (${CURRENT_WINDOW})
       SELECT coalesce(t.count, 0) AS count,
              ceil(extract(epoch FROM w.start + make_interval(secs => w.ms / 1000.0) - clock_timestamp()) * 1000)
                AS reset_in_ms
         FROM w LEFT JOIN rate_limit_windows t
           ON t.flow_id = $1 AND t.window_ms = w.ms AND t.window_start = w.start`,
      [flowId, windowMs],
    );
    return { count: rows[0].count, resetInMs: Math.max(0, Number(rows[0].reset_in_ms)) };
  }

  /** Old windows are worthless; deleting them now and then keeps the table small. Never awaited. */
  private maybeSweep(): void {
    if (Date.now() - this.lastSweepAt < SWEEP_EVERY_MS) return;
    this.lastSweepAt = Date.now();
    this.ds
      .query(
        `DELETE FROM rate_limit_windows
          WHERE expires_at < clock_timestamp() - make_interval(secs => $1::double precision / 1000)`,
        [SWEEP_GRACE_MS],
      )
      .catch(() => undefined);
  }
}
