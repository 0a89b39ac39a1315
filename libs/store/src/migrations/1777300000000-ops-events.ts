import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `ops_events`: the outbox of operational events (docs/alerts.md). A run's end is written by a
 * trigger in the same transaction as the end itself, so no failure goes unheard when a process
 * dies; the workers dispatch the rows and delete them. `run.succeeded` is written only while
 * someone listens for it (`ops_interests`, recomputed whenever flows change), since every run
 * would pay for it.
 */
export class OpsEvents1777300000000 implements MigrationInterface {
  name = 'OpsEvents1777300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE ops_events (
        id bigserial PRIMARY KEY,
        type text NOT NULL,
        at timestamptz NOT NULL DEFAULT now(),
        flow_id uuid,
        run_id uuid,
        data jsonb NOT NULL DEFAULT '{}',
        lease_until timestamptz
      )`);
    await q.query(`CREATE TABLE ops_interests (type text PRIMARY KEY)`);
    // Per flow and type, when an event limited to one a minute (trigger.refused) last went out.
    await q.query(`
      CREATE TABLE ops_event_limits (
        flow_id uuid NOT NULL,
        type text NOT NULL,
        last_at timestamptz NOT NULL,
        suppressed integer NOT NULL DEFAULT 0,
        PRIMARY KEY (flow_id, type)
      )`);
    await q.query(`
      CREATE FUNCTION hookflow_refresh_ops_interests() RETURNS void LANGUAGE sql AS $$
        -- One refresh at a time: two at once would each insert what the other just deleted.
        SELECT pg_advisory_xact_lock(hashtext('hookflow_ops_interests_' || current_schema()));
        DELETE FROM ops_interests;
        INSERT INTO ops_interests (type)
        SELECT DISTINCT jsonb_array_elements_text(v.definition -> 'trigger' -> 'on')
          FROM flows f JOIN flow_versions v ON v.flow_id = f.id AND v.version = f.current_version
         WHERE f.deleted_at IS NULL AND f.enabled AND v.definition -> 'trigger' ->> 'type' = 'event'
        ON CONFLICT DO NOTHING;
      $$`);
    await q.query(`
      CREATE FUNCTION hookflow_flows_changed() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM hookflow_refresh_ops_interests();
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE TRIGGER flows_ops_interests AFTER INSERT OR UPDATE OR DELETE ON flows
        FOR EACH STATEMENT EXECUTE FUNCTION hookflow_flows_changed()`);
    // A new flow's row may come before its first version's.
    await q.query(`
      CREATE TRIGGER flow_versions_ops_interests AFTER INSERT ON flow_versions
        FOR EACH STATEMENT EXECUTE FUNCTION hookflow_flows_changed()`);
    await q.query(`
      CREATE FUNCTION hookflow_run_ended() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.status = 'succeeded' AND NOT EXISTS (SELECT 1 FROM ops_interests WHERE type = 'run.succeeded') THEN
          RETURN NULL;
        END IF;
        INSERT INTO ops_events (type, flow_id, run_id) VALUES ('run.' || NEW.status, NEW.flow_id, NEW.id);
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE TRIGGER runs_ended AFTER UPDATE OF status ON runs FOR EACH ROW
        WHEN (NEW.status IN ('failed', 'succeeded') AND OLD.status IS DISTINCT FROM NEW.status)
        EXECUTE FUNCTION hookflow_run_ended()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER runs_ended ON runs`);
    await q.query(`DROP FUNCTION hookflow_run_ended()`);
    await q.query(`DROP TRIGGER flow_versions_ops_interests ON flow_versions`);
    await q.query(`DROP TRIGGER flows_ops_interests ON flows`);
    await q.query(`DROP FUNCTION hookflow_flows_changed()`);
    await q.query(`DROP FUNCTION hookflow_refresh_ops_interests()`);
    await q.query(`DROP TABLE ops_event_limits`);
    await q.query(`DROP TABLE ops_interests`);
    await q.query(`DROP TABLE ops_events`);
  }
}
