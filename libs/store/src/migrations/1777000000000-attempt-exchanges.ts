import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An action attempt's request and response (masked, bounded) and its destination; the index serves
 * per-destination figures over a time window (GET /api/stats) without reading every attempt.
 */
export class AttemptExchanges1777000000000 implements MigrationInterface {
  name = 'AttemptExchanges1777000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE step_attempts ADD COLUMN request jsonb, ADD COLUMN response jsonb, ADD COLUMN destination text`,
    );
    await q.query(
      `CREATE INDEX step_attempts_destination_started ON step_attempts (started_at)
        WHERE destination IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX step_attempts_destination_started`);
    await q.query(
      `ALTER TABLE step_attempts DROP COLUMN request, DROP COLUMN response, DROP COLUMN destination`,
    );
  }
}
