import type { MigrationInterface, QueryRunner } from 'typeorm';

/** A loop's item rows: their item and its index; every step's output size, which a loop's end adds up. */
export class LoopItems1775000000000 implements MigrationInterface {
  name = 'LoopItems1775000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE step_runs ADD COLUMN item_index integer, ADD COLUMN item json, ADD COLUMN output_bytes integer`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE step_runs DROP COLUMN item_index, DROP COLUMN item, DROP COLUMN output_bytes`);
  }
}
