import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Delay steps park in the `waiting` status until `resume_at`; the reconciler's partial index
 * covers waiting steps too, so a parked step whose queue job was lost is found again after its time.
 */
export class StepResumeAt1767000000000 implements MigrationInterface {
  name = 'StepResumeAt1767000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE step_runs ADD COLUMN resume_at timestamptz`);
    await q.query(`DROP INDEX IF EXISTS step_runs_unfinished`);
    await q.query(
      `CREATE INDEX step_runs_unfinished ON step_runs (enqueued_at)
         WHERE status IN ('pending', 'running', 'retrying', 'waiting')`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS step_runs_unfinished`);
    await q.query(
      `CREATE INDEX step_runs_unfinished ON step_runs (enqueued_at)
         WHERE status IN ('pending', 'running', 'retrying')`,
    );
    await q.query(`ALTER TABLE step_runs DROP COLUMN resume_at`);
  }
}
