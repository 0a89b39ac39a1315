import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A retried step gets a fresh attempt budget without reusing attempt numbers (attempt rows are
 * unique per step and number): `attempts_base` is the count of attempts already used when the
 * step was last reopened, and the budget is checked against `attempts - attempts_base`.
 */
export class StepAttemptsBase1765000000000 implements MigrationInterface {
  name = 'StepAttemptsBase1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE step_runs ADD COLUMN attempts_base integer NOT NULL DEFAULT 0`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE step_runs DROP COLUMN attempts_base`);
  }
}
