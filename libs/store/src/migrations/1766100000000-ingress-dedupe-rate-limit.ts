import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `event_dedupe`: one row per dedupe key and flow, naming the run the key first started. The
 * primary key is what makes concurrent duplicates safe: the row is inserted in the same
 * statement as the event and the run, so only one of them can win. Rows older than the dedupe
 * window no longer count (the insert takes them over); a retention job may delete them.
 *
 * `rate_limit_windows`: fixed-window request counters shared by every API replica. Unlogged:
 * they are worth nothing after a crash, and skipping the WAL keeps the per-request upsert cheap.
 */
export class IngressDedupeRateLimit1766100000000 implements MigrationInterface {
  name = 'IngressDedupeRateLimit1766100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE event_dedupe (
        flow_id uuid NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
        key text NOT NULL,
        run_id uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL,
        PRIMARY KEY (flow_id, key)
      )`);
    await q.query(`CREATE INDEX event_dedupe_created ON event_dedupe (created_at)`);
    await q.query(`CREATE INDEX event_dedupe_run ON event_dedupe (run_id)`);
    await q.query(`
      CREATE UNLOGGED TABLE rate_limit_windows (
        flow_id uuid NOT NULL,
        window_ms bigint NOT NULL,
        window_start timestamptz NOT NULL,
        count integer NOT NULL,
        expires_at timestamptz NOT NULL,
        PRIMARY KEY (flow_id, window_ms, window_start)
      )`);
    await q.query(`CREATE INDEX rate_limit_windows_expires ON rate_limit_windows (expires_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE rate_limit_windows`);
    await q.query(`DROP TABLE event_dedupe`);
  }
}
