import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `destinations`: the circuit breaker's state per `host:port`, shared by all workers (docs/outbound.md,
 * "Circuit breaker"); a row appears at a destination's first failure. `destination_waits`: the steps
 * held for a paused destination, counted by GET /api/destinations and failed when it is disabled.
 */
export class Destinations1777400000000 implements MigrationInterface {
  name = 'Destinations1777400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE destinations (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        host text NOT NULL UNIQUE,
        state text NOT NULL DEFAULT 'healthy' CHECK (state IN ('healthy', 'paused', 'disabled')),
        paused_by text CHECK (paused_by IN ('breaker', 'hand')),
        consecutive_failures integer NOT NULL DEFAULT 0,
        last_success_at timestamptz,
        last_failure_at timestamptz,
        last_error jsonb,
        failing_since timestamptz,
        paused_until timestamptz,
        cooldown_ms integer,
        probe_until timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE destination_waits (
        run_id uuid NOT NULL,
        step_id text NOT NULL,
        destination_id uuid NOT NULL REFERENCES destinations (id) ON DELETE CASCADE,
        since timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (run_id, step_id),
        FOREIGN KEY (run_id, step_id) REFERENCES step_runs (run_id, step_id) ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX destination_waits_destination ON destination_waits (destination_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE destination_waits`);
    await q.query(`DROP TABLE destinations`);
  }
}
