import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Step rows change status four times or so in a webhook's life. With `step_runs_unfinished` (a
 * partial index over the status) every one of those updates wrote new index entries; without it
 * the only index is the primary key, whose columns never change, so PostgreSQL can update the
 * row in place on its page (a HOT update: no index write at all) when the page has room, which
 * a fillfactor below 100 keeps. Runs get the same room for their version bumps. The reconciler,
 * the index's only reader, now starts from the live runs instead (runs_status_created).
 * A lower fillfactor applies to pages written from now on.
 */
export class StepRowsHotUpdates1770000000000 implements MigrationInterface {
  name = 'StepRowsHotUpdates1770000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS step_runs_unfinished`);
    await q.query(`ALTER TABLE step_runs SET (fillfactor = 70)`);
    await q.query(`ALTER TABLE runs SET (fillfactor = 80)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE runs RESET (fillfactor)`);
    await q.query(`ALTER TABLE step_runs RESET (fillfactor)`);
    await q.query(
      `CREATE INDEX step_runs_unfinished ON step_runs (enqueued_at)
         WHERE status IN ('pending', 'running', 'retrying', 'waiting')`,
    );
  }
}
