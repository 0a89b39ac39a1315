import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What searching runs and watching them change need (docs/operations.md, "Searching runs"):
 *
 * - `events_body_search`, `step_runs_output_search`: GIN (`jsonb_ops`, which indexes every key
 *   and value whatever its depth) over a webhook's body and a step's output as jsonb, for
 *   `@@ '$.** == "..."'`. The columns are `json` (key order kept), so the index is on the cast.
 * - `runs.changed_at` (when the run was created or last changed status) and `runs_changed`: the
 *   run stream's poller reads what changed since its last read. Set only when the status
 *   changes, so the version bumps that keep the status stay HOT updates.
 *
 * Built CONCURRENTLY, outside a transaction, where the table has rows: on millions of rows a plain
 * build holds writes (ingress, the worker) for minutes. An empty table (a new install, each test's
 * schema) gets a plain build: CONCURRENTLY would wait for every older snapshot in the database.
 * A build that failed leaves an invalid index, dropped and built again by the next start.
 */
export class RunSearch1777100000000 implements MigrationInterface {
  name = 'RunSearch1777100000000';
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE runs ADD COLUMN IF NOT EXISTS changed_at timestamptz`);
    await q.query(`ALTER TABLE runs ALTER COLUMN changed_at SET DEFAULT clock_timestamp()`);
    await build(q, 'runs_changed', `runs (changed_at, id) WHERE changed_at IS NOT NULL`);
    await build(
      q,
      'events_body_search',
      `events USING gin ((body::jsonb)) WHERE accepted AND body IS NOT NULL`,
    );
    await build(
      q,
      'step_runs_output_search',
      `step_runs USING gin ((output::jsonb)) WHERE output IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX CONCURRENTLY IF EXISTS step_runs_output_search`);
    await q.query(`DROP INDEX CONCURRENTLY IF EXISTS events_body_search`);
    await q.query(`DROP INDEX CONCURRENTLY IF EXISTS runs_changed`);
    await q.query(`ALTER TABLE runs DROP COLUMN IF EXISTS changed_at`);
  }
}

/** Builds index `name` unless a valid one exists; an invalid one (a build interrupted) is dropped first. */
async function build(q: QueryRunner, name: string, definition: string): Promise<void> {
  const rows: { valid: boolean }[] = await q.query(
    `SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
      WHERE c.relname = $1 AND c.relnamespace = current_schema()::regnamespace`,
    [name],
  );
  if (rows[0]?.valid) return;
  if (rows[0]) await q.query(`DROP INDEX CONCURRENTLY ${name}`);
  const table = definition.split(' ')[0];
  const [{ filled }]: { filled: boolean }[] = await q.query(
    `SELECT EXISTS (SELECT 1 FROM ${table}) AS filled`,
  );
  await q.query(`CREATE INDEX ${filled ? 'CONCURRENTLY ' : ''}${name} ON ${definition}`);
}
