import type { MigrationInterface, QueryRunner } from 'typeorm';

/** A polling trigger's state per flow, and the item keys it has seen (the latest, in order). */
export class Polls1776000000000 implements MigrationInterface {
  name = 'Polls1776000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE poll_states (
         flow_id uuid PRIMARY KEY REFERENCES flows (id) ON DELETE CASCADE,
         polls bigint NOT NULL DEFAULT 0,
         first_polled_at timestamptz NOT NULL,
         last_polled_at timestamptz NOT NULL
       )`,
    );
    await q.query(
      `CREATE TABLE poll_keys (
         flow_id uuid NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
         key text NOT NULL,
         seq bigserial NOT NULL,
         seen_at timestamptz NOT NULL,
         PRIMARY KEY (flow_id, key)
       )`,
    );
    await q.query(`CREATE INDEX poll_keys_flow_seq ON poll_keys (flow_id, seq)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE poll_keys`);
    await q.query(`DROP TABLE poll_states`);
  }
}
