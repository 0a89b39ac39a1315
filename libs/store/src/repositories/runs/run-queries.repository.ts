import type { RunStatus } from '@hookflow/flows';
import type { DataSource, EntityManager } from 'typeorm';
import { Attempt, Event, Run, StepRun } from '../../entities';
import { decodeCursor, encodeCursor } from '../cursor';
import { InvalidCursorError } from './run-sql';

export interface RunListFilter {
  flowId?: string;
  status?: RunStatus;
  /** Runs created at or after this time. */
  since?: Date;
  /** Runs created before this time. */
  until?: Date;
  /** A value in the run's trigger body or in one of its steps' outputs (`runSearchPath`). */
  q?: string;
  limit: number;
  cursor?: string;
}

/** A run as a list shows it. */
export interface RunListItem {
  id: string;
  flowSlug: string;
  version: number;
  status: RunStatus;
  eventId: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/** A row of `runListQuery`. */
interface RunListRow {
  id: string;
  flow_slug: string;
  version: number;
  status: RunStatus;
  event_id: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

const toArgs = (q: { text: string; values: unknown[] }): [string, unknown[]] => [q.text, q.values];

/** What a list's filter adds to `FROM runs r`. */
export interface RunFilterSql {
  where: string;
  values: unknown[];
}

/**
 * How a filter with `q` finds its runs. `ids`: among these runs (the search's hits, gathered
 * first: `RunQueries.searchHits`); `scan`: each run in list order checked on its own (a value in
 * too many runs for the first); `join`: every match at once, for a bulk retry that takes them all.
 */
export type RunSearchPlan = { kind: 'ids'; ids: string[] } | { kind: 'scan' } | { kind: 'join' };

/** A search's hits gathered up to this many; beyond, a list checks runs one by one in its order. */
export const SEARCH_HITS_CAP = 10_000;
/** A search that must check runs one by one gives up after this long (too broad: narrow it). */
export const SEARCH_SCAN_TIMEOUT_MS = 10_000;

/** No run to list: `q` is in too many runs to order them in time; the caller narrows the filter. */
export class SearchTooBroadError extends Error {}

/**
 * Numbers as a person types them; leading zeros (a zip, an id) stay text only. Bounded: what
 * jsonpath reads as numeric must not overflow it.
 */
const NUMBER = /^-?(0|[1-9][0-9]{0,29})(\.[0-9]{1,30})?$/;

/**
 * The jsonpath that finds `q` as a value at any depth: equal to the string, or when `q` reads as a
 * number, to that number. Passed as one parameter; the string is a jsonpath string literal
 * written by JSON.stringify, whose escapes jsonpath reads the same way, so no `q` can be more
 * than a literal. Matches what GIN `jsonb_ops` indexes (every value, whatever its path).
 */
export function runSearchPath(q: string): string {
  const text = `$.** == ${JSON.stringify(q)}`;
  return NUMBER.test(q) ? `${text} || $.** == ${q}` : text;
}

// The same expressions and conditions as the partial GIN indexes (migration 1777100000000).
const BODY_MATCHES = (e: string, path: string) =>
  `${e}.accepted AND ${e}.body IS NOT NULL AND ${e}.body::jsonb @@ ${path}`;
const OUTPUT_MATCHES = (s: string, path: string) =>
  `${s}.output IS NOT NULL AND ${s}.output::jsonb @@ ${path}`;

/**
 * Run ids whose trigger body (replays share it) or a step output holds the value of jsonpath `path`
 * (an SQL expression), each arm up to `limit`. OFFSET 0: a lookup per event (runs_event); the
 * planner, which cannot tell how many events match, would rather scan every run to hash them.
 */
const hitsSql = (path: string, limit = '') => `
        (SELECT hit.id FROM events e
           CROSS JOIN LATERAL (SELECT id FROM runs WHERE event_id = e.id OFFSET 0) hit
          WHERE ${BODY_MATCHES('e', path)}${limit})
        UNION
        (SELECT s.run_id FROM step_runs s WHERE ${OUTPUT_MATCHES('s', path)}${limit})`;

/** The conditions of a run filter on `runs r`, for the list and the bulk retry alike. */
export function runFilterSql(
  filter: Omit<RunListFilter, 'limit' | 'cursor'>,
  plan: RunSearchPlan = { kind: 'join' },
): RunFilterSql {
  const where: string[] = [];
  const values: unknown[] = [];
  const param = (value: unknown) => `$${values.push(value)}`;
  if (filter.flowId) where.push(`r.flow_id = ${param(filter.flowId)}::uuid`);
  if (filter.status) where.push(`r.status = ${param(filter.status)}`);
  if (filter.since) where.push(`r.created_at >= ${param(filter.since)}::timestamptz`);
  if (filter.until) where.push(`r.created_at < ${param(filter.until)}::timestamptz`);
  if (filter.q !== undefined) {
    if (plan.kind === 'ids') {
      where.push(`r.id = ANY (${param(plan.ids)}::uuid[])`);
    } else {
      const path = `${param(runSearchPath(filter.q))}::jsonpath`;
      where.push(
        plan.kind === 'join'
          ? `r.id IN (${hitsSql(path)})`
          : // OFFSET 0: checked per run, where PostgreSQL would rather hash every match (all of them, for a common value).
            `(EXISTS (SELECT 1 FROM events e WHERE e.id = r.event_id AND ${BODY_MATCHES('e', path)} OFFSET 0)
              OR EXISTS (SELECT 1 FROM step_runs s WHERE s.run_id = r.id AND ${OUTPUT_MATCHES('s', path)} OFFSET 0))`,
      );
    }
  }
  return { where: where.length > 0 ? where.join(' AND ') : 'true', values };
}

/** GET /api/runs's statement: a page of runs, newest first, one more than the page to tell whether more follow. */
export function runListQuery(
  filter: RunListFilter,
  plan?: RunSearchPlan,
): { text: string; values: unknown[] } {
  const { where, values } = runFilterSql(filter, plan);
  let keyset = '';
  if (filter.cursor) {
    const c = decodeCursor(filter.cursor);
    if (!c) throw new InvalidCursorError('cursor is not one this server gave out');
    values.push(c.at, c.id);
    keyset = ` AND (r.created_at, r.id) < ($${values.length - 1}::timestamptz, $${values.length}::uuid)`;
  }
  values.push(filter.limit + 1);
  return {
    text: `SELECT r.id, f.slug AS flow_slug, v.version, r.status, r.event_id, r.created_at, r.started_at, r.finished_at
             FROM runs r
             JOIN flows f ON f.id = r.flow_id
             JOIN flow_versions v ON v.id = r.flow_version_id
            WHERE ${where}${keyset}
            ORDER BY r.created_at DESC, r.id DESC
            LIMIT $${values.length}`,
    values,
  };
}

export interface RunDetail {
  run: Run & { flowSlug: string };
  event: Event | null;
  steps: (StepRun & { attemptList: Attempt[] })[];
}

export interface StepStats {
  id: string;
  total: number;
  succeeded: number;
  failed: number;
  filtered: number;
  skipped: number;
}

/** A run as it was when it was created or last changed status, for the run stream. */
export interface RunChange {
  id: string;
  flow: string;
  status: RunStatus;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  /** `changed_at` in microseconds since the epoch (exact: below 2^53 until the year 2255). */
  changedUs: number;
}

/** Reading runs for the API: one run, a page of runs, a run with its event, steps and attempts. */
export class RunQueries {
  constructor(private readonly ds: DataSource) {}

  async findRun(runId: string): Promise<Run | null> {
    return this.ds.manager.findOneBy(Run, { id: runId });
  }

  /**
   * A page of runs. A search first gathers its hits through the GIN indexes (the planner cannot
   * tell how many a value has, and joined them to every run); a value in more runs than
   * `SEARCH_HITS_CAP` is rather found by checking runs in list order, where it is common.
   */
  async list(filter: RunListFilter): Promise<{ items: RunListItem[]; nextCursor: string | null }> {
    const rows: RunListRow[] =
      filter.q === undefined
        ? await this.ds.query(...toArgs(runListQuery(filter)))
        : await this.search(filter, filter.q);
    const items = rows.map((r) => ({
      id: r.id,
      flowSlug: r.flow_slug,
      version: r.version,
      status: r.status,
      eventId: r.event_id,
      createdAt: r.created_at,
      startedAt: r.started_at,
      finishedAt: r.finished_at,
    }));
    const more = items.length > filter.limit;
    if (more) items.pop();
    const last = items[items.length - 1];
    return { items, nextCursor: more && last ? encodeCursor(last.createdAt, last.id) : null };
  }

  /** How a list finds the runs holding `q` (`RunSearchPlan`), on `m` (a transaction's manager) or the pool. */
  async searchPlan(q: string, m: EntityManager = this.ds.manager): Promise<RunSearchPlan> {
    const rows: { id: string }[] = await m.query(hitsSql('$1::jsonpath', ` LIMIT ${SEARCH_HITS_CAP + 1}`), [
      runSearchPath(q),
    ]);
    return rows.length > SEARCH_HITS_CAP ? { kind: 'scan' } : { kind: 'ids', ids: rows.map((r) => r.id) };
  }

  /** A page of a search: its hits first, then those runs (or a scan in list order, bounded in time). */
  private async search(filter: RunListFilter, q: string): Promise<RunListRow[]> {
    try {
      return await this.ds.transaction(async (m) => {
        // Parallel workers took longer to start (30 ms) than the index lookups they would share.
        await m.query(`SET LOCAL max_parallel_workers_per_gather = 0`);
        const plan = await this.searchPlan(q, m);
        if (plan.kind === 'scan') await m.query(`SET LOCAL statement_timeout = ${SEARCH_SCAN_TIMEOUT_MS}`);
        return (await m.query(...toArgs(runListQuery(filter, plan)))) as RunListRow[];
      });
    } catch (err) {
      if ((err as { driverError?: { code?: string } }).driverError?.code === '57014') {
        throw new SearchTooBroadError(
          `the value is in more than ${SEARCH_HITS_CAP} runs, too many to list in time: add flow, status, since or until`,
        );
      }
      throw err;
    }
  }

  /** The database's clock in microseconds since the epoch: where a reader of `changesSince` starts. */
  async clockUs(): Promise<number> {
    const rows: { us: string }[] = await this.ds.query(
      `SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint AS us`,
    );
    return Number(rows[0].us);
  }

  /**
   * Up to `limit` runs changed after `afterUs` (or, with `afterId`, after that run at that time),
   * oldest change first, through `runs_changed`.
   */
  async changesSince(afterUs: number, afterId: string | null, limit: number): Promise<RunChange[]> {
    const rows: (Omit<RunChange, 'changedUs'> & { changedUs: string })[] = await this.ds.query(
      `SELECT r.id, f.slug AS flow, r.status, r.created_at AS "createdAt", r.started_at AS "startedAt",
              r.finished_at AS "finishedAt", (extract(epoch FROM r.changed_at) * 1000000)::bigint AS "changedUs"
         FROM runs r JOIN flows f ON f.id = r.flow_id
        WHERE r.changed_at IS NOT NULL
          AND (r.changed_at, r.id) > ('epoch'::timestamptz + $1::bigint * interval '1 microsecond',
                                      coalesce($2::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
        ORDER BY r.changed_at, r.id
        LIMIT $3`,
      [afterUs, afterId, limit],
    );
    return rows.map((r) => ({ ...r, changedUs: Number(r.changedUs) }));
  }

  /** A succeeded step's output (a respond step's answer, too large to travel); undefined when it has none. */
  async succeededOutput(runId: string, stepId: string): Promise<unknown> {
    const rows: { output: unknown }[] = await this.ds.query(
      `SELECT output FROM step_runs WHERE run_id = $1 AND step_id = $2 AND status = 'succeeded'`,
      [runId, stepId],
    );
    return rows[0]?.output;
  }

  async detail(runId: string): Promise<RunDetail | null> {
    // One snapshot: the run and its steps must agree (a poll must not see a step a claim has moved
    // on next to the run row as it was before that claim).
    return this.ds.transaction('REPEATABLE READ', async (m) => {
      const run = await m.findOneBy(Run, { id: runId });
      if (!run) return null;
      const flow: { slug: string }[] = await m.query(`SELECT slug FROM flows WHERE id = $1`, [run.flowId]);
      const event = run.eventId ? await m.findOneBy(Event, { id: run.eventId }) : null;
      const steps = await m.find(StepRun, { where: { runId }, order: { position: 'ASC' } });
      const attempts = await m.find(Attempt, { where: { runId }, order: { n: 'ASC' } });
      const byStep = new Map<string, Attempt[]>();
      for (const a of attempts) {
        const list = byStep.get(a.stepId);
        if (list) list.push(a);
        else byStep.set(a.stepId, [a]);
      }
      return {
        run: Object.assign(run, { flowSlug: flow[0]?.slug ?? '' }),
        event,
        steps: inRunOrder(steps).map((s) => Object.assign(s, { attemptList: byStep.get(s.stepId) ?? [] })),
      };
    });
  }

  /**
   * How each step of a flow's runs created in [since, until) ended; a loop item's rows count under the
   * step's own id (`each[3].post` as `post`), once per item.
   */
  async stepStats(flowId: string, window: { since: Date; until: Date }): Promise<StepStats[]> {
    const rows: {
      id: string;
      total: string;
      succeeded: string;
      failed: string;
      filtered: string;
      skipped: string;
    }[] = await this.ds.query(
      `SELECT regexp_replace(s.step_id, '^[^\\[]*\\[[0-9]+\\]\\.', '') AS id,
                count(*) AS total,
                count(*) FILTER (WHERE s.status = 'succeeded') AS succeeded,
                count(*) FILTER (WHERE s.status = 'failed') AS failed,
                count(*) FILTER (WHERE s.status = 'filtered') AS filtered,
                count(*) FILTER (WHERE s.status = 'skipped') AS skipped
           FROM runs r JOIN step_runs s ON s.run_id = r.id
          WHERE r.flow_id = $1 AND r.created_at >= $2 AND r.created_at < $3
          GROUP BY 1 ORDER BY 1`,
      [flowId, window.since, window.until],
    );
    return rows.map((r) => ({
      id: r.id,
      total: Number(r.total),
      succeeded: Number(r.succeeded),
      failed: Number(r.failed),
      filtered: Number(r.filtered),
      skipped: Number(r.skipped),
    }));
  }
}

/** Steps in definition order, each loop's item rows right after it by item, then by their place in the loop. */
function inRunOrder(steps: StepRun[]): StepRun[] {
  const outer = steps.filter((s) => s.itemIndex === null);
  const items = new Map<string, StepRun[]>();
  for (const s of steps) {
    if (s.itemIndex === null) continue;
    const loop = s.stepId.slice(0, s.stepId.indexOf('['));
    // Pushed, not spread: a copy per row made this quadratic (100,000 item rows: minutes).
    const list = items.get(loop);
    if (list) list.push(s);
    else items.set(loop, [s]);
  }
  return outer.flatMap((s) => {
    const own = items.get(s.stepId);
    if (!own) return [s];
    own.sort((a, b) => a.itemIndex! - b.itemIndex! || a.position - b.position);
    return [s, ...own];
  });
}
