import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A webhook's body and a step's input and output keep their keys in the order they were written:
 * `json` stores the text, where `jsonb` reorders keys (people read, diff and compare these bodies).
 */
export class JsonKeepsOrder1772000000000 implements MigrationInterface {
  name = 'JsonKeepsOrder1772000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE step_runs ALTER COLUMN input TYPE json USING input::json,
                            ALTER COLUMN output TYPE json USING output::json`);
    await q.query(`ALTER TABLE events ALTER COLUMN body TYPE json USING body::json`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE step_runs ALTER COLUMN input TYPE jsonb USING input::jsonb,
                            ALTER COLUMN output TYPE jsonb USING output::jsonb`);
    await q.query(`ALTER TABLE events ALTER COLUMN body TYPE jsonb USING body::jsonb`);
  }
}
