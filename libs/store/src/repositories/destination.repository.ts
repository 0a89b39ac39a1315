import {
  afterFailure,
  afterSuccess,
  pauseByHand,
  resumeByHand,
  type BreakerChange,
  type BreakerPolicy,
  type BreakerRow,
  type DestinationState,
  type PausedBy,
  type StepError,
  type StepStatus,
} from '@hookflow/flows';
import type { DataSource, EntityManager } from 'typeorm';
import { OpsEventRepository } from './ops-event.repository';
import { claimableForRun } from './runs/run-sql';

/** A healthy destination's failures in a row count as one streak while no more than this apart. */
const STREAK_MS = 3_600_000;
/** SQL: the row's streak is over (the `d` of an upsert, `$3` = STREAK_MS). */
const STALE_STREAK = `d.state = 'healthy' AND d.last_failure_at < now() - $3 * interval '1 millisecond'`;

/** A destination as the breaker caches it: its id, `host:port` and breaker state. */
export interface BreakerEntry {
  id: string;
  host: string;
  row: BreakerRow;
}

/** A destination as GET /api/destinations shows it. */
export interface DestinationView {
  id: string;
  host: string;
  state: DestinationState;
  pausedBy: PausedBy | null;
  consecutiveFailures: number;
  /** Share of the last hour's attempts that reached it and failed as the breaker counts failures; null without attempts. */
  failureRate: number | null;
  /** Attempts of the last hour that reached it. */
  recentAttempts: number;
  lastSuccessAt: Date | null;
  lastFailureAt: Date | null;
  lastError: { code: string; message: string; status?: number } | null;
  failingSince: Date | null;
  pausedUntil: Date | null;
  cooldownMs: number | null;
  /** Steps of live runs held for it now. */
  waitingSteps: number;
  createdAt: Date;
  updatedAt: Date;
}

/** A step held for a destination, as far as failing it needs. */
export interface HeldStep {
  runId: string;
  stepId: string;
  flowVersionId: string;
  status: StepStatus;
  attempts: number;
}

/** What a write did: the breaker entry after it, and the event it announced, if any. */
export interface BreakerWrite {
  entry: BreakerEntry;
  event?: BreakerChange['event'];
  /** Steps held for the destination that may go now (it resumed); their rows are gone from the waits. */
  released: { runId: string; stepId: string }[];
}

// UPDATE and DELETE ... RETURNING are wrapped in a CTE: TypeORM answers them as [rows, count], a SELECT as rows.

/** Attempts that count as the receiver failing: 5xx, 429, connection errors, timeouts (docs/outbound.md). */
const FAILED_ATTEMPT = `a.outcome IN ('failed', 'retrying') AND (a.response_status >= 500 OR a.response_status = 429
  OR (a.response_status IS NULL AND a.error->>'code' IN ('network_error', 'timeout', 'tls_error')))`;
/** Attempts that reached the receiver (an answer, or a failure of its own). */
const REACHED_ATTEMPT = `(a.response_status IS NOT NULL OR a.outcome = 'succeeded' OR (${FAILED_ATTEMPT}))`;

const VIEW = `
  SELECT d.*, COALESCE(h.attempts, 0)::int AS recent_attempts, h.failures::int AS recent_failures,
         (SELECT count(*) FROM destination_waits w
            JOIN step_runs s ON s.run_id = w.run_id AND s.step_id = w.step_id
            JOIN runs r ON r.id = w.run_id
           WHERE w.destination_id = d.id AND s.status IN ('pending', 'retrying')
             AND r.status IN ('queued', 'running'))::int AS waiting_steps
    FROM destinations d
    LEFT JOIN LATERAL (
      SELECT count(*) FILTER (WHERE ${REACHED_ATTEMPT}) AS attempts, count(*) FILTER (WHERE ${FAILED_ATTEMPT}) AS failures
        FROM step_attempts a
       WHERE a.destination = d.host AND a.started_at >= now() - interval '1 hour') h ON true`;

interface DestinationDbRow {
  id: string;
  host: string;
  state: DestinationState;
  paused_by: PausedBy | null;
  consecutive_failures: number;
  last_success_at: Date | null;
  last_failure_at: Date | null;
  last_error: DestinationView['lastError'];
  failing_since: Date | null;
  paused_until: Date | null;
  cooldown_ms: number | null;
  probe_until: Date | null;
  created_at: Date;
  updated_at: Date;
  now_ms?: number;
  recent_attempts?: number;
  recent_failures?: number | null;
  waiting_steps?: number;
}

/**
 * The circuit breaker's shared state per `host:port` (docs/outbound.md, "Circuit breaker"): every
 * change is decided by libs/flows (`afterFailure`, ...) on the row locked in its transaction, and
 * its event goes to the outbox in the same transaction.
 */
export class DestinationRepository {
  private readonly ops: OpsEventRepository;

  constructor(
    private readonly ds: DataSource,
    /** The dashboard's address, for the link in events. */
    private readonly publicUrl?: string,
  ) {
    this.ops = new OpsEventRepository(ds);
  }

  /**
   * The destinations the breaker must know of: not healthy, or failing lately (a streak older than
   * STREAK_MS starts again at its next failure). Healthy ones have no entry.
   */
  async entries(): Promise<BreakerEntry[]> {
    const rows: DestinationDbRow[] = await this.ds.query(
      `SELECT * FROM destinations
        WHERE state <> 'healthy'
           OR (consecutive_failures > 0 AND last_failure_at > now() - $1 * interval '1 millisecond')`,
      [STREAK_MS],
    );
    return rows.map(entryOf);
  }

  /**
   * Forgets healthy destinations that have not failed for `olderThanMs` and hold no step: a URL
   * templated from a payload must not leave a row for every host a sender names.
   */
  async prune(olderThanMs: number): Promise<number> {
    const rows: unknown[] = await this.ds.query(
      `WITH gone AS (
         DELETE FROM destinations d
          WHERE d.state = 'healthy' AND d.updated_at < now() - $1 * interval '1 millisecond'
            AND (d.last_failure_at IS NULL OR d.last_failure_at < now() - $1 * interval '1 millisecond')
            AND NOT EXISTS (SELECT 1 FROM destination_waits w WHERE w.destination_id = d.id)
          RETURNING 1)
       SELECT 1 FROM gone`,
      [olderThanMs],
    );
    return rows.length;
  }

  /** Counts a failure of `host` (its row made at the first) and applies what the breaker decides. */
  recordFailure(host: string, error: StepError, policy: BreakerPolicy): Promise<BreakerWrite> {
    const lastError = {
      code: error.code,
      message: error.message.slice(0, 500),
      ...(error.status !== undefined ? { status: error.status } : {}),
    };
    return this.ds.transaction(async (m) => {
      // The upsert locks the row to the end of the transaction: counts from all workers add up.
      const [row]: DestinationDbRow[] = await m.query(
        `INSERT INTO destinations AS d (host, consecutive_failures, last_failure_at, last_error)
         VALUES ($1, 1, now(), $2)
         ON CONFLICT (host) DO UPDATE SET
           consecutive_failures = CASE WHEN ${STALE_STREAK} THEN 1 ELSE d.consecutive_failures + 1 END,
           failing_since = CASE WHEN ${STALE_STREAK} THEN NULL ELSE d.failing_since END,
           last_failure_at = now(), last_error = excluded.last_error, updated_at = now()
         RETURNING d.*, (extract(epoch FROM now()) * 1000)::float8 AS now_ms`,
        [host, JSON.stringify(lastError), STREAK_MS],
      );
      const current = entryOf(row);
      return this.apply(m, current, afterFailure(current.row, policy, Number(row.now_ms)));
    });
  }

  /** An answer from `host` while it had failures or was paused; null when it has no row. */
  recordSuccess(host: string): Promise<BreakerWrite | null> {
    return this.ds.transaction(async (m) => {
      const [row]: DestinationDbRow[] = await m.query(
        `WITH u AS (UPDATE destinations SET last_success_at = now() WHERE host = $1 RETURNING *) SELECT * FROM u`,
        [host],
      );
      if (!row) return null;
      const current = entryOf(row);
      return this.apply(m, current, afterSuccess(current.row));
    });
  }

  /** Takes the probe of a paused destination whose cool-down is over, unless another worker holds it. */
  async claimProbe(id: string, leaseMs: number): Promise<boolean> {
    const rows: unknown[] = await this.ds.query(
      `WITH u AS (UPDATE destinations SET probe_until = now() + $2 * interval '1 millisecond', updated_at = now()
        WHERE id = $1 AND state = 'paused' AND paused_by = 'breaker' AND paused_until <= now()
          AND (probe_until IS NULL OR probe_until < now())
        RETURNING id) SELECT id FROM u`,
      [id, leaseMs],
    );
    return rows.length > 0;
  }

  /** Gives a probe back that was never sent (its worker had no slot for it), so another may take it. */
  async releaseProbe(id: string): Promise<void> {
    await this.ds.query(`UPDATE destinations SET probe_until = NULL WHERE id = $1 AND state = 'paused'`, [
      id,
    ]);
  }

  /**
   * Notes that a step is held for the destination `id` unless it is healthy again or the step can
   * no longer be claimed (it ended, or its run did: its job must end, not wait), and returns the
   * destination's current state: a worker's copy may be a second old (a resume by hand).
   */
  async hold(
    id: string,
    runId: string,
    stepId: string,
  ): Promise<{ entry: BreakerEntry; claimable: boolean } | null> {
    const rows: (DestinationDbRow & { claimable: boolean })[] = await this.ds.query(
      `WITH d AS (SELECT * FROM destinations WHERE id = $1),
       s AS (SELECT (r.status IN ('queued', 'running') AND ${claimableForRun('s')}) AS claimable
               FROM runs r JOIN step_runs s ON s.run_id = r.id AND s.step_id = $3
              WHERE r.id = $2),
       w AS (INSERT INTO destination_waits (destination_id, run_id, step_id)
             SELECT d.id, $2, $3 FROM d, s WHERE d.state <> 'healthy' AND s.claimable
             ON CONFLICT (run_id, step_id) DO UPDATE SET destination_id = excluded.destination_id, since = now()
               WHERE destination_waits.destination_id <> excluded.destination_id)
       SELECT d.*, COALESCE((SELECT claimable FROM s), false) AS claimable FROM d`,
      [id, runId, stepId],
    );
    return rows[0] ? { entry: entryOf(rows[0]), claimable: rows[0].claimable } : null;
  }

  /** The unfinished steps held for the destination `id`. */
  async held(id: string, limit = 500): Promise<HeldStep[]> {
    const rows: {
      run_id: string;
      step_id: string;
      flow_version_id: string;
      status: StepStatus;
      attempts: number;
    }[] = await this.ds.query(
      `SELECT w.run_id, w.step_id, r.flow_version_id, s.status, s.attempts
           FROM destination_waits w
           JOIN step_runs s ON s.run_id = w.run_id AND s.step_id = w.step_id
           JOIN runs r ON r.id = w.run_id
          WHERE w.destination_id = $1 AND s.status IN ('pending', 'retrying') AND r.status IN ('queued', 'running')
          ORDER BY w.since LIMIT $2`,
      [id, limit],
    );
    return rows.map((r) => ({
      runId: r.run_id,
      stepId: r.step_id,
      flowVersionId: r.flow_version_id,
      status: r.status,
      attempts: r.attempts,
    }));
  }

  /** Forgets that steps are held (they ended, or went). */
  async release(steps: { runId: string; stepId: string }[]): Promise<void> {
    if (steps.length === 0) return;
    await this.ds.query(
      `DELETE FROM destination_waits w USING unnest($1::uuid[], $2::text[]) AS x(run_id, step_id)
        WHERE w.run_id = x.run_id AND w.step_id = x.step_id`,
      [steps.map((s) => s.runId), steps.map((s) => s.stepId)],
    );
  }

  /** Pauses a destination by hand (no probes until resumed); null when there is no such destination. */
  pause(id: string): Promise<BreakerWrite | null> {
    return this.byHand(id, pauseByHand);
  }

  /** Resumes a paused or disabled destination by hand; null when there is no such destination. */
  resume(id: string): Promise<BreakerWrite | null> {
    return this.byHand(id, resumeByHand);
  }

  /** Destinations that ever failed, the unwell first; `state` filters. */
  async list(state?: DestinationState): Promise<DestinationView[]> {
    const rows: DestinationDbRow[] = await this.ds.query(
      `${VIEW} WHERE ($1::text IS NULL OR d.state = $1)
        ORDER BY d.state = 'healthy', d.last_failure_at DESC NULLS LAST, d.host LIMIT 1000`,
      [state ?? null],
    );
    return rows.map(viewOf);
  }

  async get(id: string): Promise<DestinationView | null> {
    const [row]: DestinationDbRow[] = await this.ds.query(`${VIEW} WHERE d.id = $1`, [id]);
    return row ? viewOf(row) : null;
  }

  private byHand(id: string, decide: (row: BreakerRow) => BreakerChange): Promise<BreakerWrite | null> {
    return this.ds.transaction(async (m) => {
      const [row]: DestinationDbRow[] = await m.query(`SELECT * FROM destinations WHERE id = $1 FOR UPDATE`, [
        id,
      ]);
      if (!row) return null;
      const current = entryOf(row);
      return this.apply(m, current, decide(current.row));
    });
  }

  /** Writes the decided row and, with it, its event; a resume lets the held steps go. */
  private async apply(m: EntityManager, current: BreakerEntry, change: BreakerChange): Promise<BreakerWrite> {
    const r = change.row;
    await m.query(
      `UPDATE destinations SET state = $2, paused_by = $3, consecutive_failures = $4, failing_since = $5,
              paused_until = $6, cooldown_ms = $7, probe_until = $8, updated_at = now()
        WHERE id = $1`,
      [
        current.id,
        r.state,
        r.pausedBy,
        r.consecutiveFailures,
        dateOf(r.failingSinceMs),
        dateOf(r.pausedUntilMs),
        r.cooldownMs,
        dateOf(r.probeUntilMs),
      ],
    );
    const entry = { ...current, row: r };
    let released: BreakerWrite['released'] = [];
    if (change.event === 'destination.resumed') {
      const rows: { run_id: string; step_id: string }[] = await m.query(
        `WITH d AS (DELETE FROM destination_waits WHERE destination_id = $1 RETURNING run_id, step_id) SELECT * FROM d`,
        [current.id],
      );
      released = rows.map((w) => ({ runId: w.run_id, stepId: w.step_id }));
    }
    if (change.event) {
      const [row]: DestinationDbRow[] = await m.query(`${VIEW} WHERE d.id = $1`, [current.id]);
      await this.ops.emit(change.event, { data: { destination: this.eventBody(viewOf(row)) } }, m);
    }
    return { entry, event: change.event, released };
  }

  /** A destination event's body (the dispatcher adds `type` and `at`). */
  private eventBody(view: DestinationView): Record<string, unknown> {
    return {
      id: view.id,
      host: view.host,
      state: view.state,
      consecutiveFailures: view.consecutiveFailures,
      failureRate: view.failureRate,
      lastError: view.lastError,
      lastSuccessAt: view.lastSuccessAt?.toISOString() ?? null,
      pausedUntil: view.pausedUntil?.toISOString() ?? null,
      failingSince: view.failingSince?.toISOString() ?? null,
      waitingSteps: view.waitingSteps,
      ...(this.publicUrl ? { url: `${this.publicUrl}/ui/destinations` } : {}),
    };
  }
}

function entryOf(row: DestinationDbRow): BreakerEntry {
  return {
    id: row.id,
    host: row.host,
    row: {
      state: row.state,
      pausedBy: row.paused_by,
      consecutiveFailures: row.consecutive_failures,
      failingSinceMs: msOf(row.failing_since),
      pausedUntilMs: msOf(row.paused_until),
      cooldownMs: row.cooldown_ms,
      probeUntilMs: msOf(row.probe_until),
    },
  };
}

function viewOf(row: DestinationDbRow): DestinationView {
  const attempts = row.recent_attempts ?? 0;
  return {
    id: row.id,
    host: row.host,
    state: row.state,
    pausedBy: row.paused_by,
    consecutiveFailures: row.consecutive_failures,
    failureRate: attempts > 0 ? Math.round(((row.recent_failures ?? 0) / attempts) * 1000) / 1000 : null,
    recentAttempts: attempts,
    lastSuccessAt: row.last_success_at,
    lastFailureAt: row.last_failure_at,
    lastError: row.last_error,
    failingSince: row.failing_since,
    pausedUntil: row.paused_until,
    cooldownMs: row.cooldown_ms,
    waitingSteps: row.waiting_steps ?? 0,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function msOf(date: Date | null): number | null {
  return date ? new Date(date).getTime() : null;
}

function dateOf(ms: number | null): Date | null {
  return ms === null ? null : new Date(ms);
}
