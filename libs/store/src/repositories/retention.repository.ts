import type { DataSource, QueryRunner } from 'typeorm';

/** Rows one statement deleted, by table. */
export interface PrunedRows {
  runs: number;
  step_runs: number;
  step_attempts: number;
  events: number;
  event_dedupe: number;
}

/** The tables retention deletes from, in the order a report names them. */
export const PRUNED_TABLES = ['runs', 'step_runs', 'step_attempts', 'events', 'event_dedupe'] as const;

export const NO_PRUNED_ROWS: Readonly<PrunedRows> = Object.freeze({
  runs: 0,
  step_runs: 0,
  step_attempts: 0,
  events: 0,
  event_dedupe: 0,
});

/** A batch and whether it was full (then more may be waiting). */
export interface PruneBatch {
  pruned: PrunedRows;
  /** Rows the batch picked, which is `limit` while more are left. */
  picked: number;
}

/** A run in one of these states changes no more unless someone retries it. */
const FINISHED_RUN = `('succeeded', 'failed', 'filtered', 'cancelled')`;

/**
 * Deletes old history in batches of one statement each (docs/operations.md#retention), on the
 * database clock; `tryLock` takes the schema's session lock on the connection that runs them.
 */
export class RetentionRepository {
  constructor(private readonly ds: DataSource) {}

  /** A connection of its own: the advisory lock belongs to a session. Release it when done. */
  async connect(): Promise<QueryRunner> {
    const runner = this.ds.createQueryRunner();
    await runner.connect();
    return runner;
  }

  /** True when this session now holds the retention lock of the schema; false when another does. */
  async tryLock(runner: QueryRunner, schema: string): Promise<boolean> {
    const rows: { locked: boolean }[] = await runner.query(
      `SELECT pg_try_advisory_lock(hashtext('hookflow_retention_' || $1)) AS locked`,
      [schema],
    );
    return rows[0].locked;
  }

  async unlock(runner: QueryRunner, schema: string): Promise<void> {
    await runner.query(`SELECT pg_advisory_unlock(hashtext('hookflow_retention_' || $1))`, [schema]);
  }

  /**
   * Up to `limit` runs finished more than `olderThanMs` ago, with their rows and event (unless a
   * replay uses it); a run with a step retrying, parked or leased is left alone whatever its status.
   */
  async pruneFinishedRuns(runner: QueryRunner, olderThanMs: number, limit: number): Promise<PruneBatch> {
    const rows: (PrunedRows & { picked: number })[] = await runner.query(
      // Ids travel as arrays (`= ANY`) so the planner looks each up by index, not a table-wide join.
      `WITH picked AS (
         SELECT coalesce(array_agg(id), '{}') AS ids,
                coalesce(array_agg(event_id) FILTER (WHERE event_id IS NOT NULL), '{}') AS event_ids
           FROM (
             SELECT r.id, r.event_id FROM runs r
              WHERE r.status IN ${FINISHED_RUN}
                AND r.finished_at < now() - make_interval(secs => $1::double precision / 1000)
                AND NOT EXISTS (
                  SELECT 1 FROM step_runs s
                   WHERE s.run_id = r.id
                     AND (s.status IN ('retrying', 'waiting') OR (s.status = 'running' AND s.lease_until > now())))
              ORDER BY r.finished_at
              LIMIT $2
              FOR UPDATE OF r SKIP LOCKED
           ) batch
       ), attempts AS (
         DELETE FROM step_attempts WHERE run_id = ANY((SELECT ids FROM picked)::uuid[]) RETURNING 1
       ), steps AS (
         DELETE FROM step_runs WHERE run_id = ANY((SELECT ids FROM picked)::uuid[]) RETURNING 1
       ), dedupe AS (
         DELETE FROM event_dedupe WHERE run_id = ANY((SELECT ids FROM picked)::uuid[]) RETURNING 1
       ), gone AS (
         DELETE FROM runs WHERE id = ANY((SELECT ids FROM picked)::uuid[]) RETURNING 1
       ), events_gone AS (
         -- An event goes with its run unless another run (a replay) still uses it. Every part of
         -- this statement sees the runs as they were before it, so this batch's runs are excluded by id.
         DELETE FROM events e
          WHERE e.id = ANY((SELECT event_ids FROM picked)::uuid[])
            AND NOT EXISTS (
              SELECT 1 FROM runs o WHERE o.event_id = e.id AND o.id <> ALL ((SELECT ids FROM picked)::uuid[]))
          RETURNING 1
       )
       SELECT cardinality(ids) AS picked,
              (SELECT count(*) FROM gone)::int AS runs,
              (SELECT count(*) FROM steps)::int AS step_runs,
              (SELECT count(*) FROM attempts)::int AS step_attempts,
              (SELECT count(*) FROM events_gone)::int AS events,
              (SELECT count(*) FROM dedupe)::int AS event_dedupe
         FROM picked`,
      [olderThanMs, limit],
    );
    const { picked, ...pruned } = rows[0];
    return { picked, pruned };
  }

  /** Up to `limit` refused requests (inspector rows, no run) received more than `olderThanMs` ago. */
  async pruneRefusedEvents(runner: QueryRunner, olderThanMs: number, limit: number): Promise<PruneBatch> {
    const rows: { events: number }[] = await runner.query(
      `WITH gone AS (
         DELETE FROM events WHERE id = ANY(ARRAY(
           SELECT id FROM events
            WHERE accepted = false AND received_at < now() - make_interval(secs => $1::double precision / 1000)
            ORDER BY received_at
            LIMIT $2
            FOR UPDATE SKIP LOCKED))
         RETURNING 1
       )
       SELECT count(*)::int AS events FROM gone`,
      [olderThanMs, limit],
    );
    return { picked: rows[0].events, pruned: { ...NO_PRUNED_ROWS, events: rows[0].events } };
  }

  /** Up to `limit` dedupe keys claimed more than `olderThanMs` ago; past its window a key stops nothing. */
  async pruneDedupeKeys(runner: QueryRunner, olderThanMs: number, limit: number): Promise<PruneBatch> {
    const rows: { event_dedupe: number }[] = await runner.query(
      `WITH gone AS (
         DELETE FROM event_dedupe WHERE ctid = ANY(ARRAY(
           SELECT ctid FROM event_dedupe
            WHERE created_at < now() - make_interval(secs => $1::double precision / 1000)
            ORDER BY created_at
            LIMIT $2
            FOR UPDATE SKIP LOCKED))
         RETURNING 1
       )
       SELECT count(*)::int AS event_dedupe FROM gone`,
      [olderThanMs, limit],
    );
    const n = rows[0].event_dedupe;
    return { picked: n, pruned: { ...NO_PRUNED_ROWS, event_dedupe: n } };
  }
}
