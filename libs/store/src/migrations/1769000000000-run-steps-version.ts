import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `runs.steps_version` counts the changes that can alter what a run does next (a claim, a step's
 * end, a retry or cancel of the run). A worker that saw version v when it claimed a step may
 * record the step's end and move the run on in one statement, without the run lock and re-read,
 * as long as the version is still v; otherwise it takes the locked path.
 */
export class RunStepsVersion1769000000000 implements MigrationInterface {
  name = 'RunStepsVersion1769000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE runs ADD COLUMN steps_version integer NOT NULL DEFAULT 0`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE runs DROP COLUMN steps_version`);
  }
}
