import type { RunRetry, RunStatus, RunView } from '@hookflow/flows';
import type { DataSource } from 'typeorm';
import { runFilterSql, type RunListFilter } from './run-queries.repository';
import { claimableStep, readRunView } from './run-sql';

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

/** An operation's outcome: `missing` for no run, `refused` (with the status) for the wrong state. */
export type RunOperation<T> =
  { kind: 'missing' } | { kind: 'refused'; status: RunStatus } | ({ kind: 'done' } & T);

export interface CancelledRun {
  /** Steps that were waiting (pending, between retries, or a parked delay) and will now never run. */
  cancelled: string[];
}

/** Which runs a bulk retry covers: a list's filter (`runFilterSql`) in a retryable status. */
export interface RetryableRunFilter extends Omit<RunListFilter, 'limit' | 'cursor' | 'status'> {
  status: Extract<RunStatus, 'failed' | 'cancelled'>;
}

/** Operations on whole runs from the API: retry, cancel, what a replay or a bulk retry covers. */
export class RunOperations {
  constructor(private readonly ds: DataSource) {}

  /** The run's status, version and steps, from one snapshot; null for no run. */
  view(runId: string): Promise<RunView | null> {
    return readRunView(this.ds, runId);
  }

  /**
   * Applies a retry decided by `retryOf` on the run's view at `version`. False, writing nothing,
   * when the run moved since: decide again on a fresh view.
   */
  async applyRetry(runId: string, version: number, retry: RunRetry): Promise<boolean> {
    const rows: { applied: boolean }[] = await this.ds.query(
      `WITH moved AS (
         UPDATE runs SET status = $3, finished_at = CASE WHEN $3 = 'queued' THEN NULL ELSE now() END,
                         steps_version = steps_version + 1, changed_at = clock_timestamp()
          WHERE id = $1 AND steps_version = $2 AND status IN ('failed', 'cancelled')
          RETURNING 1
       ), reopened AS (
         UPDATE step_runs
            SET status = 'pending', attempts_base = attempts, requeues = 0, input = NULL, output = NULL,
                error = NULL, resume_at = NULL, routes = NULL,
                enqueued_at = CASE WHEN step_id = ANY($5::text[]) THEN now() END,
                lease_until = NULL, started_at = NULL, finished_at = NULL
          WHERE run_id = $1 AND step_id = ANY($4::text[]) AND EXISTS (SELECT 1 FROM moved)
       ), skipped AS (
         UPDATE step_runs SET status = 'skipped', finished_at = coalesce(finished_at, now()), lease_until = NULL
          WHERE run_id = $1 AND step_id = ANY($6::text[]) AND status <> 'skipped' AND EXISTS (SELECT 1 FROM moved)
       )
       SELECT EXISTS (SELECT 1 FROM moved) AS applied`,
      [runId, version, retry.runStatus, retry.reopen, retry.enqueue, retry.skip],
    );
    return rows[0].applied;
  }

  /** Cancels a queued or running run and its waiting steps, under its row lock (docs/architecture.md). */
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
        `UPDATE runs SET status = 'cancelled', finished_at = now(), steps_version = steps_version + 1,
                         changed_at = clock_timestamp()
          WHERE id = $1`,
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

  /** Runs a bulk retry covers, oldest first, with the version each is pinned to. */
  /** A page of the runs a bulk retry takes, oldest first, after `after` (the last run of the page before). */
  async findRetryableRuns(
    filter: RetryableRunFilter,
    page: { limit: number; after?: { createdAt: Date; id: string } },
  ): Promise<{ id: string; flowVersionId: string; createdAt: Date }[]> {
    const { where, values } = runFilterSql(filter);
    let keyset = '';
    if (page.after) {
      values.push(page.after.createdAt, page.after.id);
      keyset = ` AND (r.created_at, r.id) > ($${values.length - 1}::timestamptz, $${values.length}::uuid)`;
    }
    values.push(page.limit);
    const rows: { id: string; flow_version_id: string; created_at: Date }[] = await this.ds.query(
      `SELECT r.id, r.flow_version_id, r.created_at FROM runs r WHERE ${where}${keyset}
        ORDER BY r.created_at, r.id LIMIT $${values.length}`,
      values,
    );
    return rows.map((r) => ({ id: r.id, flowVersionId: r.flow_version_id, createdAt: r.created_at }));
  }
}
