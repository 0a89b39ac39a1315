import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The engine core's tables. Step runs are keyed by (run, step) so the worker's hot path is a
 * primary-key update; the partial index on unfinished steps keeps the reconciler's scan small.
 */
export class InitialSchema1764000000000 implements MigrationInterface {
  name = 'InitialSchema1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE flows (
        id uuid PRIMARY KEY,
        slug text NOT NULL,
        name text,
        description text,
        enabled boolean NOT NULL DEFAULT true,
        current_version integer NOT NULL,
        source text NOT NULL DEFAULT 'api',
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        deleted_at timestamptz
      )`);
    await q.query(`CREATE UNIQUE INDEX flows_slug_live ON flows (slug) WHERE deleted_at IS NULL`);

    await q.query(`
      CREATE TABLE flow_versions (
        id uuid PRIMARY KEY,
        flow_id uuid NOT NULL REFERENCES flows (id),
        version integer NOT NULL,
        definition jsonb NOT NULL,
        checksum text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (flow_id, version)
      )`);

    await q.query(`
      CREATE TABLE triggers (
        id uuid PRIMARY KEY,
        flow_id uuid NOT NULL UNIQUE REFERENCES flows (id),
        key text NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now(),
        rotated_at timestamptz
      )`);

    await q.query(`
      CREATE TABLE events (
        id uuid PRIMARY KEY,
        flow_id uuid NOT NULL REFERENCES flows (id),
        method text NOT NULL,
        headers jsonb NOT NULL,
        query jsonb NOT NULL,
        body jsonb,
        raw_body bytea,
        content_type text,
        source_ip text,
        received_at timestamptz NOT NULL DEFAULT now(),
        status_code integer NOT NULL,
        accepted boolean NOT NULL,
        reason text,
        run_id uuid
      )`);
    await q.query(`CREATE INDEX events_flow_received ON events (flow_id, received_at DESC, id DESC)`);

    await q.query(`
      CREATE TABLE runs (
        id uuid PRIMARY KEY,
        flow_id uuid NOT NULL REFERENCES flows (id),
        flow_version_id uuid NOT NULL REFERENCES flow_versions (id),
        event_id uuid REFERENCES events (id),
        status text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        finished_at timestamptz,
        origin_run_id uuid REFERENCES runs (id)
      )`);
    // GET /api/runs filters by flow and/or status and pages newest first by (created_at, id).
    await q.query(`CREATE INDEX runs_created ON runs (created_at DESC, id DESC)`);
    await q.query(`CREATE INDEX runs_flow_created ON runs (flow_id, created_at DESC, id DESC)`);
    await q.query(`CREATE INDEX runs_status_created ON runs (status, created_at DESC, id DESC)`);

    await q.query(`
      CREATE TABLE step_runs (
        run_id uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        step_id text NOT NULL,
        position integer NOT NULL,
        status text NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        input jsonb,
        output jsonb,
        error jsonb,
        enqueued_at timestamptz,
        lease_until timestamptz,
        started_at timestamptz,
        finished_at timestamptz,
        PRIMARY KEY (run_id, step_id)
      )`);
    await q.query(
      `CREATE INDEX step_runs_unfinished ON step_runs (enqueued_at)
         WHERE status IN ('pending', 'running', 'retrying')`,
    );

    await q.query(`
      CREATE TABLE step_attempts (
        id bigserial PRIMARY KEY,
        run_id uuid NOT NULL,
        step_id text NOT NULL,
        n integer NOT NULL,
        started_at timestamptz NOT NULL,
        duration_ms integer NOT NULL,
        outcome text NOT NULL,
        error jsonb,
        response_status integer,
        FOREIGN KEY (run_id, step_id) REFERENCES step_runs (run_id, step_id) ON DELETE CASCADE
      )`);
    await q.query(`CREATE UNIQUE INDEX step_attempts_step ON step_attempts (run_id, step_id, n)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of [
      'step_attempts',
      'step_runs',
      'runs',
      'events',
      'triggers',
      'flow_versions',
      'flows',
    ]) {
      await q.query(`DROP TABLE IF EXISTS ${table}`);
    }
  }
}
