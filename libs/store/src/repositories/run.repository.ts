import type { RunStatus, StepError, StepStatus, TriggerData } from '@hookflow/flows';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { Attempt, Event, Run, StepRun } from '../entities';
import type { AttemptOutcome } from '../entities';
import { decodeCursor, encodeCursor } from './cursor';

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

export interface StepPlan {
  id: string;
  /** Roots are handed to the queue right after the commit. */
  root: boolean;
}

/** A step claimed for one attempt, with what it needs to run. */
export interface ClaimedStep {
  attempt: number;
  flowVersionId: string;
  flowSlug: string;
  trigger: TriggerData;
  outputs: Record<string, unknown>;
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
  attempts: number;
  flowVersionId: string;
}

export class InvalidCursorError extends Error {}

const UNFINISHED_STEP = `('pending', 'running', 'retrying')`;

/** Runs, their steps and attempts: the state machine's storage, in as few round trips as it allows. */
export class RunRepository {
  constructor(private readonly ds: DataSource) {}

  /**
   * Stores an accepted webhook: the event, its run and one row per step, in a single statement
   * (atomic without a transaction block, one round trip). Root steps are marked enqueued here so
   * the reconciler re-enqueues them if the enqueue after the commit is lost.
   */
  async createRunFromEvent(
    event: IncomingEvent,
    steps: StepPlan[],
  ): Promise<{ runId: string; eventId: string }> {
    const eventId = randomUUID();
    const runId = randomUUID();
    await this.ds.query(
      `WITH e AS (
         INSERT INTO events (id, flow_id, method, headers, query, body, raw_body, content_type, source_ip,
                             received_at, status_code, accepted, run_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, true, $12)
       ), r AS (
         INSERT INTO runs (id, flow_id, flow_version_id, event_id, status, created_at)
         VALUES ($12, $2, $13, $1, 'queued', $10)
       )
       INSERT INTO step_runs (run_id, step_id, position, status, attempts, enqueued_at)
       SELECT $12, s.id, s.pos, 'pending', 0, CASE WHEN s.root THEN $10::timestamptz END
         FROM unnest($14::text[], $15::int[], $16::bool[]) AS s(id, pos, root)`,
      [
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
      ],
    );
    return { runId, eventId };
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
    const rows: {
      attempt: number | null;
      flow_version_id: string;
      slug: string;
      body: unknown;
      query: Record<string, unknown> | null;
      headers: Record<string, string> | null;
      method: string | null;
      received_at: Date | null;
      created_at: Date;
      outputs: Record<string, unknown>;
    }[] = await this.ds.query(
      `WITH claimed AS (
         UPDATE step_runs
            SET status = 'running', attempts = attempts + 1, started_at = coalesce(started_at, now()),
                lease_until = now() + make_interval(secs => $3::double precision / 1000)
          WHERE run_id = $1 AND step_id = $2
            AND (status IN ('pending', 'retrying') OR (status = 'running' AND coalesce(lease_until, '-infinity') < now()))
            AND EXISTS (SELECT 1 FROM runs WHERE id = $1 AND status IN ('queued', 'running'))
          RETURNING attempts
       ), started AS (
         UPDATE runs SET status = 'running', started_at = now()
          WHERE id = $1 AND status = 'queued' AND EXISTS (SELECT 1 FROM claimed)
       )
       SELECT (SELECT attempts FROM claimed) AS attempt, r.flow_version_id, f.slug, r.created_at,
              e.body, e.query, e.headers, e.method, e.received_at,
              (SELECT coalesce(jsonb_object_agg(s.step_id, s.output), '{}'::jsonb)
                 FROM step_runs s WHERE s.run_id = $1 AND s.status IN ('succeeded', 'filtered')) AS outputs
         FROM runs r
         JOIN flows f ON f.id = r.flow_id
         LEFT JOIN events e ON e.id = r.event_id
        WHERE r.id = $1`,
      [runId, stepId, leaseMs],
    );
    const row = rows[0];
    if (!row || row.attempt === null) return null;
    return {
      attempt: row.attempt,
      flowVersionId: row.flow_version_id,
      flowSlug: row.slug,
      trigger: {
        body: row.body ?? null,
        query: row.query ?? {},
        headers: row.headers ?? {},
        method: row.method ?? 'POST',
        receivedAt: (row.received_at ?? row.created_at).toISOString(),
      },
      outputs: row.outputs,
    };
  }

  /**
   * Records a failed attempt that the queue will try again. Returns false when this attempt no
   * longer holds the step (a later claim took it over), in which case nothing is written.
   */
  async markRetrying(
    runId: string,
    stepId: string,
    input: unknown,
    attempt: AttemptRecord,
  ): Promise<boolean> {
    const rows: { n: number }[] = await this.ds.query(
      `WITH s AS (
         UPDATE step_runs SET status = 'retrying', input = $3, error = $4, lease_until = NULL
          WHERE run_id = $1 AND step_id = $2 AND status = 'running' AND attempts = $5
          RETURNING attempts
       )
       INSERT INTO step_attempts (run_id, step_id, n, started_at, duration_ms, outcome, error, response_status)
       SELECT $1, $2, $5, $6, $7, $8, $4, $9 FROM s
       RETURNING n`,
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
    return rows.length > 0;
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
  ): Promise<{ recorded: boolean; ready: string[]; runStatus: RunStatus | null }> {
    return this.ds.transaction(async (m) => {
      const locked: { status: RunStatus }[] = await m.query(
        `SELECT status FROM runs WHERE id = $1 FOR UPDATE`,
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
      return { recorded: true, ready, runStatus: decision.runStatus };
    });
  }

  /**
   * Unfinished steps of live runs that were handed to the queue before `staleBefore`, leaving
   * out steps a worker holds a live claim on.
   */
  async findStaleSteps(staleBefore: Date, limit: number): Promise<StaleStep[]> {
    const rows: { run_id: string; step_id: string; attempts: number; flow_version_id: string }[] =
      await this.ds.query(
        `SELECT s.run_id, s.step_id, s.attempts, r.flow_version_id
           FROM step_runs s JOIN runs r ON r.id = s.run_id
          WHERE s.status IN ${UNFINISHED_STEP} AND s.enqueued_at < $1
            AND (s.status <> 'running' OR coalesce(s.lease_until, '-infinity') < now())
            AND r.status IN ('queued', 'running')
          ORDER BY s.enqueued_at
          LIMIT $2`,
        [staleBefore, limit],
      );
    return rows.map((r) => ({
      runId: r.run_id,
      stepId: r.step_id,
      attempts: r.attempts,
      flowVersionId: r.flow_version_id,
    }));
  }

  /** Marks steps as checked by the reconciler so they are not looked at again for a while. */
  async touchEnqueued(steps: { runId: string; stepId: string }[]): Promise<void> {
    if (steps.length === 0) return;
    await this.ds.query(
      `UPDATE step_runs s SET enqueued_at = now()
         FROM unnest($1::uuid[], $2::text[]) AS t(run_id, step_id)
        WHERE s.run_id = t.run_id AND s.step_id = t.step_id`,
      [steps.map((s) => s.runId), steps.map((s) => s.stepId)],
    );
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
    const run = await this.ds.manager.findOneBy(Run, { id: runId });
    if (!run) return null;
    const [flow, event, steps, attempts] = await Promise.all([
      this.ds.query(`SELECT slug FROM flows WHERE id = $1`, [run.flowId]) as Promise<{ slug: string }[]>,
      run.eventId ? this.ds.manager.findOneBy(Event, { id: run.eventId }) : Promise.resolve(null),
      this.ds.manager.find(StepRun, { where: { runId }, order: { position: 'ASC' } }),
      this.ds.manager.find(Attempt, { where: { runId }, order: { n: 'ASC' } }),
    ]);
    return {
      run: Object.assign(run, { flowSlug: flow[0]?.slug ?? '' }),
      event,
      steps: steps.map((s) =>
        Object.assign(s, { attemptList: attempts.filter((a) => a.stepId === s.stepId) }),
      ),
    };
  }
}

/**
 * JSON text for a jsonb parameter. PostgreSQL's jsonb refuses the NUL character (`\u0000`), which
 * senders and receivers can put anywhere; it is stored as U+FFFD so the data is kept, not refused.
 * The raw bytes of an event are kept unchanged in `raw_body`.
 */
export function toJsonb(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  const text = JSON.stringify(value);
  // Only an escape preceded by an even number of backslashes is a NUL (`\\u0000` is text).
  return text.includes('\\u0000') ? text.replace(/(?<!\\)((?:\\\\)*)\\u0000/g, '$1\\ufffd') : text;
}
