import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Management API keys get a scope: `read` (GET only), `write` (also changes flows, runs and
 * secrets) or `admin` (also manages keys). Keys made before could do everything, so they become
 * `admin`; the default stays, so an API of the previous release, during a rolling upgrade, still
 * makes keys that work as before.
 */
export class ApiKeyScopes1771100000000 implements MigrationInterface {
  name = 'ApiKeyScopes1771100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE api_keys
        ADD COLUMN scope text NOT NULL DEFAULT 'admin'
        CONSTRAINT api_keys_scope CHECK (scope IN ('read', 'write', 'admin'))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE api_keys DROP COLUMN scope`);
  }
}
