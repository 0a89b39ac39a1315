import {
  parseItemStepId,
  type RunStatus,
  type RunTransition,
  type ExchangeRequest,
  type ExchangeResponse,
  type RunView,
  type StepError,
  type StepStatus,
  type TriggerData,
} from '@hookflow/flows';
import { Coalescer, ItemFailure } from '@hookflow/platform';
import type { DataSource } from 'typeorm';
import type { AttemptOutcome } from '../../entities';
import { pooledClient, preparedOn, preparedQuery } from '../../database/prepared';
import { toJsonb } from '../jsonb';
import {
  changedAt,
  claimableForRun,
  itemOfStep,
  jointOrEach,
  readRunView,
  RUN_CONTEXT_FROM,
  RUN_STEP_FROM,
  runContextColumns,
  runViewOf,
  runViewSql,
  stepStatesColumn,
  stepStatesOf,
  triggerDataOf,
  UNFINISHED_STEP,
  type RunContextRow,
  type RunViewRow,
  type StepStatesJson,
} from './run-sql';

/** A step claimed for one attempt (or read to be claimed when it ends), with what it needs to run. */
export interface ClaimedStep {
  /** Attempt number: counts every claim of the step in this run, across retries of the run. */
  attempt: number;
  /** Claims made before the step was last reopened by a retry; its budget counts from here. */
  attemptBase: number;
  flowVersionId: string;
  flowSlug: string;
  trigger: TriggerData;
  outputs: Record<string, unknown>;
  /** A resumed delay step: its stored input and the time left by the database clock (<= 0: due). */
  resume?: { inMs: number; input: unknown };
  /** The run as the claim left it, to decide the step's end on; absent if the snapshot was inconsistent. */
  view?: RunView;
  /** Set by `readStep`: read, not claimed; recording the end claims it, or is refused if the run moved. */
  unclaimed?: { status: 'pending' | 'retrying'; attempts: number };
  /** A loop item's step: the item and its index. */
  item?: { value: unknown; index: number };
}

/** The item of a loop item's step row, as `ClaimedStep.item`. */
function itemOf(row: { item_index: number | null; item: unknown }): Pick<ClaimedStep, 'item'> {
  return row.item_index === null ? {} : { item: { value: row.item ?? null, index: row.item_index } };
}

/** What a worker needs to know about a step before it claims it (destination limits). */
export interface StepPeek {
  flowVersionId: string;
  /** False when a claim would be refused: the step is finished or leased, or the run is over. */
  claimable: boolean;
}

export interface AttemptRecord {
  n: number;
  startedAt: Date;
  durationMs: number;
  outcome: AttemptOutcome;
  error: StepError | null;
  responseStatus: number | null;
  /** A code step's `console.log` lines. */
  logs?: string[];
  /** An action's request and response, already masked and bounded (captureExchange). */
  request?: ExchangeRequest | null;
  response?: ExchangeResponse | null;
  /** `host:port` of an action's URL. */
  destination?: string | null;
}

export interface StepResult {
  status: Extract<StepStatus, 'succeeded' | 'failed' | 'filtered'>;
  input: unknown;
  output: unknown;
  error: StepError | null;
  /** A router's paths taken. */
  routes?: string[];
  /** A `foreach` step: the items it found, a row per item and step to be made. */
  items?: unknown[];
}

/**
 * A step's end as decided on a view of its run. Written only while the run is at `version` and the
 * step as `expect` says; a run no longer live gets the step's end and nothing else.
 */
export interface StepEnd {
  runId: string;
  stepId: string;
  result: StepResult;
  /** The attempt's record; null records none (the reconciler giving a step up). */
  attempt: AttemptRecord | null;
  version: number;
  transition: RunTransition;
  expect: { status: StepStatus; attempts: number };
  /** Read without a claim: this write is also its claim. */
  unclaimed?: boolean;
  /** One of `transition.enqueue`, claimed by the same write for the caller to run at once. */
  next?: { stepId: string; leaseMs: number };
  /** A `foreach` step that found its items: it waits for them, and a row per item and step (`steps`) is made. */
  loop?: { items: unknown[]; steps: string[] };
}

export type StepEndRecorded =
  | {
      recorded: true;
      /** The run's status after the write. */
      runStatus: RunStatus;
      /** The step's output as stored, for a step run next in process to read. */
      output: unknown;
      /** The step claimed by the write, when `next` was asked for and it could be claimed. */
      next?: { stepId: string; attempt: number; attemptBase: number };
    }
  /** `moved`: the run changed since the view; decide again on a fresh one. `not-held`: this attempt lost the step. */
  | { recorded: false; reason: 'moved' | 'not-held' };

/** A run whose row this caller holds locked: its view cannot move until `release`. */
export interface LockedRun {
  /** Partial when the lock was taken for a loop item's step (its own item only). */
  view: RunView;
  /** The whole view, read under the same lock. */
  whole(): Promise<RunView>;
  /** Records one end decided on `view`; the lock is kept until `release`. */
  record(end: StepEnd): Promise<StepEndRecorded>;
  /** Commits what was recorded (or, `commit` false, undoes it) and lets the lock go. */
  release(commit?: boolean): Promise<void>;
}

export interface StaleStep {
  runId: string;
  stepId: string;
  /** Attempts used of the step's current budget (since it was last reopened by a retry). */
  attempts: number;
  /** Times the reconciler re-enqueued it (since it was last reopened by a retry). */
  requeues: number;
  flowVersionId: string;
}

/**
 * The claim's view of the run (partial: a loop's other items left out), only if the version it
 * bumped is its snapshot's plus one (nothing missed).
 */
function claimViewOf(
  row: { version_seen: number; version_now: number | null; steps: StepStatesJson | null },
  stepId: string,
  attempts: number,
): RunView | undefined {
  if (row.version_now === null || row.version_now !== row.version_seen + 1 || !row.steps) return undefined;
  const steps = stepStatesOf(row.steps);
  steps[stepId] = { status: 'running', attempts, enqueued: true, held: true };
  return { version: row.version_now, status: 'running', steps, ...partialFor(stepId) };
}

/** A view read for a loop item's step holds only its own item (`stepStatesColumn`). */
function partialFor(stepId: string): Pick<RunView, 'partial'> {
  return parseItemStepId(stepId) ? { partial: true } : {};
}

/** What `readStep` selects, for run `run` (an SQL expression) and its step row `me`. */
const READ_STEP_COLUMNS = (run: string) =>
  `me.status AS step_status, me.attempts, me.attempts_base, me.enqueued_at IS NOT NULL AS enqueued,
              me.item_index, ${itemOfStep(run, 'me.step_id', 'me.item_index')} AS item,
              r.status AS run_status,
              r.steps_version AS version_seen,
              ${stepStatesColumn(run, 'me.step_id')},
              r.flow_version_id, ${runContextColumns(run, 'me.step_id')}`;
type ReadStepRow = RunContextRow & {
  item_index: number | null;
  item: unknown;
  step_status: StepStatus;
  attempts: number;
  attempts_base: number;
  enqueued: boolean;
  run_status: RunStatus;
  version_seen: number;
  steps: StepStatesJson;
  flow_version_id: string;
};

/** A step as `readStep` read it: what a claim would give, or null when a claim would not take it now. */
function readStepOf(row: ReadStepRow, stepId: string): ClaimedStep | null {
  if (!['queued', 'running'].includes(row.run_status)) return null;
  const waiting = (row.step_status === 'pending' && row.enqueued) || row.step_status === 'retrying';
  if (!waiting) return null;
  const steps = stepStatesOf(row.steps);
  // As the write that records its end will leave it claimed.
  steps[stepId] = { status: 'running', attempts: row.attempts + 1, enqueued: true, held: true };
  return {
    attempt: row.attempts + 1,
    attemptBase: row.attempts_base,
    flowVersionId: row.flow_version_id,
    flowSlug: row.slug,
    trigger: triggerDataOf(row),
    outputs: row.outputs,
    view: { version: row.version_seen, status: row.run_status, steps, ...partialFor(stepId) },
    unclaimed: { status: row.step_status as 'pending' | 'retrying', attempts: row.attempts },
    ...itemOf(row),
  };
}

/** One step end as a row of RECORD_STEP_ENDS's JSON parameter (`ord`: its place in the batch). */
interface StepEndRow {
  run_id: string;
  step_id: string;
  status: StepStatus;
  input: unknown;
  output: unknown;
  error: unknown;
  routes: string[] | null;
  n: number | null;
  started_at: Date | null;
  duration_ms: number | null;
  outcome: string | null;
  attempt_error: unknown;
  response_status: number | null;
  logs: string[] | null;
  request: unknown;
  response: unknown;
  destination: string | null;
  version: number;
  run_status: RunStatus | null;
  skip: string[];
  enqueue: string[];
  next_step: string | null;
  next_lease_ms: number;
  expect_status: string;
  expect_attempts: number;
  unclaimed: boolean;
  loop_items: unknown[] | null;
  loop_steps: string[] | null;
  loop_end: string | null;
  loop_status: string | null;
  loop_error: unknown;
  loop_rows: (string | null)[] | null;
}
interface StepEndResultRow {
  ord: number;
  recorded: boolean;
  held: boolean;
  run_status: RunStatus | null;
  output: unknown;
  next_attempt: number | null;
  next_attempt_base: number | null;
}

/** A step end's run status: what the end decided for a live run, else (too late: cancelled meanwhile) unchanged. */
const MOVED_STATUS = `CASE WHEN g.live
                              THEN coalesce(i.run_status, CASE WHEN i.unclaimed THEN 'running' ELSE r.status END)
                              ELSE r.status END`;

/** A loop's output: per item, the output of the row `loop_rows` names (the step ending now: as it ends). */
const LOOP_OUTPUT = `(SELECT coalesce(json_agg(CASE WHEN u.id IS NULL THEN NULL WHEN u.id = i.step_id THEN i.output
                                         ELSE y.output END ORDER BY u.ord), '[]'::json)
                        FROM unnest(i.loop_rows) WITH ORDINALITY AS u(id, ord)
                        LEFT JOIN step_runs y
                          ON y.run_id = ANY ($2::uuid[]) AND y.run_id = i.run_id AND y.step_id = u.id)`;

/**
 * Records step ends of distinct runs (one JSON array of `StepEndRow`), each as its own statement
 * would. $2 repeats the run ids so that the planner reads through the primary keys.
 */
const RECORD_STEP_ENDS = `WITH i AS MATERIALIZED (
         SELECT * FROM json_to_recordset($1::json) AS i(
           ord int, run_id uuid, step_id text, status text, input json, output json, error jsonb, routes text[],
           n int, started_at timestamptz, duration_ms int, outcome text, attempt_error jsonb,
           response_status int, logs text[], request jsonb, response jsonb, destination text, version int, run_status text, skip text[], enqueue text[],
           next_step text, next_lease_ms double precision, expect_status text, expect_attempts int,
           unclaimed boolean, loop_items json, loop_steps text[], loop_end text, loop_status text,
           loop_error jsonb, loop_rows text[])
       ), locked AS MATERIALIZED (
         -- The runs' rows locked in one order (joint statements over common runs wait, not deadlock).
         SELECT id, status, steps_version FROM runs WHERE id = ANY ($2::uuid[]) ORDER BY id FOR NO KEY UPDATE
       ), held AS MATERIALIZED (
         SELECT i.run_id FROM i JOIN step_runs sr ON sr.run_id = i.run_id AND sr.step_id = i.step_id
          WHERE sr.run_id = ANY ($2::uuid[]) AND sr.status = i.expect_status AND sr.attempts = i.expect_attempts
       ), go AS MATERIALIZED (
         SELECT l.id AS run_id, (l.status IN ('queued', 'running')) IS TRUE AS live
           FROM i JOIN locked l ON l.id = i.run_id
          WHERE i.run_id IN (SELECT run_id FROM held)
            AND (CASE WHEN l.status IN ('queued', 'running') THEN l.steps_version = i.version
                      ELSE NOT i.unclaimed END)
       ), moved AS (
         UPDATE runs r
            SET steps_version = r.steps_version + 1,
                status = ${MOVED_STATUS},
                changed_at = ${changedAt('r', MOVED_STATUS)},
                started_at = CASE WHEN g.live AND i.unclaimed THEN coalesce(r.started_at, now()) ELSE r.started_at END,
                finished_at = CASE WHEN g.live AND i.run_status IS NOT NULL THEN now() ELSE r.finished_at END
           FROM i JOIN go g ON g.run_id = i.run_id
          WHERE r.id = ANY ($2::uuid[]) AND r.id = i.run_id
          RETURNING r.id, r.status
       ), s AS (
         -- A loop that found its items waits for them (or ends at once with nothing left to run).
         UPDATE step_runs sr
            SET status = CASE WHEN i.loop_end = i.step_id THEN i.loop_status
                              WHEN i.loop_items IS NULL THEN i.status
                              WHEN g.live THEN 'waiting' ELSE 'cancelled' END,
                input = i.input,
                output = CASE WHEN i.loop_end = i.step_id THEN ${LOOP_OUTPUT}
                              WHEN i.loop_items IS NULL THEN i.output END,
                error = CASE WHEN i.loop_end = i.step_id THEN i.loop_error ELSE i.error END,
                routes = i.routes,
                output_bytes = CASE WHEN sr.item_index IS NOT NULL THEN octet_length(i.output::text) END,
                finished_at = CASE WHEN i.loop_items IS NULL OR i.loop_end = i.step_id OR NOT g.live
                                   THEN now() END,
                enqueued_at = CASE WHEN i.loop_items IS NULL OR i.loop_end = i.step_id THEN sr.enqueued_at END,
                lease_until = NULL,
                attempts = CASE WHEN i.unclaimed THEN sr.attempts + 1 ELSE sr.attempts END,
                started_at = coalesce(sr.started_at, now())
           FROM i JOIN go g ON g.run_id = i.run_id
          WHERE sr.run_id = ANY ($2::uuid[]) AND sr.run_id = i.run_id AND sr.step_id = i.step_id
            AND sr.status = i.expect_status AND sr.attempts = i.expect_attempts
          RETURNING sr.run_id, sr.output
       ), c AS (
         UPDATE step_runs sr
            SET status = 'running', attempts = sr.attempts + 1, started_at = coalesce(sr.started_at, now()),
                lease_until = now() + make_interval(secs => i.next_lease_ms / 1000), enqueued_at = now()
           FROM i JOIN go g ON g.run_id = i.run_id
          WHERE g.live AND sr.run_id = ANY ($2::uuid[]) AND sr.run_id = i.run_id AND sr.step_id = i.next_step
            AND sr.status = 'pending' AND i.run_id IN (SELECT run_id FROM s)
          RETURNING sr.run_id, sr.attempts, sr.attempts_base
       ), a AS (
         INSERT INTO step_attempts (run_id, step_id, n, started_at, duration_ms, outcome, error, response_status, logs,
                                    request, response, destination)
         SELECT i.run_id, i.step_id, i.n, i.started_at, i.duration_ms, i.outcome, i.attempt_error, i.response_status,
                i.logs, i.request, i.response, i.destination
           FROM i WHERE i.n IS NOT NULL AND i.run_id IN (SELECT run_id FROM s)
       ), k AS (
         UPDATE step_runs sr SET status = 'skipped', finished_at = now()
           FROM i JOIN go g ON g.run_id = i.run_id
          WHERE g.live AND sr.run_id = ANY ($2::uuid[]) AND sr.run_id = i.run_id AND sr.step_id = ANY (i.skip)
            AND sr.status = 'pending' AND i.run_id IN (SELECT run_id FROM s)
       ), q AS (
         UPDATE step_runs sr SET enqueued_at = now()
           FROM i JOIN go g ON g.run_id = i.run_id
          WHERE g.live AND sr.run_id = ANY ($2::uuid[]) AND sr.run_id = i.run_id AND sr.step_id = ANY (i.enqueue)
            AND i.run_id IN (SELECT run_id FROM s)
       ), x AS (
         -- A loop's rows, one per item and step; a loop run again (a retry) keeps those it has.
         INSERT INTO step_runs (run_id, step_id, position, status, attempts, item_index, item, enqueued_at)
         SELECT i.run_id, r.id, u.ord - 1, 'pending', 0, e.ord - 1, CASE WHEN u.ord = 1 THEN e.item END,
                CASE WHEN r.id = ANY (i.enqueue) THEN now() END
           FROM i JOIN go g ON g.run_id = i.run_id
                CROSS JOIN LATERAL json_array_elements(i.loop_items) WITH ORDINALITY AS e(item, ord)
                CROSS JOIN LATERAL unnest(i.loop_steps) WITH ORDINALITY AS u(id, ord)
                CROSS JOIN LATERAL (SELECT i.step_id || '[' || (e.ord - 1) || '].' || u.id AS id) r
          WHERE g.live AND i.loop_items IS NOT NULL AND i.run_id IN (SELECT run_id FROM s)
         ON CONFLICT (run_id, step_id) DO NOTHING
       ), le AS (
         -- The loop whose last item this step finished.
         UPDATE step_runs sr
            SET status = i.loop_status, error = i.loop_error, output = ${LOOP_OUTPUT}, finished_at = now(),
                lease_until = NULL
           FROM i JOIN go g ON g.run_id = i.run_id
          WHERE g.live AND sr.run_id = ANY ($2::uuid[]) AND sr.run_id = i.run_id AND sr.step_id = i.loop_end
            AND i.loop_end <> i.step_id AND sr.status = 'waiting' AND i.run_id IN (SELECT run_id FROM s)
       )
       SELECT i.ord, s.run_id IS NOT NULL AS recorded, i.run_id IN (SELECT run_id FROM held) AS held,
              m.status AS run_status, s.output, c.attempts AS next_attempt, c.attempts_base AS next_attempt_base
         FROM i LEFT JOIN s ON s.run_id = i.run_id LEFT JOIN c ON c.run_id = i.run_id
                LEFT JOIN moved m ON m.id = i.run_id`;

function stepEndRow(end: StepEnd): StepEndRow {
  const { result, attempt, transition } = end;
  return {
    run_id: end.runId,
    step_id: end.stepId,
    status: result.status,
    input: result.input ?? null,
    output: result.output ?? null,
    error: result.error ?? null,
    routes: result.routes ?? null,
    n: attempt?.n ?? null,
    started_at: attempt?.startedAt ?? null,
    duration_ms: attempt?.durationMs ?? null,
    outcome: attempt?.outcome ?? null,
    attempt_error: attempt?.error ?? null,
    response_status: attempt?.responseStatus ?? null,
    logs: attempt?.logs ?? null,
    request: attempt?.request ?? null,
    response: attempt?.response ?? null,
    destination: attempt?.destination ?? null,
    version: end.version,
    run_status: transition.runStatus,
    skip: transition.skip,
    enqueue: end.next ? transition.enqueue.filter((id) => id !== end.next!.stepId) : transition.enqueue,
    next_step: end.next?.stepId ?? null,
    next_lease_ms: end.next?.leaseMs ?? 0,
    expect_status: end.expect.status,
    expect_attempts: end.expect.attempts,
    unclaimed: end.unclaimed === true,
    loop_items: end.loop?.items ?? null,
    loop_steps: end.loop?.steps ?? null,
    loop_end: transition.loopEnd?.stepId ?? null,
    loop_status: transition.loopEnd?.status ?? null,
    loop_error: transition.loopEnd?.error ?? null,
    loop_rows: transition.loopEnd?.rows ?? null,
  };
}

function recordedOf(end: StepEnd, row: StepEndResultRow): StepEndRecorded {
  if (!row.recorded) return { recorded: false, reason: row.held ? 'moved' : 'not-held' };
  const recorded: StepEndRecorded = { recorded: true, runStatus: row.run_status!, output: row.output };
  if (end.next && row.next_attempt !== null) {
    recorded.next = {
      stepId: end.next.stepId,
      attempt: row.next_attempt,
      attemptBase: row.next_attempt_base ?? 0,
    };
  }
  return recorded;
}

/**
 * Stores steps' transitions for the worker and the reconciler: claim, read, park, retry, give back,
 * record an end. What an end does to the run is decided in libs/flows (`afterStepEnd`).
 */
export class StepTransitions {
  /** Step ends recorded at the same moment share one statement (steps of one run go one after the other). */
  private readonly ends = new Coalescer<StepEnd, StepEndRecorded>((batch) => this.recordEnds(batch), {
    maxBatch: 64,
    maxInFlight: 2,
    sameTurn: true,
  });

  /** Steps read without a claim (`readStep`) at the same moment share one statement. */
  private readonly reads = new Coalescer<{ runId: string; stepId: string }, ClaimedStep | null>(
    (batch) => this.readSteps(batch),
    { maxBatch: 64, maxInFlight: 2, sameTurn: true },
  );

  constructor(private readonly ds: DataSource) {}

  /**
   * Claims one attempt of a step under a lease and returns the run context, in one round trip.
   * The attempt number is the claim's token. Null when there is nothing to do.
   */
  async claimStep(runId: string, stepId: string, leaseMs: number): Promise<ClaimedStep | null> {
    const rows: (RunContextRow & {
      attempt: number | null;
      attempt_base: number | null;
      flow_version_id: string;
      resume_in_ms: number | null;
      parked_input: unknown;
      version_seen: number;
      version_now: number | null;
      steps: StepStatesJson | null;
      item: unknown;
      item_index: number | null;
    })[] = await preparedQuery(
      this.ds,
      'hookflow_claim_step',
      // Pending steps need enqueued_at, so a job from before a run's retry cannot start them early.
      // Lock the run row first, as every writer of a run does: step row first would deadlock.
      `WITH run_lock AS (
         SELECT 1 FROM runs WHERE id = $1 AND status IN ('queued', 'running') FOR NO KEY UPDATE
       ), claimed AS (
         UPDATE step_runs
            SET status = 'running', attempts = attempts + CASE WHEN status = 'waiting' THEN 0 ELSE 1 END,
                started_at = coalesce(started_at, now()),
                lease_until = now() + make_interval(secs => $3::double precision / 1000)
          WHERE run_id = $1 AND step_id = $2 AND ${claimableForRun('')}
            AND (status <> 'pending' OR enqueued_at IS NOT NULL)
            AND EXISTS (SELECT 1 FROM run_lock)
          RETURNING attempts, attempts_base, input, item_index,
                    extract(epoch FROM resume_at - now()) * 1000 AS resume_in_ms
       ), started AS (
         UPDATE runs SET status = 'running', started_at = coalesce(started_at, now()),
                         steps_version = steps_version + 1, changed_at = ${changedAt('runs', "'running'")}
          WHERE id = $1 AND EXISTS (SELECT 1 FROM claimed)
          RETURNING steps_version
       )
       SELECT (SELECT attempts FROM claimed) AS attempt, (SELECT attempts_base FROM claimed) AS attempt_base,
              (SELECT resume_in_ms FROM claimed) AS resume_in_ms, (SELECT input FROM claimed) AS parked_input,
              ${itemOfStep('$1', '$2::text', '(SELECT item_index FROM claimed)')} AS item,
              (SELECT item_index FROM claimed) AS item_index,
              r.steps_version AS version_seen, (SELECT steps_version FROM started) AS version_now,
              ${stepStatesColumn('$1', '$2::text')},
              r.flow_version_id, ${runContextColumns('$1', '$2::text')}
         ${RUN_CONTEXT_FROM}`,
      [runId, stepId, leaseMs],
    );
    const row = rows[0];
    if (!row || row.attempt === null) return null;
    const view = claimViewOf(row, stepId, row.attempt);
    return {
      attempt: row.attempt,
      attemptBase: row.attempt_base ?? 0,
      flowVersionId: row.flow_version_id,
      flowSlug: row.slug,
      trigger: triggerDataOf(row),
      outputs: row.outputs,
      ...(row.resume_in_ms === null
        ? {}
        : { resume: { inMs: Number(row.resume_in_ms), input: row.parked_input ?? null } }),
      ...(view ? { view } : {}),
      ...itemOf(row),
    };
  }

  /**
   * Reads what a claim would return for a fresh transform or filter; recording its end claims it.
   * Null when the step is not waiting to run or the run is over: take the claim path then.
   */
  readStep(runId: string, stepId: string): Promise<ClaimedStep | null> {
    return this.reads.submit({ runId, stepId });
  }

  /** `readStep` for many steps: one statement when there are several. */
  private readSteps(
    batch: { runId: string; stepId: string }[],
  ): Promise<(ClaimedStep | null | ItemFailure)[]> {
    return jointOrEach(
      batch,
      async (steps) => {
        const rows: (ReadStepRow & { ord: string })[] = await preparedQuery(
          this.ds,
          'hookflow_read_steps',
          `SELECT i.ord, ${READ_STEP_COLUMNS('r.id')}
             FROM unnest($1::uuid[], $2::text[]) WITH ORDINALITY AS i(run_id, step_id, ord)
             JOIN runs r ON r.id = i.run_id AND r.id = ANY ($1::uuid[])
             JOIN flows f ON f.id = r.flow_id
             LEFT JOIN events e ON e.id = r.event_id
             JOIN step_runs me ON me.run_id = r.id AND me.step_id = i.step_id`,
          [steps.map((b) => b.runId), steps.map((b) => b.stepId)],
        );
        const byOrd = new Map(rows.map((row) => [Number(row.ord), row]));
        return steps.map((b, k) => {
          const row = byOrd.get(k + 1);
          return row ? readStepOf(row, b.stepId) : null;
        });
      },
      async ({ runId, stepId }) => {
        const rows: ReadStepRow[] = await preparedQuery(
          this.ds,
          'hookflow_read_step',
          `SELECT ${READ_STEP_COLUMNS('$1')}
             ${RUN_STEP_FROM}`,
          [runId, stepId],
        );
        return rows[0] ? readStepOf(rows[0], stepId) : null;
      },
    );
  }

  /** The run's status, version and steps, from one snapshot; null for no run. */
  view(runId: string): Promise<RunView | null> {
    return readRunView(this.ds, runId);
  }

  /** Records a step's end and what it does to the run; a second end of one run waits for the first. */
  recordStepEnd(end: StepEnd): Promise<StepEndRecorded> {
    return this.ends.submit(end);
  }

  /** `recordStepEnd` for a batch: distinct runs in one statement, further ends of a run after it. */
  private async recordEnds(batch: StepEnd[]): Promise<(StepEndRecorded | ItemFailure)[]> {
    const out: (StepEndRecorded | ItemFailure)[] = new Array(batch.length);
    const runs = new Set<string>();
    const joint: number[] = [];
    const after: number[] = [];
    batch.forEach((end, k) => {
      if (runs.has(end.runId)) after.push(k);
      else {
        runs.add(end.runId);
        joint.push(k);
      }
    });
    const write = async (ks: number[]): Promise<StepEndRecorded[]> => {
      const rows: StepEndResultRow[] = await preparedQuery(
        this.ds,
        'hookflow_record_step_ends',
        RECORD_STEP_ENDS,
        [toJsonb(ks.map((k) => ({ ...stepEndRow(batch[k]), ord: k }))), ks.map((k) => batch[k].runId)],
      );
      const byOrd = new Map(rows.map((row) => [row.ord, row]));
      return ks.map((k) => recordedOf(batch[k], byOrd.get(k)!));
    };
    const recorded = await jointOrEach(joint, write, async (k) => (await write([k]))[0]);
    joint.forEach((k, n) => (out[k] = recorded[n]));
    for (const k of after)
      out[k] = await write([k]).then(
        (r) => r[0],
        (e: unknown) => new ItemFailure(e),
      );
    return out;
  }

  /**
   * Locks the run's row and reads its view (for a loop item's `stepId`: partial): for a step's end
   * decided and recorded with no other write in between, when the run's steps keep ending at once.
   * Null for no run (nothing held).
   */
  async lockRun(runId: string, stepId?: string): Promise<LockedRun | null> {
    const client = await pooledClient(this.ds);
    const read = async (scope?: string): Promise<RunView | null> => {
      const rows = await preparedOn<RunViewRow>(
        client,
        scope ? 'hookflow_locked_item_view' : 'hookflow_locked_view',
        runViewSql(scope && '$2::text'),
        scope ? [runId, scope] : [runId],
      );
      return rows[0] ? runViewOf(rows[0], scope !== undefined && parseItemStepId(scope) !== null) : null;
    };
    try {
      await client.query('BEGIN');
      // The lock first, on its own: a statement that waited for it would read the steps as they
      // were when it began; the next one reads them as the lock holder before us left them.
      const locked = await preparedOn(
        client,
        'hookflow_lock_run',
        `SELECT 1 FROM runs WHERE id = $1 FOR NO KEY UPDATE`,
        [runId],
      );
      const view = locked.length > 0 ? await read(stepId) : null;
      if (!view) {
        await client.query('ROLLBACK');
        client.release();
        return null;
      }
      return {
        view,
        whole: async () => (await read())!,
        record: async (end) => {
          const results = await preparedOn<StepEndResultRow>(
            client,
            'hookflow_record_step_ends',
            RECORD_STEP_ENDS,
            [toJsonb([{ ...stepEndRow(end), ord: 0 }]), [end.runId]],
          );
          return recordedOf(end, results[0]);
        },
        release: async (commit = true) => {
          let failed: unknown;
          try {
            await client.query(commit ? 'COMMIT' : 'ROLLBACK');
          } catch (err) {
            failed = err;
            throw err;
          } finally {
            // A connection whose transaction did not end cleanly is not given back to the pool.
            client.release(failed instanceof Error ? failed : undefined);
          }
        },
      };
    } catch (err) {
      // Destroyed, not given back: its transaction may still be open.
      client.release(err instanceof Error ? err : true);
      throw err;
    }
  }

  /** A step's flow version and whether a claim would succeed now, without claiming it. */
  async peekStep(runId: string, stepId: string): Promise<StepPeek | null> {
    const rows: { flow_version_id: string; claimable: boolean }[] = await this.ds.query(
      `SELECT r.flow_version_id,
              (r.status IN ('queued', 'running') AND ${claimableForRun('s')}) AS claimable
         FROM runs r JOIN step_runs s ON s.run_id = r.id AND s.step_id = $2
        WHERE r.id = $1`,
      [runId, stepId],
    );
    const row = rows[0];
    return row ? { flowVersionId: row.flow_version_id, claimable: row.claimable } : null;
  }

  /** What step `stepId` of a run runs against, as a claim returns it; null for no run or step. */
  async runContext(
    runId: string,
    stepId: string,
  ): Promise<Pick<ClaimedStep, 'trigger' | 'outputs' | 'flowSlug' | 'item'> | null> {
    const rows: (RunContextRow & { item: unknown; item_index: number | null })[] = await this.ds.query(
      `SELECT ${itemOfStep('$1', 'me.step_id', 'me.item_index')} AS item, me.item_index,
              ${runContextColumns('$1', 'me.step_id')}
         ${RUN_STEP_FROM}`,
      [runId, stepId],
    );
    const row = rows[0];
    if (!row) return null;
    return { flowSlug: row.slug, trigger: triggerDataOf(row), outputs: row.outputs, ...itemOf(row) };
  }

  /**
   * Parks a claimed delay step until `resumeAt` (docs/outbound.md#the-delay-step); a step parked
   * again keeps its first resume time. False when the claim was lost or the run was cancelled.
   */
  async parkStep(
    runId: string,
    stepId: string,
    attemptN: number,
    input: unknown,
    resumeAt: Date,
  ): Promise<boolean> {
    // An UPDATE answers [rows, count] through TypeORM.
    const [rows]: [{ status: StepStatus }[], number] = await this.ds.query(
      `WITH r AS (
         SELECT status IN ('queued', 'running') AS live FROM runs WHERE id = $1 FOR SHARE
       )
       UPDATE step_runs
          SET status = CASE WHEN (SELECT live FROM r) THEN 'waiting' ELSE 'cancelled' END,
              finished_at = CASE WHEN (SELECT live FROM r) THEN NULL ELSE now() END,
              input = $4, resume_at = coalesce(resume_at, $5), enqueued_at = coalesce(resume_at, $5),
              lease_until = NULL
        WHERE run_id = $1 AND step_id = $2 AND status = 'running' AND attempts = $3
        RETURNING status`,
      [runId, stepId, attemptN, toJsonb(input), resumeAt],
    );
    return rows[0]?.status === 'waiting';
  }

  /**
   * Records a failed attempt for the queue to try again; false when the claim was lost or the run
   * was cancelled (then the step is cancelled). The run's share lock orders this against a cancel.
   */
  async markRetrying(
    runId: string,
    stepId: string,
    input: unknown,
    attempt: AttemptRecord,
  ): Promise<boolean> {
    const rows: { status: StepStatus }[] = await this.ds.query(
      `WITH r AS (
         SELECT status IN ('queued', 'running') AS live FROM runs WHERE id = $1 FOR SHARE
       ), s AS (
         UPDATE step_runs
            SET status = CASE WHEN (SELECT live FROM r) THEN 'retrying' ELSE 'cancelled' END,
                finished_at = CASE WHEN (SELECT live FROM r) THEN finished_at ELSE now() END,
                input = $3, error = $4, lease_until = NULL
          WHERE run_id = $1 AND step_id = $2 AND status = 'running' AND attempts = $5
          RETURNING status
       ), a AS (
         INSERT INTO step_attempts (run_id, step_id, n, started_at, duration_ms, outcome, error, response_status,
                                    logs, request, response, destination)
         SELECT $1, $2, $5, $6, $7, $8, $4, $9, $10, $11, $12, $13 FROM s
       )
       SELECT status FROM s`,
      [
        runId,
        stepId,
        toJsonb(input),
        toJsonb(attempt.error),
        attempt.n,
        attempt.startedAt,
        attempt.durationMs,
        attempt.outcome,
        attempt.responseStatus,
        attempt.logs ?? null,
        toJsonb(attempt.request),
        toJsonb(attempt.response),
        attempt.destination ?? null,
      ],
    );
    return rows[0]?.status === 'retrying';
  }

  /** Gives a claim back after its outcome failed to record, so the next try need not wait out the lease. */
  async releaseClaim(runId: string, stepId: string, attemptN: number): Promise<void> {
    await this.ds.query(
      `UPDATE step_runs SET status = 'retrying', lease_until = NULL
        WHERE run_id = $1 AND step_id = $2 AND status = 'running' AND attempts = $3`,
      [runId, stepId, attemptN],
    );
  }

  /**
   * Undoes a claim no attempt was started under (a chained step that got no destination slot):
   * the step is pending again and the attempt uncounted. False when the claim was no longer held.
   */
  async unclaim(runId: string, stepId: string, attemptN: number): Promise<boolean> {
    const rows: { n: number }[] = await this.ds.query(
      // Lock the run row first and move its version on, as a claim does.
      `WITH run_lock AS (
         SELECT 1 FROM runs WHERE id = $1 FOR NO KEY UPDATE
       ), back AS (
         UPDATE step_runs
            SET status = 'pending', attempts = attempts - 1, lease_until = NULL,
                started_at = CASE WHEN attempts - 1 = attempts_base THEN NULL ELSE started_at END
          WHERE run_id = $1 AND step_id = $2 AND status = 'running' AND attempts = $3
            AND EXISTS (SELECT 1 FROM run_lock)
          RETURNING 1
       ), moved AS (
         UPDATE runs SET steps_version = steps_version + 1 WHERE id = $1 AND EXISTS (SELECT 1 FROM back)
       )
       SELECT count(*)::int AS n FROM back`,
      [runId, stepId, attemptN],
    );
    return rows[0]?.n === 1;
  }

  /** Unfinished, unleased steps of live runs handed to the queue before `staleBefore`. */
  async findStaleSteps(staleBefore: Date, limit: number): Promise<StaleStep[]> {
    const rows: {
      run_id: string;
      step_id: string;
      attempts: number;
      requeues: number;
      flow_version_id: string;
    }[] = await this.ds.query(
      // From the live runs (runs_status_created) to their steps (primary key): step rows carry
      // no index over their status, so that their frequent updates stay in place (HOT).
      `SELECT s.run_id, s.step_id, s.attempts - s.attempts_base AS attempts, s.requeues, r.flow_version_id
           FROM runs r JOIN step_runs s ON s.run_id = r.id
          WHERE r.status IN ('queued', 'running')
            AND s.status IN ${UNFINISHED_STEP} AND s.enqueued_at < $1
            AND (s.status <> 'running' OR coalesce(s.lease_until, '-infinity') < now())
          ORDER BY s.enqueued_at
          LIMIT $2`,
      [staleBefore, limit],
    );
    return rows.map((r) => ({
      runId: r.run_id,
      stepId: r.step_id,
      attempts: r.attempts,
      requeues: r.requeues,
      flowVersionId: r.flow_version_id,
    }));
  }

  /** Marks steps as checked by the reconciler, counting a re-enqueue for those it `requeued`. */
  async touchEnqueued(steps: { runId: string; stepId: string; requeued?: boolean }[]): Promise<void> {
    if (steps.length === 0) return;
    await this.ds.query(
      `UPDATE step_runs s SET enqueued_at = now(), requeues = s.requeues + CASE WHEN t.requeued THEN 1 ELSE 0 END
         FROM unnest($1::uuid[], $2::text[], $3::bool[]) AS t(run_id, step_id, requeued)
        WHERE s.run_id = t.run_id AND s.step_id = t.step_id`,
      [steps.map((s) => s.runId), steps.map((s) => s.stepId), steps.map((s) => s.requeued === true)],
    );
  }
}
