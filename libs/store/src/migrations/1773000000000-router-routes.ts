import type { MigrationInterface, QueryRunner } from 'typeorm';

/** A router step records the paths it took; the run's state machine reads them to skip or run what is on them. */
export class RouterRoutes1773000000000 implements MigrationInterface {
  name = 'RouterRoutes1773000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE step_runs ADD COLUMN routes text[]`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE step_runs DROP COLUMN routes`);
  }
}
