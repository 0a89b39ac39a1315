import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What the worker's retention pruning needs to delete in small batches without scanning:
 *
 * - `runs_finished`: the oldest finished runs, found in the order they finished.
 * - `runs_event`: whether another run (a replay) still uses an event, and the foreign-key check
 *   PostgreSQL makes on `runs.event_id` for every event deleted.
 * - `runs_origin`: the same check for `runs.origin_run_id`, made for every run deleted. A replay
 *   outlives the run it replays: the link is cleared (ON DELETE SET NULL) instead of refusing the delete.
 * - `events_refused_received`: refusals (kept for the inspector, no run) found by age.
 */
export class Retention1768000000000 implements MigrationInterface {
  name = 'Retention1768000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX runs_finished ON runs (finished_at)
         WHERE status IN ('succeeded', 'failed', 'filtered', 'cancelled')`,
    );
    await q.query(`CREATE INDEX runs_event ON runs (event_id)`);
    await q.query(`CREATE INDEX runs_origin ON runs (origin_run_id) WHERE origin_run_id IS NOT NULL`);
    await q.query(`ALTER TABLE runs DROP CONSTRAINT runs_origin_run_id_fkey`);
    await q.query(
      `ALTER TABLE runs ADD CONSTRAINT runs_origin_run_id_fkey
         FOREIGN KEY (origin_run_id) REFERENCES runs (id) ON DELETE SET NULL`,
    );
    await q.query(`CREATE INDEX events_refused_received ON events (received_at) WHERE accepted = false`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX events_refused_received`);
    await q.query(`ALTER TABLE runs DROP CONSTRAINT runs_origin_run_id_fkey`);
    await q.query(
      `ALTER TABLE runs ADD CONSTRAINT runs_origin_run_id_fkey FOREIGN KEY (origin_run_id) REFERENCES runs (id)`,
    );
    await q.query(`DROP INDEX runs_origin`);
    await q.query(`DROP INDEX runs_event`);
    await q.query(`DROP INDEX runs_finished`);
  }
}
