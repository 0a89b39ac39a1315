import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * How often the reconciler re-enqueued a step (since the run was last retried): past a bound it
 * fails the step (`requeue_limit`) rather than re-enqueue it forever. A constant default makes the
 * new column a catalog change only (no table rewrite).
 */
export class StepRequeues1771000000000 implements MigrationInterface {
  name = 'StepRequeues1771000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE step_runs ADD COLUMN requeues integer NOT NULL DEFAULT 0`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE step_runs DROP COLUMN requeues`);
  }
}
