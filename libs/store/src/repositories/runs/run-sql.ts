import type { RunStatus, RunView, StepState, StepStatus, TriggerData } from '@hookflow/flows';
import { ItemFailure } from '@hookflow/platform';
import type { DataSource } from 'typeorm';
import { isDatabaseUnavailable } from '../../database/database-errors';

/** SQL shared by the run repositories: what a step runs against, and a run's view. */

/** A step row a claim may take (waiting, retrying, parked, or lease lapsed); `s`: the alias, '' for none. */
export function claimableStep(s: string): string {
  const c = s ? `${s}.` : '';
  return `(${c}status IN ('pending', 'retrying', 'waiting')
           OR (${c}status = 'running' AND coalesce(${c}lease_until, '-infinity') < now()))`;
}

/**
 * `changed_at` for an UPDATE of run row `r` setting its status to `status` (SQL expressions): the
 * time now when the status changes, else unchanged, so that an update keeping the status stays HOT.
 */
export const changedAt = (r: string, status: string) =>
  `CASE WHEN (${status}) IS DISTINCT FROM ${r}.status THEN clock_timestamp() ELSE ${r}.changed_at END`;

export const UNFINISHED_STEP = `('pending', 'running', 'retrying', 'waiting')`;

/** A step row a claim may take: claimable, and not a loop waiting for its items (`waiting` without a resume time). */
export function claimableForRun(s: string): string {
  const c = s ? `${s}.` : '';
  return `(${claimableStep(s)} AND (${c}status <> 'waiting' OR ${c}resume_at IS NOT NULL))`;
}

/** The row id prefix of the loop item of step `step` (an SQL expression); NULL outside loops. A
 * subquery: over a parameter, planned as an InitPlan, worked out once rather than per row. */
const itemPrefixOf = (step: string) => `(SELECT substring(${step} from '^[a-z0-9_-]+\\[[0-9]+\\]\\.'))`;

/**
 * The item of step `step` (an SQL expression) of run `run` when `itemIndex` (its row's
 * `item_index`) says it is a loop item's: kept once, on the item's first row.
 */
export const itemOfStep = (run: string, step: string, itemIndex: string) =>
  `CASE WHEN ${itemIndex} IS NOT NULL THEN (SELECT f.item FROM step_runs f
     WHERE f.run_id = ${run} AND f.item IS NOT NULL AND starts_with(f.step_id, ${itemPrefixOf(step)}) LIMIT 1) END`;

/** Row `s` is outside loops, or of the loop item of step `step` (an SQL expression; NULL: of none). */
const inScopeOf = (s: string, step: string) =>
  `(${s}.item_index IS NULL OR starts_with(${s}.step_id, ${itemPrefixOf(step)}))`;

/**
 * Every step of run `run` (an SQL expression) as `[status, attempts, enqueued, held, routes, bytes]`
 * (`bytes`: a loop item step's output size), for a `RunView`; with `step` a loop item's step, only
 * the steps outside loops and of its own item (a partial view: the loop's other items left out).
 */
export const stepStatesColumn = (run: string, step?: string) =>
  `(SELECT jsonb_object_agg(st.step_id, jsonb_build_array(
             st.status, st.attempts, st.enqueued_at IS NOT NULL,
             st.status = 'running' AND coalesce(st.lease_until, '-infinity') >= now(), st.routes,
             CASE WHEN st.item_index IS NOT NULL THEN st.output_bytes END))
      FROM step_runs st WHERE st.run_id = ${run}${step ? ` AND (${inScopeOf('st', step)} OR ${itemPrefixOf(step)} IS NULL)` : ''}) AS steps`;

export type StepStatesJson = Record<
  string,
  [StepStatus, number, boolean, boolean, string[] | null, number | null | undefined]
>;

export function stepStatesOf(json: StepStatesJson): Record<string, StepState> {
  const steps: Record<string, StepState> = {};
  for (const [id, [status, attempts, enqueued, held, routes, bytes]] of Object.entries(json)) {
    const step: StepState = { status, attempts, enqueued, held };
    if (routes) step.routes = routes;
    if (bytes !== null && bytes !== undefined) step.bytes = bytes;
    steps[id] = step;
  }
  return steps;
}

/** Run $1's view (with `step`, an SQL expression, partial as `stepStatesColumn` says), as `RunViewRow`. */
export const runViewSql = (step?: string) =>
  `SELECT r.status, r.steps_version AS version, ${stepStatesColumn('r.id', step)} FROM runs r WHERE r.id = $1`;

export interface RunViewRow {
  status: RunStatus;
  version: number;
  steps: StepStatesJson | null;
}

/** A `RunViewRow` as a `RunView`. */
export function runViewOf(row: RunViewRow, partial = false): RunView {
  const view: RunView = { status: row.status, version: row.version, steps: stepStatesOf(row.steps ?? {}) };
  if (partial) view.partial = true;
  return view;
}

/** A run's view: its status, version and steps, from one snapshot; null for no run. */
export async function readRunView(ds: DataSource, runId: string): Promise<RunView | null> {
  const rows: RunViewRow[] = await ds.query(runViewSql(), [runId]);
  return rows[0] ? runViewOf(rows[0]) : null;
}

/**
 * What step `step` (an SQL expression; null: a step outside loops) runs against: the request and
 * the finished outputs outside loops and of its own loop item, from `runs r JOIN flows f LEFT JOIN events e`.
 */
export const runContextColumns = (
  run: string,
  step = 'NULL::text',
) => `f.slug, r.created_at, e.body, e.query, e.headers, e.method, e.received_at,
              (SELECT coalesce(json_object_agg(s.step_id, s.output), '{}'::json)
                 FROM step_runs s WHERE s.run_id = ${run} AND s.status IN ('succeeded', 'filtered')
                  AND ${inScopeOf('s', step)}) AS outputs`;
export const RUN_CONTEXT_FROM = `FROM runs r
         JOIN flows f ON f.id = r.flow_id
         LEFT JOIN events e ON e.id = r.event_id
        WHERE r.id = $1`;

/** Run $1 with its flow, its event and its step $2 (`me`). */
export const RUN_STEP_FROM = `FROM runs r
         JOIN flows f ON f.id = r.flow_id
         LEFT JOIN events e ON e.id = r.event_id
         JOIN step_runs me ON me.run_id = r.id AND me.step_id = $2
        WHERE r.id = $1`;

/** The columns of `runContextColumns` as a row. */
export interface RunContextRow {
  slug: string;
  body: unknown;
  query: Record<string, unknown> | null;
  headers: Record<string, string> | null;
  method: string | null;
  received_at: Date | null;
  created_at: Date;
  outputs: Record<string, unknown>;
}

/** The trigger request as steps see it, from an events row joined to its run (older runs may lack an event). */
export function triggerDataOf(row: Omit<RunContextRow, 'slug' | 'outputs'>): TriggerData {
  return {
    body: row.body ?? null,
    query: row.query ?? {},
    headers: row.headers ?? {},
    method: row.method ?? 'POST',
    receivedAt: (row.received_at ?? row.created_at).toISOString(),
  };
}

/**
 * A batch's statement, or each item `alone` when it fails on one item's data. Not after a lost
 * connection: the joint statement may have committed.
 */
export async function jointOrEach<I, O>(
  batch: I[],
  joint: (items: I[]) => Promise<O[]>,
  alone: (item: I) => Promise<O>,
): Promise<(O | ItemFailure)[]> {
  if (batch.length === 1) return [await alone(batch[0]).catch((e: unknown) => new ItemFailure(e))];
  try {
    return await joint(batch);
  } catch (err) {
    if (isDatabaseUnavailable(err)) throw err;
    return Promise.all(batch.map((item) => alone(item).catch((e: unknown) => new ItemFailure(e))));
  }
}

export class InvalidCursorError extends Error {}
