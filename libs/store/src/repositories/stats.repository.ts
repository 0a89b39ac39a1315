import type { RunStatus } from '@hookflow/flows';
import type { DataSource } from 'typeorm';

/** A window cut into buckets: runs created (attempts started) in [since, until), by `bucket`. */
export interface StatsWindow {
  since: Date;
  until: Date;
  /** PostgreSQL interval of one bucket: `1 minute`, `1 hour`, `1 day`. */
  bucket: string;
  /** Start of the first bucket (the buckets are `origin + k * bucket`). */
  origin: Date;
  /** Only runs of the flow(s) with this slug (a deleted flow's too). */
  flowSlug?: string;
  /** Most flows and most destinations listed (those with most failures, then most runs or attempts). */
  top: number;
}

export type RunCounts = Record<RunStatus, number>;

export interface FlowBucket {
  at: Date;
  total: number;
  failed: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

export interface FlowStats extends Omit<FlowBucket, 'at'> {
  flow: string;
  series: FlowBucket[];
}

export interface DestinationBucket {
  at: Date;
  attempts: number;
  failed: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

export interface DestinationStats extends Omit<DestinationBucket, 'at'> {
  destination: string;
  lastStatus: number | null;
  lastAttemptAt: Date | null;
  lastError: { code: string; message: string } | null;
  series: DestinationBucket[];
}

export interface WindowStats {
  /** Runs by status per bucket start (buckets with none absent). */
  runs: { at: Date; status: RunStatus; count: number }[];
  flows: FlowStats[];
  destinations: DestinationStats[];
  /** How many flows and destinations the window had in all (the lists hold at most `top`). */
  flowCount: number;
  destinationCount: number;
}

const FLOW_FILTER = `AND ($5::text IS NULL OR r.flow_id IN (SELECT id FROM flows WHERE slug = $5))`;

/** Runs of the window by bucket and status; `runs_created` bounds the scan to the window. */
const RUNS_BY_STATUS = `
  SELECT date_bin($3::interval, r.created_at, $4::timestamptz) AS at, r.status, count(*)::int AS count
    FROM runs r
   WHERE r.created_at >= $1 AND r.created_at < $2 ${FLOW_FILTER}
   GROUP BY 1, 2`;

/** Per flow and per flow and bucket (one scan, grouping sets): runs, failures, duration percentiles of finished runs. */
const FLOWS = `
  WITH w AS (
    SELECT r.flow_id, date_bin($3::interval, r.created_at, $4::timestamptz) AS at, r.status,
           extract(epoch FROM r.finished_at - r.created_at) * 1000 AS ms
      FROM runs r
     WHERE r.created_at >= $1 AND r.created_at < $2 ${FLOW_FILTER}
  )
  , g AS (
    SELECT f.slug AS flow, w.at, count(*)::int AS total, count(*) FILTER (WHERE w.status = 'failed')::int AS failed,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY w.ms) AS p50,
           percentile_cont(0.99) WITHIN GROUP (ORDER BY w.ms) AS p99
      FROM w JOIN flows f ON f.id = w.flow_id
     GROUP BY GROUPING SETS ((f.slug, w.at), (f.slug))
  ), top AS (
    SELECT flow FROM g WHERE at IS NULL ORDER BY failed DESC, total DESC, flow LIMIT $6
  )
  SELECT g.*, (SELECT count(*) FROM g WHERE at IS NULL)::int AS count
    FROM g WHERE g.flow IN (SELECT flow FROM top)`;

/** Per destination and per destination and bucket: attempts, failures (failed or retrying), duration percentiles. */
const DESTINATIONS = `
  WITH w AS MATERIALIZED (
    SELECT a.destination, a.started_at, date_bin($3::interval, a.started_at, $4::timestamptz) AS at,
           a.duration_ms, a.outcome, a.response_status, a.error
      FROM step_attempts a
     WHERE a.destination IS NOT NULL AND a.started_at >= $1 AND a.started_at < $2
       AND ($5::text IS NULL OR a.run_id IN (SELECT r.id FROM runs r JOIN flows f ON f.id = r.flow_id
                                              WHERE f.slug = $5))
  ), g AS (
    SELECT destination, at, count(*)::int AS attempts,
           count(*) FILTER (WHERE outcome IN ('failed', 'retrying'))::int AS failed,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) AS p50,
           percentile_cont(0.99) WITHIN GROUP (ORDER BY duration_ms) AS p99
      FROM w GROUP BY GROUPING SETS ((destination, at), (destination))
  ), top AS (
    SELECT destination FROM g WHERE at IS NULL ORDER BY failed DESC, attempts DESC, destination LIMIT $6
  ), l AS (
    SELECT DISTINCT ON (destination) destination, started_at, response_status
      FROM w WHERE destination IN (SELECT destination FROM top) ORDER BY destination, started_at DESC
  ), e AS (
    SELECT DISTINCT ON (destination) destination, error
      FROM w WHERE error IS NOT NULL AND destination IN (SELECT destination FROM top)
     ORDER BY destination, started_at DESC
  )
  SELECT g.*, l.started_at AS last_at, l.response_status AS last_status, e.error AS last_error,
         (SELECT count(*) FROM g WHERE at IS NULL)::int AS count
    FROM g LEFT JOIN l ON g.at IS NULL AND l.destination = g.destination
           LEFT JOIN e ON g.at IS NULL AND e.destination = g.destination
   WHERE g.destination IN (SELECT destination FROM top)`;

interface GroupRow {
  at: Date | null;
  p50: number | null;
  p99: number | null;
}

function ms(value: number | string | null): number | null {
  return value === null ? null : Math.round(Number(value));
}

/** Figures over a time window for the dashboard: runs by status, per flow, per destination (GET /api/stats). */
export class StatsRepository {
  constructor(private readonly ds: DataSource) {}

  async window(w: StatsWindow): Promise<WindowStats> {
    const params = [w.since, w.until, w.bucket, w.origin, w.flowSlug ?? null, w.top];
    // One snapshot: totals, flows and destinations agree with each other.
    return this.ds.transaction('REPEATABLE READ', async (m) => {
      const runs: { at: Date; status: RunStatus; count: number }[] = await m.query(
        RUNS_BY_STATUS,
        params.slice(0, 5),
      );
      const flowRows: (GroupRow & { flow: string; total: number; failed: number; count: number })[] =
        await m.query(FLOWS, params);
      const destinationRows: (GroupRow & {
        destination: string;
        attempts: number;
        failed: number;
        last_at: Date | null;
        last_status: number | null;
        last_error: { code: string; message: string } | null;
        count: number;
      })[] = await m.query(DESTINATIONS, params);

      const flows = new Map<string, FlowStats>();
      for (const row of flowRows.filter((r) => r.at === null)) {
        flows.set(row.flow, {
          flow: row.flow,
          total: row.total,
          failed: row.failed,
          p50Ms: ms(row.p50),
          p99Ms: ms(row.p99),
          series: [],
        });
      }
      for (const row of flowRows.filter((r) => r.at !== null)) {
        flows.get(row.flow)?.series.push({
          at: row.at!,
          total: row.total,
          failed: row.failed,
          p50Ms: ms(row.p50),
          p99Ms: ms(row.p99),
        });
      }
      const destinations = new Map<string, DestinationStats>();
      for (const row of destinationRows.filter((r) => r.at === null)) {
        destinations.set(row.destination, {
          destination: row.destination,
          attempts: row.attempts,
          failed: row.failed,
          p50Ms: ms(row.p50),
          p99Ms: ms(row.p99),
          lastStatus: row.last_status,
          lastAttemptAt: row.last_at,
          lastError: row.last_error && { code: row.last_error.code, message: row.last_error.message },
          series: [],
        });
      }
      for (const row of destinationRows.filter((r) => r.at !== null)) {
        destinations.get(row.destination)?.series.push({
          at: row.at!,
          attempts: row.attempts,
          failed: row.failed,
          p50Ms: ms(row.p50),
          p99Ms: ms(row.p99),
        });
      }
      return {
        runs,
        flows: [...flows.values()],
        destinations: [...destinations.values()],
        flowCount: flowRows[0]?.count ?? 0,
        destinationCount: destinationRows[0]?.count ?? 0,
      };
    });
  }
}
