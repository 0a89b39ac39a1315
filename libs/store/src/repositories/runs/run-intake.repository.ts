import { Coalescer, ItemFailure } from '@hookflow/platform';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { preparedQuery } from '../../database/prepared';
import { toJsonb } from '../jsonb';
import { jointOrEach } from './run-sql';

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

interface NewRun {
  event: IncomingEvent;
  steps: StepPlan[];
}

/** Intake: new runs, from a webhook (ingress) or from a stored event (a replay). */
export class RunIntake {
  /** New runs without a dedupe key, many to a statement under load; each caller returns once committed. */
  private readonly newRuns = new Coalescer<NewRun, CreatedRun>((batch) => this.insertRunsOrEach(batch), {
    maxBatch: 200,
    maxInFlight: 4,
    sameTurn: true,
  });

  constructor(private readonly ds: DataSource) {}

  /**
   * Stores an accepted webhook (event, run, step rows) in one statement, roots marked enqueued for
   * the reconciler. A `dedupe` key held within its window inserts nothing and names the holder;
   * the primary key on (flow, key), never a read, decides between concurrent copies.
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
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::jsonb[], $5::jsonb[], $6::json[],
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

  /** A new run from a stored event, linked to the run it replays, in one statement; roots marked enqueued. */
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
}
