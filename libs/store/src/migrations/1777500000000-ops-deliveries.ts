import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Operational webhooks and alert rules (docs/alerts.md): `ops_subscriptions` (signing secrets
 * sealed like stored secrets), `ops_deliveries` (what the workers send, with retries; `key` makes
 * an enqueue repeated for the same event a no-op; `body` is json, which keeps the keys' order
 * as the receivers read it) and the alert windows per flow.
 */
export class OpsDeliveries1777500000000 implements MigrationInterface {
  name = 'OpsDeliveries1777500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE ops_subscriptions (
        id uuid PRIMARY KEY,
        url text NOT NULL,
        events text[] NOT NULL,
        flows text[] NOT NULL DEFAULT '{}',
        description text,
        enabled boolean NOT NULL DEFAULT true,
        secret_iv bytea NOT NULL,
        secret_ciphertext bytea NOT NULL,
        secret_auth_tag bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE ops_deliveries (
        id bigserial PRIMARY KEY,
        kind text NOT NULL CHECK (kind IN ('subscription', 'alert')),
        key text NOT NULL UNIQUE,
        subscription_id uuid REFERENCES ops_subscriptions (id) ON DELETE CASCADE,
        flow_id uuid,
        event_id text,
        event_type text NOT NULL,
        body json NOT NULL,
        status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
        attempts integer NOT NULL DEFAULT 0,
        next_at timestamptz NOT NULL DEFAULT now(),
        lease_until timestamptz,
        last_status integer,
        last_error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        delivered_at timestamptz
      )`);
    await q.query(`CREATE INDEX ops_deliveries_due ON ops_deliveries (next_at) WHERE status = 'pending'`);
    await q.query(`CREATE INDEX ops_deliveries_subscription ON ops_deliveries (subscription_id, id DESC)`);
    await q.query(
      `CREATE INDEX ops_deliveries_flow ON ops_deliveries (flow_id, id DESC) WHERE kind = 'alert'`,
    );
    // version: every write of a window is guarded by the one its decision was made on.
    await q.query(`
      CREATE TABLE alert_states (
        flow_id uuid PRIMARY KEY REFERENCES flows (id) ON DELETE CASCADE,
        throttle_ms bigint NOT NULL,
        last_sent_at timestamptz,
        window_ends_at timestamptz,
        pending integer NOT NULL DEFAULT 0,
        version integer NOT NULL DEFAULT 0
      )`);
    await q.query(`CREATE INDEX alert_states_due ON alert_states (window_ends_at) WHERE pending > 0`);
    // The failures an alert window counted: a dispatch repeated after a crash counts none twice.
    await q.query(`
      CREATE TABLE alert_events (
        flow_id uuid NOT NULL,
        event_id text NOT NULL,
        at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (flow_id, event_id)
      )`);
    // Subscriptions listen too: `run.succeeded` is written while an enabled one asks for it.
    await q.query(refreshInterests(true));
    await q.query(`
      CREATE TRIGGER ops_subscriptions_ops_interests AFTER INSERT OR UPDATE OR DELETE ON ops_subscriptions
        FOR EACH STATEMENT EXECUTE FUNCTION hookflow_flows_changed()`);
    await q.query(`SELECT hookflow_refresh_ops_interests()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER ops_subscriptions_ops_interests ON ops_subscriptions`);
    await q.query(refreshInterests(false));
    await q.query(`SELECT hookflow_refresh_ops_interests()`);
    await q.query(`DROP TABLE alert_events`);
    await q.query(`DROP TABLE alert_states`);
    await q.query(`DROP TABLE ops_deliveries`);
    await q.query(`DROP TABLE ops_subscriptions`);
  }
}

/** `hookflow_refresh_ops_interests` of 1777300000000 (event triggers), and with subscriptions the enabled ones' events. */
function refreshInterests(withSubscriptions: boolean): string {
  return `
    CREATE OR REPLACE FUNCTION hookflow_refresh_ops_interests() RETURNS void LANGUAGE sql AS $$
      -- One refresh at a time: two at once would each insert what the other just deleted.
      SELECT pg_advisory_xact_lock(hashtext('hookflow_ops_interests_' || current_schema()));
      DELETE FROM ops_interests;
      INSERT INTO ops_interests (type)
      SELECT DISTINCT jsonb_array_elements_text(v.definition -> 'trigger' -> 'on')
        FROM flows f JOIN flow_versions v ON v.flow_id = f.id AND v.version = f.current_version
       WHERE f.deleted_at IS NULL AND f.enabled AND v.definition -> 'trigger' ->> 'type' = 'event'
      ${withSubscriptions ? 'UNION SELECT unnest(events) FROM ops_subscriptions WHERE enabled' : ''}
      ON CONFLICT DO NOTHING;
    $$`;
}
