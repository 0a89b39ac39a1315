import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `api_sessions`: browser sign-ins (docs/api.md#signing-in-from-a-browser). The id is the SHA-256
 * of the cookie's token, never the token. A session stands for a stored key (deleting the key
 * deletes its sessions) or for the bootstrap `HOOKFLOW_API_KEY`, named by a short fingerprint so
 * that changing that key ends its sessions. The CSRF token is derived from the cookie's token,
 * so nothing of it is stored.
 */
export class ApiSessions1777200000000 implements MigrationInterface {
  name = 'ApiSessions1777200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE api_sessions (
        id bytea PRIMARY KEY,
        api_key_id uuid REFERENCES api_keys (id) ON DELETE CASCADE,
        bootstrap_fingerprint bytea,
        created_at timestamptz NOT NULL,
        last_seen_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        CONSTRAINT api_sessions_one_key CHECK ((api_key_id IS NULL) <> (bootstrap_fingerprint IS NULL))
      )`);
    // Deleting a key looks its sessions up by key.
    await q.query(`CREATE INDEX api_sessions_api_key ON api_sessions (api_key_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE api_sessions`);
  }
}
