import type { MigrationInterface, QueryRunner } from 'typeorm';

/** A code step's `console.log` lines, kept with its attempt (bounded by the engine). */
export class AttemptLogs1774000000000 implements MigrationInterface {
  name = 'AttemptLogs1774000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE step_attempts ADD COLUMN logs text[]`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE step_attempts DROP COLUMN logs`);
  }
}
