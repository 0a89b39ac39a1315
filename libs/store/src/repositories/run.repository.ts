import type { RunStatus, StepError, StepStatus, TriggerData } from '@hookflow/flows';
import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { Attempt, Event, Run, StepRun } from '../entities';
import type { AttemptOutcome } from '../entities';
import { Coalescer, ItemFailure } from '@hookflow/platform';
import { isDatabaseUnavailable } from '../database/database-errors';
import { preparedQuery } from '../database/prepared';
import { decodeCursor, encodeCursor } from './cursor';
import { toJsonb } from './jsonb';

export interface IncomingEvent {
  flowId: string;
  flowVersionId: string;
  method: string;
  headers: Record<string, string | string[]>;
  query: Record<string, unknown>;
  body: unknown;
  rawBody: Buffer | null;
  contentType: string | null;
  sourceIp: string | null;
  receivedAt: Date;
  statusCode: number;
}

/** A dedupe key to claim for the new run, valid for `windowMs` from the event's arrival. */
export interface DedupeClaim {
  key: string;
  windowMs: number;
}

/** A new run, or the run that already holds the request's dedupe key. */
export type CreatedRun =
  { duplicate: false; runId: string; eventId: string } | { duplicate: true; runId: string };

export interface StepPlan {
  id: string;
  /** Roots are handed to the queue right after the commit. */
  root: boolean;
}

/** A step claimed for one attempt, with what it needs to run. */
export interface ClaimedStep {
  /** Attempt number: counts every claim of the step in this run, across retries of the run. */
  attempt: number;
  /** Claims made before the step was last reopened by a retry; its budget counts from here. */
  attemptBase: number;
  flowVersionId: string;
  flowSlug: string;
  trigger: TriggerData;
  outputs: Record<string, unknown>;
  /**
   * Set when the claim resumes a parked delay step: its stored input, and how long until its
   * resume time by the database clock (zero or less: due).
   */
  resume?: { inMs: number; input: unknown };
  /**
   * The run's steps as the claim saw them (this step already `running`), with the run's
   * `steps_version` after the claim; absent when a concurrent change made the two disagree.
   * `finishStep` uses it to record the step's end in one statement while nothing changed since.
   */
  seen?: SeenSteps;
}

/** Every step's status and whether it was handed to the queue, at a given `steps_version` of the run. */
export interface SeenSteps {
  version: number;
  steps: Record<string, { status: StepStatus; enqueued: boolean }>;
  /**
   * Set by `readStep`: the step was read, not claimed, in this state; recording its end claims it
   * in the same statement, or throws `StepNotClaimedError` when anything moved since the read.
   */
  unclaimed?: { status: 'pending' | 'retrying'; attempts: number };
}

/**
 * A step read without a claim (`readStep`) could not be recorded: the run moved since the read.
 * Nothing was written; the caller claims the step and runs it again (it has no side effects).
 */
export class StepNotClaimedError extends Error {
  constructor(runId: string, stepId: string) {
    super(`run ${runId} step ${stepId} moved on since it was read`);
    this.name = 'StepNotClaimedError';
  }
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
}

export interface StepResult {
  status: Extract<StepStatus, 'succeeded' | 'failed' | 'filtered'>;
  input: unknown;
  output: unknown;
  error: StepError | null;
}

/** Given every step's status after a change, what to run next, what to skip, and whether the run is over. */
export type AdvanceDecision = (statuses: Record<string, StepStatus>) => {
  ready: string[];
  skip: string[];
  runStatus: Exclude<RunStatus, 'queued' | 'running' | 'cancelled'> | null;
};

export interface RunListFilter {
  flowId?: string;
  status?: RunStatus;
  limit: number;
  cursor?: string;
}

export interface RunDetail {
  run: Run & { flowSlug: string };
  event: Event | null;
  steps: (StepRun & { attemptList: Attempt[] })[];
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

/** Where a replay starts from: the source run, its flow's state and the versions it may use. */
export interface ReplaySource {
  runId: string;
  eventId: string | null;
  flowId: string;
  flowSlug: string;
  flowEnabled: boolean;
  flowDeleted: boolean;
  pinnedVersionId: string;
  currentVersionId: string;
}

/**
 * The outcome of an operation on a run that depends on its status: `missing` when there is no
 * such run, `refused` (with the status that refused it) when the run is in the wrong state.
 */
export type RunOperation<T> =
  { kind: 'missing' } | { kind: 'refused'; status: RunStatus } | ({ kind: 'done' } & T);

export interface RetriedRun {
  /** Steps set back to pending, in definition order: what the retry runs again. */
  reopened: string[];
  /** Reopened steps whose needs all succeeded, marked enqueued: the caller enqueues them. */
  ready: string[];
  /** `queued`, or the final status when nothing was left to run. */
  status: RunStatus;
}

export interface CancelledRun {
  /** Steps that were waiting (pending, between retries, or a parked delay) and will now never run. */
  cancelled: string[];
}

export interface RetryableRunFilter {
  flowId: string;
  status: Extract<RunStatus, 'failed' | 'cancelled'>;
  /** Runs created at or after this time. */
  since?: Date;
  /** Runs created before this time. */
  until?: Date;
}

/** What recording a step's end did: whether it counted, the steps now ready, the run's final status. */
export interface FinishedStep {
  recorded: boolean;
  ready: string[];
  runStatus: RunStatus | null;
  /**
   * One of `ready`, claimed by the same statement for the caller to run at once (see `PickNext`):
   * no queue job exists for it. Its attempt, and the finished step's output as stored.
   */
  next?: { stepId: string; attempt: number; attemptBase: number; finishedOutput: unknown; seen: SeenSteps };
}

/**
 * Offered the steps a step's end makes ready, picks one to claim in the same statement and run
 * in this process (null: enqueue them all). Asked only on the one-statement path.
 */
export type PickNext = (ready: string[]) => Promise<{ stepId: string; leaseMs: number } | null>;

export class InvalidCursorError extends Error {}

interface NewRun {
  event: IncomingEvent;
  steps: StepPlan[];
}

/**
 * The claim's view of the run, when it is consistent: the version the claim bumped is the one
 * its snapshot read plus one (otherwise a change committed between the snapshot and the bump is
 * missing from the statuses, and no view is given).
 */
function seenOf(
  row: {
    version_seen: number;
    version_now: number | null;
    steps: Record<string, [StepStatus, boolean]> | null;
  },
  stepId: string,
): { seen?: SeenSteps } {
  if (row.version_now === null || row.version_now !== row.version_seen + 1 || !row.steps) return {};
  return { seen: { version: row.version_now, steps: stepStatesOf(row.steps, stepId) } };
}

/** Every step of run `run` (an SQL expression): its status and whether it was handed to the queue, as `[status, enqueued]`. */
const stepStatesColumn = (run: string) =>
  `(SELECT jsonb_object_agg(st.step_id, jsonb_build_array(st.status, st.enqueued_at IS NOT NULL))
                 FROM step_runs st WHERE st.run_id = ${run}) AS steps`;
const STEP_STATES_COLUMN = stepStatesColumn('$1');

/** STEP_STATES_COLUMN as `SeenSteps`, the step being claimed (`stepId`) counted as running. */
function stepStatesOf(states: Record<string, [StepStatus, boolean]>, stepId: string): SeenSteps['steps'] {
  const steps: SeenSteps['steps'] = {};
  for (const [id, [status, enqueued]] of Object.entries(states)) steps[id] = { status, enqueued };
  steps[stepId] = { status: 'running', enqueued: true };
  return steps;
}

/**
 * A step row that a claim may take: waiting its turn, between tries, parked, or held by a worker
 * whose lease lapsed. `s` is the step_runs alias ('' for the bare table).
 */
function claimableStep(s: string): string {
  const c = s ? `${s}.` : '';
  return `(${c}status IN ('pending', 'retrying', 'waiting')
           OR (${c}status = 'running' AND coalesce(${c}lease_until, '-infinity') < now()))`;
}

/**
 * What a step runs against, selected from `runs r JOIN flows f LEFT JOIN events e` for run $1:
 * the trigger request and the outputs of the steps that finished with one.
 */
const runContextColumns = (
  run: string,
) => `f.slug, r.created_at, e.body, e.query, e.headers, e.method, e.received_at,
              (SELECT coalesce(jsonb_object_agg(s.step_id, s.output), '{}'::jsonb)
                 FROM step_runs s WHERE s.run_id = ${run} AND s.status IN ('succeeded', 'filtered')) AS outputs`;
const RUN_CONTEXT_COLUMNS = runContextColumns('$1');
/** The columns of RUN_CONTEXT_COLUMNS as a row. */
interface RunContextRow {
  slug: string;
  body: unknown;
  query: Record<string, unknown> | null;
  headers: Record<string, string> | null;
  method: string | null;
  received_at: Date | null;
  created_at: Date;
  outputs: Record<string, unknown>;
}
const RUN_CONTEXT_FROM = `FROM runs r
         JOIN flows f ON f.id = r.flow_id
         LEFT JOIN events e ON e.id = r.event_id
        WHERE r.id = $1`;

/** What `readStep` selects, for run `run` (an SQL expression) and its step row `me`. */
const READ_STEP_COLUMNS = (run: string) =>
  `me.status AS step_status, me.attempts, me.attempts_base, me.enqueued_at IS NOT NULL AS enqueued,
              r.status AS run_status, r.steps_version AS version_seen,
              ${stepStatesColumn(run)},
              r.flow_version_id, ${runContextColumns(run)}`;
type ReadStepRow = RunContextRow & {
  step_status: StepStatus;
  attempts: number;
  attempts_base: number;
  enqueued: boolean;
  run_status: RunStatus;
  version_seen: number;
  steps: Record<string, [StepStatus, boolean]>;
  flow_version_id: string;
};

/** A step as `readStep` read it: what a claim would give, or null when a claim would not take it now. */
function readStepOf(row: ReadStepRow, stepId: string): ClaimedStep | null {
  if (!['queued', 'running'].includes(row.run_status)) return null;
  const waiting = (row.step_status === 'pending' && row.enqueued) || row.step_status === 'retrying';
  if (!waiting) return null;
  return {
    attempt: row.attempts + 1,
    attemptBase: row.attempts_base,
    flowVersionId: row.flow_version_id,
    flowSlug: row.slug,
    trigger: triggerDataOf(row),
    outputs: row.outputs,
    seen: {
      version: row.version_seen,
      steps: stepStatesOf(row.steps, stepId),
      unclaimed: { status: row.step_status as 'pending' | 'retrying', attempts: row.attempts },
    },
  };
}

const UNFINISHED_STEP = `('pending', 'running', 'retrying', 'waiting')`;
/**
 * Steps a retry sets back to pending. `skipped` ones behind a filter are skipped again by the
 * decision; `running` ones are left alone: the claim's holder records its outcome and, the run
 * being live again, moves it on.
 */
const REOPENABLE_STEP: ReadonlySet<StepStatus> = new Set<StepStatus>([
  'failed',
  'skipped',
  'cancelled',
  'pending',
  'retrying',
  'waiting',
]);
const RETRYABLE_RUN: ReadonlySet<RunStatus> = new Set<RunStatus>(['failed', 'cancelled']);

/**
 * One step end for `finishSeenStep`'s statement; the names are its JSON fields in the joint
 * statement (with `ord`, the step's place in the batch).
 */
interface SeenFinish {
  run_id: string;
  step_id: string;
  status: StepStatus;
  input: unknown;
  output: unknown;
  error: unknown;
  n: number;
  started_at: Date;
  duration_ms: number;
  outcome: string;
  attempt_error: unknown;
  /** The run's `steps_version` as the claim (or read) left it. */
  version: number;
  run_status: RunStatus | null;
  skip: string[];
  enqueue: string[];
  response_status: number | null;
  /** A step made ready that this statement claims for the caller to run at once. */
  next_step: string | null;
  next_lease_ms: number;
  /** The step's row as the claim left it ('running', attempt n) or, read without a claim, as read. */
  expect_status: string;
  expect_attempts: number;
  /** Read without a claim: the statement is also its claim. */
  unclaimed: boolean;
}
interface SeenFinishRow {
  recorded: boolean;
  output: unknown;
  next_attempt: number | null;
  next_attempt_base: number | null;
}

const FINISH_SEEN_STEP_SQL = `WITH moved AS (
         UPDATE runs SET steps_version = steps_version + 1,
                         status = coalesce($13::text, CASE WHEN $21::boolean THEN 'running' ELSE status END),
                         started_at = CASE WHEN $21::boolean THEN coalesce(started_at, now()) ELSE started_at END,
                         finished_at = CASE WHEN $13::text IS NULL THEN finished_at ELSE now() END
          WHERE id = $1 AND steps_version = $12 AND status IN ('queued', 'running')
            AND EXISTS (SELECT 1 FROM step_runs
                         WHERE run_id = $1 AND step_id = $2 AND status = $19 AND attempts = $20)
          RETURNING 1
       ), s AS (
         UPDATE step_runs
            SET status = $3, input = $4, output = $5, error = $6, finished_at = now(), lease_until = NULL,
                attempts = CASE WHEN $21::boolean THEN attempts + 1 ELSE attempts END,
                started_at = coalesce(started_at, now())
          WHERE run_id = $1 AND step_id = $2 AND status = $19 AND attempts = $20
            AND EXISTS (SELECT 1 FROM moved)
          RETURNING output
       ), c AS (
         UPDATE step_runs
            SET status = 'running', attempts = attempts + 1, started_at = coalesce(started_at, now()),
                lease_until = now() + make_interval(secs => $18::double precision / 1000), enqueued_at = now()
          WHERE run_id = $1 AND step_id = $17 AND status = 'pending' AND EXISTS (SELECT 1 FROM s)
          RETURNING attempts, attempts_base
       ), a AS (
         INSERT INTO step_attempts (run_id, step_id, n, started_at, duration_ms, outcome, error, response_status)
         SELECT $1, $2, $7, $8, $9, $10, $11, $16 FROM s
       ), k AS (
         UPDATE step_runs SET status = 'skipped', finished_at = now()
          WHERE run_id = $1 AND step_id = ANY($14::text[]) AND status = 'pending' AND EXISTS (SELECT 1 FROM s)
       ), q AS (
         UPDATE step_runs SET enqueued_at = now()
          WHERE run_id = $1 AND step_id = ANY($15::text[]) AND EXISTS (SELECT 1 FROM s)
       )
       SELECT EXISTS (SELECT 1 FROM s) AS recorded, (SELECT output FROM s) AS output,
              (SELECT attempts FROM c) AS next_attempt, (SELECT attempts_base FROM c) AS next_attempt_base`;

/**
 * FINISH_SEEN_STEP_SQL for many steps of distinct runs, given as one JSON array (`SeenFinish`):
 * each step's rows are written exactly as its own statement would write them. $2 repeats the
 * run ids as an array, which the planner reads through the primary keys (joined to the JSON
 * rows alone it scans whole tables).
 */
const FINISH_SEEN_STEPS = `WITH i AS MATERIALIZED (
         SELECT * FROM jsonb_to_recordset($1::jsonb) AS i(
           ord int, run_id uuid, step_id text, status text, input jsonb, output jsonb, error jsonb,
           n int, started_at timestamptz, duration_ms int, outcome text, attempt_error jsonb,
           version int, run_status text, skip text[], enqueue text[], response_status int,
           next_step text, next_lease_ms double precision, expect_status text, expect_attempts int,
           unclaimed boolean)
       ), locked AS MATERIALIZED (
         -- The runs' rows locked in one order (joint statements over common runs wait, not deadlock).
         SELECT id FROM runs WHERE id = ANY ($2::uuid[]) ORDER BY id FOR NO KEY UPDATE
       ), moved AS (
         UPDATE runs r SET steps_version = r.steps_version + 1,
                           status = coalesce(i.run_status, CASE WHEN i.unclaimed THEN 'running' ELSE r.status END),
                           started_at = CASE WHEN i.unclaimed THEN coalesce(r.started_at, now()) ELSE r.started_at END,
                           finished_at = CASE WHEN i.run_status IS NULL THEN r.finished_at ELSE now() END
           FROM i
          WHERE r.id = ANY ($2::uuid[]) AND r.id IN (SELECT id FROM locked)
            AND r.id = i.run_id AND r.steps_version = i.version
            -- IS TRUE keeps the planner off the status index (it would AND it with the primary key's).
            AND (r.status IN ('queued', 'running')) IS TRUE
            AND EXISTS (SELECT 1 FROM step_runs
                         WHERE run_id = r.id AND step_id = i.step_id
                           AND status = i.expect_status AND attempts = i.expect_attempts)
          RETURNING r.id
       ), s AS (
         UPDATE step_runs sr
            SET status = i.status, input = i.input, output = i.output, error = i.error, finished_at = now(),
                lease_until = NULL,
                attempts = CASE WHEN i.unclaimed THEN sr.attempts + 1 ELSE sr.attempts END,
                started_at = coalesce(sr.started_at, now())
           FROM i
          WHERE sr.run_id = ANY ($2::uuid[]) AND sr.run_id = i.run_id AND sr.step_id = i.step_id
            AND sr.status = i.expect_status AND sr.attempts = i.expect_attempts
            AND i.run_id IN (SELECT id FROM moved)
          RETURNING sr.run_id, sr.output
       ), c AS (
         UPDATE step_runs sr
            SET status = 'running', attempts = sr.attempts + 1, started_at = coalesce(sr.started_at, now()),
                lease_until = now() + make_interval(secs => i.next_lease_ms / 1000), enqueued_at = now()
           FROM i
          WHERE sr.run_id = ANY ($2::uuid[]) AND sr.run_id = i.run_id AND sr.step_id = i.next_step
            AND sr.status = 'pending'
            AND i.run_id IN (SELECT run_id FROM s)
          RETURNING sr.run_id, sr.attempts, sr.attempts_base
       ), a AS (
         INSERT INTO step_attempts (run_id, step_id, n, started_at, duration_ms, outcome, error, response_status)
         SELECT i.run_id, i.step_id, i.n, i.started_at, i.duration_ms, i.outcome, i.attempt_error, i.response_status
           FROM i WHERE i.run_id IN (SELECT run_id FROM s)
       ), k AS (
         UPDATE step_runs sr SET status = 'skipped', finished_at = now()
           FROM i
          WHERE sr.run_id = ANY ($2::uuid[]) AND sr.run_id = i.run_id AND sr.step_id = ANY (i.skip)
            AND sr.status = 'pending'
            AND i.run_id IN (SELECT run_id FROM s)
       ), q AS (
         UPDATE step_runs sr SET enqueued_at = now()
           FROM i
          WHERE sr.run_id = ANY ($2::uuid[]) AND sr.run_id = i.run_id AND sr.step_id = ANY (i.enqueue)
            AND i.run_id IN (SELECT run_id FROM s)
       )
       SELECT i.ord, s.run_id IS NOT NULL AS recorded, s.output,
              c.attempts AS next_attempt, c.attempts_base AS next_attempt_base
         FROM i LEFT JOIN s ON s.run_id = i.run_id LEFT JOIN c ON c.run_id = i.run_id`;

/**
 * A batch's statement (`joint`), or, when it fails on one item's data, each item on its own
 * (`alone`), so that only that item fails. Not when the database is out of reach: after a lost
 * connection the joint statement may have committed, and each alone would fail the same way.
 */
async function jointOrEach<I, O>(
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

/** Runs, their steps and attempts: the state machine's storage, in as few round trips as it allows. */
export class RunRepository {
  /**
   * New runs without a dedupe key, stored many to a statement while earlier statements are in
   * flight: under load one round trip and one commit carry many webhooks (each caller still
   * returns only once its own rows are committed).
   */
  private readonly newRuns = new Coalescer<NewRun, CreatedRun>((batch) => this.insertRunsOrEach(batch), {
    maxBatch: 200,
    maxInFlight: 4,
    sameTurn: true,
  });

  /** Step ends recorded by `finishSeenStep` at the same moment share one statement. */
  private readonly seenFinishes = new Coalescer<SeenFinish, SeenFinishRow>(
    (batch) => this.finishSeenSteps(batch),
    {
      maxBatch: 64,
      maxInFlight: 2,
      sameTurn: true,
    },
  );

  /** Steps read without a claim (`readStep`) at the same moment share one statement. */
  private readonly reads = new Coalescer<{ runId: string; stepId: string }, ClaimedStep | null>(
    (batch) => this.readSteps(batch),
    { maxBatch: 64, maxInFlight: 2, sameTurn: true },
  );

  constructor(private readonly ds: DataSource) {}

  /**
   * Stores an accepted webhook: the event, its run and one row per step, in a single statement
   * (atomic without a transaction block, one round trip). Root steps are marked enqueued here so
   * the reconciler re-enqueues them if the enqueue after the commit is lost.
   *
   * With a `dedupe` key, the same statement first claims the key for this run; when the key is
   * already held by a run younger than the window, nothing is inserted and the answer names that
   * run. The primary key on (flow, key) decides between concurrent copies, never a read.
   */
  async createRunFromEvent(
    event: IncomingEvent,
    steps: StepPlan[],
    dedupe?: DedupeClaim,
  ): Promise<CreatedRun> {
    if (!dedupe) return this.newRuns.submit({ event, steps });
    const eventId = randomUUID();
    const runId = randomUUID();
    const params: unknown[] = [
      eventId,
      event.flowId,
      event.method,
      toJsonb(event.headers),
      toJsonb(event.query),
      event.body === undefined ? null : toJsonb(event.body),
      event.rawBody,
      event.contentType,
      event.sourceIp,
      event.receivedAt,
      event.statusCode,
      runId,
      event.flowVersionId,
      steps.map((s) => s.id),
      steps.map((_, i) => i),
      steps.map((s) => s.root),
    ];
    params.push(dedupe.key, new Date(event.receivedAt.getTime() - dedupe.windowMs));
    // A key older than the window is taken over by this run; a fresh one is left alone, and
    // RETURNING nothing then keeps every other insert below from happening.
    const claim = `INSERT INTO event_dedupe AS d (flow_id, key, run_id, created_at) VALUES ($2, $17, $12, $10)
             ON CONFLICT (flow_id, key) DO UPDATE SET run_id = excluded.run_id, created_at = excluded.created_at
               WHERE d.created_at < $18
             RETURNING 1`;
    for (let tries = 1; ; tries++) {
      const rows: { created: boolean }[] = await this.ds.query(
        `WITH claim AS (${claim}), e AS (
           INSERT INTO events (id, flow_id, method, headers, query, body, raw_body, content_type, source_ip,
                               received_at, status_code, accepted, run_id)
           SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, true, $12 FROM claim
         ), r AS (
           INSERT INTO runs (id, flow_id, flow_version_id, event_id, status, created_at)
           SELECT $12, $2, $13, $1, 'queued', $10 FROM claim
         ), s AS (
           INSERT INTO step_runs (run_id, step_id, position, status, attempts, enqueued_at)
           SELECT $12, s.id, s.pos, 'pending', 0, CASE WHEN s.root THEN $10::timestamptz END
             FROM unnest($14::text[], $15::int[], $16::bool[]) AS s(id, pos, root)
            WHERE EXISTS (SELECT 1 FROM claim)
         )
         SELECT EXISTS (SELECT 1 FROM claim) AS created`,
        params,
      );
      if (rows[0].created) return { duplicate: false, runId, eventId };
      // A second statement: the first one's snapshot may predate the copy that won the key.
      const held: { run_id: string }[] = await this.ds.query(
        `SELECT run_id FROM event_dedupe WHERE flow_id = $1 AND key = $2`,
        [event.flowId, dedupe.key],
      );
      if (held[0]) return { duplicate: true, runId: held[0].run_id };
      // Gone in between (its run was deleted): claim the key again.
      if (tries >= 3) throw new Error(`dedupe key of flow ${event.flowId} could be neither claimed nor read`);
    }
  }

  /** A batch in one statement; when it fails, each of its runs alone, so one bad row fails only its own request. */
  private insertRunsOrEach(batch: NewRun[]): Promise<(CreatedRun | ItemFailure)[]> {
    // After a lost connection the batch may have committed: inserting its runs again would duplicate them.
    return jointOrEach(
      batch,
      (runs) => this.insertRuns(runs),
      async (run) => (await this.insertRuns([run]))[0],
    );
  }

  /** Events, runs and step rows of several new runs in one statement (atomic: all or none). */
  private async insertRuns(batch: NewRun[]): Promise<CreatedRun[]> {
    const created = batch.map(() => ({
      duplicate: false as const,
      runId: randomUUID(),
      eventId: randomUUID(),
    }));
    const stepRun: string[] = [];
    const stepId: string[] = [];
    const stepPos: number[] = [];
    const stepAt: (Date | null)[] = [];
    batch.forEach(({ event, steps }, i) => {
      steps.forEach((s, pos) => {
        stepRun.push(created[i].runId);
        stepId.push(s.id);
        stepPos.push(pos);
        stepAt.push(s.root ? event.receivedAt : null);
      });
    });
    const col = <T>(pick: (e: IncomingEvent) => T) => batch.map(({ event }) => pick(event));
    await preparedQuery(
      this.ds,
      'hookflow_insert_runs',
      `WITH input AS (
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::jsonb[], $5::jsonb[], $6::jsonb[],
                              $7::bytea[], $8::text[], $9::text[], $10::timestamptz[], $11::int[], $12::uuid[],
                              $13::uuid[])
           AS t(id, flow_id, method, headers, query, body, raw_body, content_type, source_ip, received_at,
                status_code, run_id, flow_version_id)
       ), e AS (
         INSERT INTO events (id, flow_id, method, headers, query, body, raw_body, content_type, source_ip,
                             received_at, status_code, accepted, run_id)
         SELECT id, flow_id, method, headers, query, body, raw_body, content_type, source_ip,
                received_at, status_code, true, run_id FROM input
       ), r AS (
         INSERT INTO runs (id, flow_id, flow_version_id, event_id, status, created_at)
         SELECT run_id, flow_id, flow_version_id, id, 'queued', received_at FROM input
       )
       INSERT INTO step_runs (run_id, step_id, position, status, attempts, enqueued_at)
       SELECT s.run_id, s.id, s.pos, 'pending', 0, s.at
         FROM unnest($14::uuid[], $15::text[], $16::int[], $17::timestamptz[]) AS s(run_id, id, pos, at)`,
      [
        created.map((c) => c.eventId),
        col((e) => e.flowId),
        col((e) => e.method),
        col((e) => toJsonb(e.headers)),
        col((e) => toJsonb(e.query)),
        col((e) => (e.body === undefined ? null : toJsonb(e.body))),
        col((e) => e.rawBody),
        col((e) => e.contentType),
        col((e) => e.sourceIp),
        col((e) => e.receivedAt),
        col((e) => e.statusCode),
        created.map((c) => c.runId),
        col((e) => e.flowVersionId),
        stepRun,
        stepId,
        stepPos,
        stepAt,
      ],
    );
    return created;
  }

  /**
   * Claims one attempt of a step: counts it, marks step and run running, and returns the run
   * context, in one round trip. The claim is a lease: while it lasts, no other job can run the
   * same step (a stalled job handed to a second worker finds it taken); once it lapses, the step
   * can be claimed again (its worker died). The attempt number is the claim's token: results are
   * only recorded by the holder of the latest claim. Null when the step is finished, leased by
   * another worker or the run is over, which the worker treats as nothing to do.
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
      steps: Record<string, [StepStatus, boolean]> | null;
    })[] = await preparedQuery(
      this.ds,
      'hookflow_claim_step',
      // A parked delay step ('waiting') resumes under the attempt that parked it: no new attempt.
      // A pending step is only claimable once handed to the queue (enqueued_at set): a job left
      // over from before a retry of the run cannot start a step whose needs are not done yet.
      // The run row is locked first, as every other writer of a run does (cancel, retry, step ends):
      // taking the step row first would deadlock against them.
      `WITH run_lock AS (
         SELECT 1 FROM runs WHERE id = $1 AND status IN ('queued', 'running') FOR NO KEY UPDATE
       ), claimed AS (
         UPDATE step_runs
            SET status = 'running', attempts = attempts + CASE WHEN status = 'waiting' THEN 0 ELSE 1 END,
                started_at = coalesce(started_at, now()),
                lease_until = now() + make_interval(secs => $3::double precision / 1000)
          WHERE run_id = $1 AND step_id = $2 AND ${claimableStep('')}
            AND (status <> 'pending' OR enqueued_at IS NOT NULL)
            AND EXISTS (SELECT 1 FROM run_lock)
          RETURNING attempts, attempts_base, input,
                    extract(epoch FROM resume_at - now()) * 1000 AS resume_in_ms
       ), started AS (
         UPDATE runs SET status = 'running', started_at = coalesce(started_at, now()),
                         steps_version = steps_version + 1
          WHERE id = $1 AND EXISTS (SELECT 1 FROM claimed)
          RETURNING steps_version
       )
       SELECT (SELECT attempts FROM claimed) AS attempt, (SELECT attempts_base FROM claimed) AS attempt_base,
              (SELECT resume_in_ms FROM claimed) AS resume_in_ms, (SELECT input FROM claimed) AS parked_input,
              r.steps_version AS version_seen, (SELECT steps_version FROM started) AS version_now,
              ${STEP_STATES_COLUMN},
              r.flow_version_id, ${RUN_CONTEXT_COLUMNS}
         ${RUN_CONTEXT_FROM}`,
      [runId, stepId, leaseMs],
    );
    const row = rows[0];
    if (!row || row.attempt === null) return null;
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
      ...seenOf(row, stepId),
    };
  }

  /**
   * A step without side effects (transform, filter) in a fresh job needs no claim of its own:
   * this reads what a claim would return, and the statement that records the step's end claims it
   * too (one write instead of two), as long as nothing moved in the run since this read. Null
   * when the step is not waiting to run (leased, parked, finished) or the run is over: take the
   * claim path, which sorts those out.
   */
  readStep(runId: string, stepId: string): Promise<ClaimedStep | null> {
    return this.reads.submit({ runId, stepId });
  }

  /**
   * `readStep` for many steps: one statement when there are several. Should it fail on one
   * step's data (a run id that is no uuid), each step is read on its own, so that only that one fails.
   */
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
      (step) => this.readStepAlone(step),
    );
  }

  private async readStepAlone({
    runId,
    stepId,
  }: {
    runId: string;
    stepId: string;
  }): Promise<ClaimedStep | null> {
    const rows: ReadStepRow[] = await preparedQuery(
      this.ds,
      'hookflow_read_step',
      `SELECT ${READ_STEP_COLUMNS('$1')}
         FROM runs r
         JOIN flows f ON f.id = r.flow_id
         LEFT JOIN events e ON e.id = r.event_id
         JOIN step_runs me ON me.run_id = r.id AND me.step_id = $2
        WHERE r.id = $1`,
      [runId, stepId],
    );
    return rows[0] ? readStepOf(rows[0], stepId) : null;
  }

  /**
   * Reads, without claiming, which flow version a step belongs to and whether a claim would
   * succeed now. Claims nothing and counts no attempt.
   */
  async peekStep(runId: string, stepId: string): Promise<StepPeek | null> {
    const rows: { flow_version_id: string; claimable: boolean }[] = await this.ds.query(
      `SELECT r.flow_version_id,
              (r.status IN ('queued', 'running') AND ${claimableStep('s')}) AS claimable
         FROM runs r JOIN step_runs s ON s.run_id = r.id AND s.step_id = $2
        WHERE r.id = $1`,
      [runId, stepId],
    );
    const row = rows[0];
    return row ? { flowVersionId: row.flow_version_id, claimable: row.claimable } : null;
  }

  /** The trigger data and finished steps' outputs of a run, as a claim returns them; null for no run. */
  async runContext(
    runId: string,
  ): Promise<{ trigger: TriggerData; outputs: Record<string, unknown>; flowSlug: string } | null> {
    const rows: RunContextRow[] = await this.ds.query(
      `SELECT ${RUN_CONTEXT_COLUMNS}
         ${RUN_CONTEXT_FROM}`,
      [runId],
    );
    const row = rows[0];
    if (!row) return null;
    return {
      flowSlug: row.slug,
      trigger: triggerDataOf(row),
      outputs: row.outputs,
    };
  }

  /**
   * Parks a claimed delay step until `resumeAt`: status `waiting`, no lease, its input kept for
   * the resume, and `enqueued_at` set to the resume time so the reconciler leaves it alone until
   * then. A step parked again (its job came early) keeps its first resume time. No attempt is
   * recorded yet (the resume records the one attempt). False when the claim
   * was taken over, or when the run was cancelled meanwhile (the step is then cancelled).
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
   * Records a failed attempt that the queue will try again. Returns false when the queue must not
   * try again: this attempt no longer holds the step (a later claim took it over; nothing is
   * written), or the run was cancelled while the attempt ran (the attempt is recorded and the
   * step cancelled). The share lock on the run orders this against a concurrent cancel.
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
         INSERT INTO step_attempts (run_id, step_id, n, started_at, duration_ms, outcome, error, response_status)
         SELECT $1, $2, $5, $6, $7, $8, $4, $9 FROM s
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
      ],
    );
    return rows[0]?.status === 'retrying';
  }

  /**
   * Gives a claimed step back after the worker failed to record its outcome (the database
   * hiccuped), so the queue's next try can claim it at once instead of waiting out the lease.
   */
  async releaseClaim(runId: string, stepId: string, attemptN: number): Promise<void> {
    await this.ds.query(
      `UPDATE step_runs SET status = 'retrying', lease_until = NULL
        WHERE run_id = $1 AND step_id = $2 AND status = 'running' AND attempts = $3`,
      [runId, stepId, attemptN],
    );
  }

  /**
   * Ends a step and moves the run on, under a lock on the run row so that branches finishing
   * at the same moment see each other's results: a join becomes ready exactly once. Returns
   * the steps that became ready (already marked enqueued) for the caller to enqueue after commit.
   */
  async finishStep(
    runId: string,
    stepId: string,
    result: StepResult,
    attempt: AttemptRecord,
    decide: AdvanceDecision,
    seen?: SeenSteps,
    pickNext?: PickNext,
  ): Promise<FinishedStep> {
    if (seen) {
      const fast = await this.finishSeenStep(runId, stepId, result, attempt, decide, seen, pickNext);
      if (fast) return fast;
      // Read without a claim and the run moved meanwhile: nothing was written; claim and run it again.
      if (seen.unclaimed) throw new StepNotClaimedError(runId, stepId);
    }
    return this.ds.transaction(async (m) => {
      // The update is the lock (and tells claims made before it that the run moved on).
      const [locked]: [{ status: RunStatus }[], number] = await m.query(
        `UPDATE runs SET steps_version = steps_version + 1 WHERE id = $1 RETURNING status`,
        [runId],
      );
      if (!locked[0]) return { recorded: false, ready: [], runStatus: null };
      // Only the latest claim may record: a stale duplicate's result is dropped.
      const [updated]: [unknown[], number] = await m.query(
        `UPDATE step_runs SET status = $3, input = $4, output = $5, error = $6, finished_at = now(), lease_until = NULL
          WHERE run_id = $1 AND step_id = $2 AND status = 'running' AND attempts = $7
          RETURNING 1`,
        [
          runId,
          stepId,
          result.status,
          toJsonb(result.input),
          toJsonb(result.output),
          toJsonb(result.error),
          attempt.n,
        ],
      );
      if (updated.length === 0) return { recorded: false, ready: [], runStatus: null };
      await m.query(
        `INSERT INTO step_attempts (run_id, step_id, n, started_at, duration_ms, outcome, error, response_status)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [
          runId,
          stepId,
          attempt.n,
          attempt.startedAt,
          attempt.durationMs,
          attempt.outcome,
          toJsonb(attempt.error),
          attempt.responseStatus,
        ],
      );
      if (!['queued', 'running'].includes(locked[0].status)) {
        return { recorded: true, ready: [], runStatus: locked[0].status };
      }
      return { recorded: true, ...(await this.advanceLocked(m, runId, decide)) };
    });
  }

  /**
   * After a step's end, under the run's lock (`m`'s transaction): skips what can no longer run,
   * marks the steps that became ready enqueued, finishes the run when nothing is left.
   */
  private async advanceLocked(
    m: EntityManager,
    runId: string,
    decide: AdvanceDecision,
  ): Promise<{ ready: string[]; runStatus: RunStatus | null }> {
    const rows: { step_id: string; status: StepStatus; enqueued_at: Date | null }[] = await m.query(
      `SELECT step_id, status, enqueued_at FROM step_runs WHERE run_id = $1`,
      [runId],
    );
    const statuses: Record<string, StepStatus> = {};
    for (const r of rows) statuses[r.step_id] = r.status;
    const decision = decide(statuses);
    const alreadyEnqueued = new Set(rows.filter((r) => r.enqueued_at).map((r) => r.step_id));
    const ready = decision.ready.filter((id) => !alreadyEnqueued.has(id));

    if (decision.skip.length > 0) {
      await m.query(
        `UPDATE step_runs SET status = 'skipped', finished_at = now()
          WHERE run_id = $1 AND step_id = ANY($2::text[]) AND status = 'pending'`,
        [runId, decision.skip],
      );
    }
    if (ready.length > 0) {
      await m.query(
        `UPDATE step_runs SET enqueued_at = now() WHERE run_id = $1 AND step_id = ANY($2::text[])`,
        [runId, ready],
      );
    }
    if (decision.runStatus) {
      await m.query(`UPDATE runs SET status = $2, finished_at = now() WHERE id = $1`, [
        runId,
        decision.runStatus,
      ]);
    }
    return { ready, runStatus: decision.runStatus };
  }

  /**
   * `finishStep` in one statement, for a claim whose view of the run is still current: the run's
   * `steps_version` is what the claim left it at, so no step ended, was claimed, retried or
   * cancelled since, and the decision taken on the claim's statuses is the one the locked path
   * would take. The version check is an UPDATE of the run row: a concurrent finisher waits on it
   * and then finds the version moved. Null when the version moved: the caller takes the locked path.
   */
  private async finishSeenStep(
    runId: string,
    stepId: string,
    result: StepResult,
    attempt: AttemptRecord,
    decide: AdvanceDecision,
    seen: SeenSteps,
    pickNext?: PickNext,
  ): Promise<FinishedStep | null> {
    const statuses: Record<string, StepStatus> = {};
    for (const [id, step] of Object.entries(seen.steps)) statuses[id] = step.status;
    statuses[stepId] = result.status;
    const decision = decide(statuses);
    const ready = decision.ready.filter((id) => !seen.steps[id]?.enqueued);
    const next = pickNext && ready.length > 0 ? await pickNext(ready) : null;
    const row = await this.seenFinishes.submit({
      run_id: runId,
      step_id: stepId,
      status: result.status,
      input: result.input ?? null,
      output: result.output ?? null,
      error: result.error ?? null,
      n: attempt.n,
      started_at: attempt.startedAt,
      duration_ms: attempt.durationMs,
      outcome: attempt.outcome,
      attempt_error: attempt.error ?? null,
      version: seen.version,
      run_status: decision.runStatus,
      skip: decision.skip,
      enqueue: next ? ready.filter((id) => id !== next.stepId) : ready,
      response_status: attempt.responseStatus,
      next_step: next?.stepId ?? null,
      next_lease_ms: next?.leaseMs ?? 0,
      expect_status: seen.unclaimed?.status ?? 'running',
      expect_attempts: seen.unclaimed?.attempts ?? attempt.n,
      unclaimed: seen.unclaimed !== undefined,
    });
    if (!row.recorded) return null;
    const finished: FinishedStep = { recorded: true, ready, runStatus: decision.runStatus };
    if (!next) return finished;
    if (row.next_attempt === null) {
      // Not claimed after all (cannot happen while the version check holds): it was left out of
      // the enqueued marks, so mark it now for the caller to enqueue like the rest.
      await this.ds.query(`UPDATE step_runs SET enqueued_at = now() WHERE run_id = $1 AND step_id = $2`, [
        runId,
        next.stepId,
      ]);
      return finished;
    }
    // The run as this statement left it: one change past the version it checked, made by nobody else.
    const steps: SeenSteps['steps'] = { ...seen.steps, [stepId]: { status: result.status, enqueued: true } };
    for (const id of decision.skip) steps[id] = { status: 'skipped', enqueued: steps[id]?.enqueued ?? false };
    for (const id of ready) steps[id] = { status: steps[id].status, enqueued: true };
    steps[next.stepId] = { status: 'running', enqueued: true };
    return {
      ...finished,
      next: {
        stepId: next.stepId,
        attempt: row.next_attempt,
        attemptBase: row.next_attempt_base ?? 0,
        finishedOutput: row.output,
        seen: { version: seen.version + 1, steps },
      },
    };
  }

  /**
   * The statements of `finishSeenStep` for many steps: alone, the statement with one parameter per
   * field; together, one statement over all of them (one JSON parameter), for steps of distinct
   * runs (a second step of the same run goes after, on its own: its run's version check must see
   * the first one's end). Should the joint statement fail on one step's data, nothing of it was
   * written, and each step is recorded on its own instead, so that only that step fails.
   */
  private async finishSeenSteps(batch: SeenFinish[]): Promise<(SeenFinishRow | ItemFailure)[]> {
    const out: (SeenFinishRow | ItemFailure)[] = new Array(batch.length);
    const runs = new Set<string>();
    const joint: number[] = [];
    const after: number[] = [];
    batch.forEach((f, k) => {
      if (runs.has(f.run_id)) after.push(k);
      else {
        runs.add(f.run_id);
        joint.push(k);
      }
    });
    const alone = (k: number) => this.finishSeenStepAlone(batch[k]);
    const recorded = await jointOrEach(
      joint,
      async (ks) => {
        const rows: (SeenFinishRow & { ord: number })[] = await preparedQuery(
          this.ds,
          'hookflow_finish_seen_steps',
          FINISH_SEEN_STEPS,
          [toJsonb(ks.map((k) => ({ ...batch[k], ord: k }))), ks.map((k) => batch[k].run_id)],
        );
        const byOrd = new Map(rows.map((row) => [row.ord, row]));
        return ks.map((k) => byOrd.get(k)!);
      },
      alone,
    );
    joint.forEach((k, n) => (out[k] = recorded[n]));
    for (const k of after) out[k] = await alone(k).catch((e: unknown) => new ItemFailure(e));
    return out;
  }

  private async finishSeenStepAlone(f: SeenFinish): Promise<SeenFinishRow> {
    const rows: SeenFinishRow[] = await preparedQuery(
      this.ds,
      'hookflow_finish_seen_step',
      // $19/$20: the step's state as the claim left it ('running', attempt n) or, for a step read
      // without a claim ($21), as the read saw it: then this statement is also its claim.
      FINISH_SEEN_STEP_SQL,
      [
        f.run_id,
        f.step_id,
        f.status,
        toJsonb(f.input),
        toJsonb(f.output),
        toJsonb(f.error),
        f.n,
        f.started_at,
        f.duration_ms,
        f.outcome,
        toJsonb(f.attempt_error),
        f.version,
        f.run_status,
        f.skip,
        f.enqueue,
        f.response_status,
        f.next_step,
        f.next_lease_ms,
        f.expect_status,
        f.expect_attempts,
        f.unclaimed,
      ],
    );
    return rows[0];
  }

  /**
   * Unfinished steps of live runs that were handed to the queue before `staleBefore`, leaving
   * out steps a worker holds a live claim on.
   */
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

  /**
   * Marks steps as checked by the reconciler so they are not looked at again for a while, and
   * counts a re-enqueue for those it `requeued`.
   */
  async touchEnqueued(steps: { runId: string; stepId: string; requeued?: boolean }[]): Promise<void> {
    if (steps.length === 0) return;
    await this.ds.query(
      `UPDATE step_runs s SET enqueued_at = now(), requeues = s.requeues + CASE WHEN t.requeued THEN 1 ELSE 0 END
         FROM unnest($1::uuid[], $2::text[], $3::bool[]) AS t(run_id, step_id, requeued)
        WHERE s.run_id = t.run_id AND s.step_id = t.step_id`,
      [steps.map((s) => s.runId), steps.map((s) => s.stepId), steps.map((s) => s.requeued === true)],
    );
  }

  /**
   * Fails a step that is waiting to run and held by no live claim (the reconciler giving it up),
   * with `error`, and moves the run on as the end of a step does: what depends on it is skipped,
   * the run finishes when nothing is left, and the steps made ready are marked enqueued for the
   * caller. Not recorded when the step was claimed or finished meanwhile, its re-enqueues are
   * fewer than `requeues` (the run was retried meanwhile), or the run is over.
   */
  async abandonStep(
    runId: string,
    stepId: string,
    requeues: number,
    error: StepError,
    decide: AdvanceDecision,
  ): Promise<Omit<FinishedStep, 'next'>> {
    return this.ds.transaction(async (m) => {
      // The update is the lock, as in finishStep.
      const [locked]: [unknown[], number] = await m.query(
        `UPDATE runs SET steps_version = steps_version + 1
          WHERE id = $1 AND status IN ('queued', 'running') RETURNING 1`,
        [runId],
      );
      if (locked.length === 0) return { recorded: false, ready: [], runStatus: null };
      const [updated]: [unknown[], number] = await m.query(
        `UPDATE step_runs SET status = 'failed', error = $3, finished_at = now(), lease_until = NULL
          WHERE run_id = $1 AND step_id = $2 AND requeues >= $4 AND ${claimableStep('')}
          RETURNING 1`,
        [runId, stepId, toJsonb(error), requeues],
      );
      if (updated.length === 0) return { recorded: false, ready: [], runStatus: null };
      return { recorded: true, ...(await this.advanceLocked(m, runId, decide)) };
    });
  }

  /**
   * Resumes a failed or cancelled run, under the run's row lock so no finishing step races it:
   * failed, cancelled, waiting and skipped steps go back to pending with a fresh attempt budget
   * (`attempts_base` = attempts so far; attempt numbers keep counting), `decide` then re-skips
   * what sits behind a filter and names the steps that are ready, which are marked enqueued for
   * the caller to enqueue after the commit. Succeeded steps are never reopened.
   */
  async retryRun(runId: string, decide: AdvanceDecision): Promise<RunOperation<RetriedRun>> {
    return this.ds.transaction(async (m) => {
      const locked: { status: RunStatus }[] = await m.query(
        `SELECT status FROM runs WHERE id = $1 FOR UPDATE`,
        [runId],
      );
      if (!locked[0]) return { kind: 'missing' };
      if (!RETRYABLE_RUN.has(locked[0].status)) return { kind: 'refused', status: locked[0].status };

      // A step still 'running' whose lease lapsed lost its worker (after a cancel, say): reopen it too.
      const rows: { step_id: string; status: StepStatus }[] = await m.query(
        `SELECT step_id,
                CASE WHEN status = 'running' AND coalesce(lease_until, '-infinity') < now() THEN 'cancelled'
                     ELSE status END AS status
           FROM step_runs WHERE run_id = $1 ORDER BY position`,
        [runId],
      );
      const statuses: Record<string, StepStatus> = {};
      for (const r of rows) statuses[r.step_id] = REOPENABLE_STEP.has(r.status) ? 'pending' : r.status;
      const decision = decide(statuses);
      const skip = new Set(decision.skip);
      const reopened = rows
        .filter((r) => REOPENABLE_STEP.has(r.status) && !skip.has(r.step_id))
        .map((r) => r.step_id);
      const ready = decision.ready.filter((id) => reopened.includes(id));

      if (reopened.length > 0) {
        // enqueued_at is cleared on the others so the worker enqueues them when their needs succeed.
        await m.query(
          `UPDATE step_runs
              SET status = 'pending', attempts_base = attempts, requeues = 0, input = NULL, output = NULL,
                  error = NULL, resume_at = NULL,
                  enqueued_at = CASE WHEN step_id = ANY($3::text[]) THEN now() END,
                  lease_until = NULL, started_at = NULL, finished_at = NULL
            WHERE run_id = $1 AND step_id = ANY($2::text[])`,
          [runId, reopened, ready],
        );
      }
      if (skip.size > 0) {
        await m.query(
          `UPDATE step_runs SET status = 'skipped', finished_at = coalesce(finished_at, now()), lease_until = NULL
            WHERE run_id = $1 AND step_id = ANY($2::text[]) AND status <> 'skipped'`,
          [runId, [...skip]],
        );
      }
      // Nothing left to run (a cancel that came after the last step finished): the run ends as its steps say.
      const status: RunStatus = decision.runStatus ?? 'queued';
      await m.query(
        `UPDATE runs SET status = $2, finished_at = CASE WHEN $2 = 'queued' THEN NULL ELSE now() END,
                         steps_version = steps_version + 1
          WHERE id = $1`,
        [runId, status],
      );
      return { kind: 'done', reopened, ready, status };
    });
  }

  /**
   * Cancels a queued or running run under its row lock: the run ends `cancelled`, and its waiting
   * steps (pending, between retries, or claimed by a worker whose lease lapsed) are cancelled.
   * A step running right now finishes its attempt; its result is recorded but moves nothing on,
   * and the claim of any job still queued for the run is refused.
   */
  async cancelRun(runId: string): Promise<RunOperation<CancelledRun>> {
    return this.ds.transaction(async (m) => {
      const locked: { status: RunStatus }[] = await m.query(
        `SELECT status FROM runs WHERE id = $1 FOR UPDATE`,
        [runId],
      );
      if (!locked[0]) return { kind: 'missing' };
      if (!['queued', 'running'].includes(locked[0].status)) {
        return { kind: 'refused', status: locked[0].status };
      }
      await m.query(
        `UPDATE runs SET status = 'cancelled', finished_at = now(), steps_version = steps_version + 1 WHERE id = $1`,
        [runId],
      );
      const [cancelled]: [{ step_id: string }[], number] = await m.query(
        `UPDATE step_runs SET status = 'cancelled', finished_at = now(), lease_until = NULL
          WHERE run_id = $1 AND ${claimableStep('')}
          RETURNING step_id`,
        [runId],
      );
      return { kind: 'done', cancelled: cancelled.map((r) => r.step_id) };
    });
  }

  /** The run a replay starts from, with its flow's state; null for an unknown run. */
  async findReplaySource(runId: string): Promise<ReplaySource | null> {
    const rows: ReplaySource[] = await this.ds.query(
      `SELECT r.id AS "runId", r.event_id AS "eventId", r.flow_id AS "flowId", f.slug AS "flowSlug",
              f.enabled AS "flowEnabled", f.deleted_at IS NOT NULL AS "flowDeleted",
              r.flow_version_id AS "pinnedVersionId", v.id AS "currentVersionId"
         FROM runs r
         JOIN flows f ON f.id = r.flow_id
         JOIN flow_versions v ON v.flow_id = f.id AND v.version = f.current_version
        WHERE r.id = $1`,
      [runId],
    );
    return rows[0] ?? null;
  }

  /**
   * A new run from an event already stored, linked to the run it replays, with one row per step
   * in a single statement; roots are marked enqueued as at ingress, for the reconciler's sake.
   */
  async createReplayRun(replay: {
    originRunId: string;
    flowId: string;
    flowVersionId: string;
    eventId: string;
    steps: StepPlan[];
  }): Promise<string> {
    const runId = randomUUID();
    await this.ds.query(
      `WITH r AS (
         INSERT INTO runs (id, flow_id, flow_version_id, event_id, status, created_at, origin_run_id)
         VALUES ($1, $2, $3, $4, 'queued', $5, $6)
       )
       INSERT INTO step_runs (run_id, step_id, position, status, attempts, enqueued_at)
       SELECT $1, s.id, s.pos, 'pending', 0, CASE WHEN s.root THEN $5::timestamptz END
         FROM unnest($7::text[], $8::int[], $9::bool[]) AS s(id, pos, root)`,
      [
        runId,
        replay.flowId,
        replay.flowVersionId,
        replay.eventId,
        new Date(),
        replay.originRunId,
        replay.steps.map((s) => s.id),
        replay.steps.map((_, i) => i),
        replay.steps.map((s) => s.root),
      ],
    );
    return runId;
  }

  /** Runs a bulk retry covers, oldest first, with the version each is pinned to. */
  async findRetryableRuns(filter: RetryableRunFilter): Promise<{ id: string; flowVersionId: string }[]> {
    const rows: { id: string; flow_version_id: string }[] = await this.ds.query(
      `SELECT id, flow_version_id FROM runs
        WHERE flow_id = $1 AND status = $2
          AND ($3::timestamptz IS NULL OR created_at >= $3)
          AND ($4::timestamptz IS NULL OR created_at < $4)
        ORDER BY created_at, id`,
      [filter.flowId, filter.status, filter.since ?? null, filter.until ?? null],
    );
    return rows.map((r) => ({ id: r.id, flowVersionId: r.flow_version_id }));
  }

  async findRun(runId: string): Promise<Run | null> {
    return this.ds.manager.findOneBy(Run, { id: runId });
  }

  async list(
    filter: RunListFilter,
  ): Promise<{ items: (Run & { flowSlug: string })[]; nextCursor: string | null }> {
    const qb = this.ds.manager
      .createQueryBuilder(Run, 'r')
      .innerJoin('flows', 'f', 'f.id = r.flow_id')
      .addSelect('f.slug', 'flow_slug')
      .orderBy('r.created_at', 'DESC')
      .addOrderBy('r.id', 'DESC')
      .limit(filter.limit + 1);
    if (filter.flowId) qb.andWhere('r.flow_id = :flowId', { flowId: filter.flowId });
    if (filter.status) qb.andWhere('r.status = :status', { status: filter.status });
    if (filter.cursor) {
      const c = decodeCursor(filter.cursor);
      if (!c) throw new InvalidCursorError('cursor is not one this server gave out');
      qb.andWhere('(r.created_at, r.id) < (:at, :id)', { at: c.at, id: c.id });
    }
    const { entities, raw } = await qb.getRawAndEntities();
    const items = entities.map((run, i) => Object.assign(run, { flowSlug: raw[i].flow_slug as string }));
    const more = items.length > filter.limit;
    if (more) items.pop();
    const last = items[items.length - 1];
    return { items, nextCursor: more && last ? encodeCursor(last.createdAt, last.id) : null };
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
      return {
        run: Object.assign(run, { flowSlug: flow[0]?.slug ?? '' }),
        event,
        steps: steps.map((s) =>
          Object.assign(s, { attemptList: attempts.filter((a) => a.stepId === s.stepId) }),
        ),
      };
    });
  }
}

/** The trigger request as steps see it, from an events row joined to its run (older runs may lack an event). */
function triggerDataOf(row: Omit<RunContextRow, 'slug' | 'outputs'>): TriggerData {
  return {
    body: row.body ?? null,
    query: row.query ?? {},
    headers: row.headers ?? {},
    method: row.method ?? 'POST',
    receivedAt: (row.received_at ?? row.created_at).toISOString(),
  };
}
