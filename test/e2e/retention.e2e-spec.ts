import { WorkerMetrics } from '@hookflow/platform';
import { Client } from 'pg';
import { RetentionPruner } from '../../apps/worker/src/maintenance/retention-pruner';
import { HookflowHarness, TEST_DATABASE_URL } from '../utils/hookflow-harness';
import { waitFor } from '../utils/wait-for';

/** A database session in the harness's schema, to age rows and count what is left. */
async function connect(hf: HookflowHarness): Promise<Client> {
  const db = new Client({ connectionString: TEST_DATABASE_URL, options: `-c search_path=${hf.id}` });
  await db.connect();
  return db;
}

async function count(db: Client, sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, params);
  return rows[0].n;
}

/** Moves runs (and their events, attempts and dedupe keys) `days` into the past, as if they were that old. */
async function age(db: Client, runIds: string[], days: number): Promise<void> {
  const by = `${days} days`;
  await db.query(
    `UPDATE runs SET created_at = created_at - $2::interval, started_at = started_at - $2::interval,
                     finished_at = finished_at - $2::interval
      WHERE id = ANY($1::uuid[])`,
    [runIds, by],
  );
  await db.query(
    `UPDATE events SET received_at = received_at - $2::interval
      WHERE id IN (SELECT event_id FROM runs WHERE id = ANY($1::uuid[]))`,
    [runIds, by],
  );
  await db.query(
    `UPDATE step_attempts SET started_at = started_at - $2::interval WHERE run_id = ANY($1::uuid[])`,
    [runIds, by],
  );
  await db.query(
    `UPDATE event_dedupe SET created_at = created_at - $2::interval WHERE run_id = ANY($1::uuid[])`,
    [runIds, by],
  );
}

/** Rows in every table retention deletes from. */
async function counts(db: Client): Promise<number[]> {
  const found: number[] = [];
  for (const table of ['runs', 'step_runs', 'step_attempts', 'events', 'event_dedupe']) {
    found.push(await count(db, table));
  }
  return found;
}

async function ageRefusals(db: Client, days: number): Promise<void> {
  await db.query(`UPDATE events SET received_at = received_at - $1::interval WHERE accepted = false`, [
    `${days} days`,
  ]);
}

const transformFlow = (slug: string) => ({
  slug,
  trigger: { type: 'webhook', dedupe: { header: 'webhook-id' } },
  steps: [{ id: 'shape', type: 'transform', expression: '{ "n": n }' }],
});

/** Sends webhooks and waits until every run they started has finished. */
async function deliver(hf: HookflowHarness, db: Client, hookPath: string, ids: string[]): Promise<string[]> {
  const runIds: string[] = [];
  for (const id of ids) {
    const res = await hf.http().post(hookPath).set('webhook-id', id).send({ n: id }).expect(202);
    runIds.push(res.body.runId);
  }
  await waitFor(
    async () =>
      (await count(db, `runs WHERE id = ANY($1::uuid[]) AND finished_at IS NOT NULL`, [runIds])) ===
      runIds.length,
    { what: `${runIds.length} runs to finish` },
  );
  return runIds;
}

async function refuse(hf: HookflowHarness, hookPath: string): Promise<void> {
  await hf.http().post(hookPath).set('content-type', 'application/json').send('{not json').expect(400);
}

describe('retention', () => {
  let hf: HookflowHarness;
  let db: Client;

  beforeAll(async () => {
    hf = await HookflowHarness.start({
      // Batches of 10 so that 25 old runs take three; the dedupe window is short to test its own cutoff.
      env: { RETENTION_DAYS: '30', RETENTION_BATCH_SIZE: '10', DEDUPE_WINDOW: '1h' },
    });
    db = await connect(hf);
  });

  afterAll(async () => {
    await db?.end();
    await hf?.close();
  });

  it('deletes old finished runs with their events, steps and attempts in batches; keeps recent and live ones', async () => {
    const { hookPath } = await hf.createFlow(transformFlow('old-news'));
    const parkedFlow = await hf.createFlow({
      slug: 'parked',
      trigger: { type: 'webhook' },
      steps: [{ id: 'wait', type: 'delay', for: '1h' }],
    });

    const old = await deliver(
      hf,
      db,
      hookPath,
      Array.from({ length: 25 }, (_, i) => `old-${i}`),
    );
    const [almost] = await deliver(hf, db, hookPath, ['almost']);
    const [recent] = await deliver(hf, db, hookPath, ['recent']);
    // A replay made today of an old run: it outlives the run it replays, and keeps the event they share.
    const replay = await hf.http().post(`/api/runs/${old[0]}/replay`).set(hf.auth).expect(202);
    const replayRun = await hf.waitForRun(replay.body.runId);
    expect(replayRun.status).toBe('succeeded');
    // A live run: parked on its delay step, the run stays `running`.
    const parked = await hf.http().post(parkedFlow.hookPath).send({}).expect(202);
    await waitFor(async () => (await hf.getRun(parked.body.runId)).steps[0].status === 'waiting', {
      what: 'the delay step to park',
    });
    await refuse(hf, hookPath);
    await ageRefusals(db, 31);
    await refuse(hf, hookPath);

    await age(db, old, 31);
    await age(db, [almost], 29);
    await age(db, [parked.body.runId], 400);
    const { rows: oldEvents } = await db.query<{ event_id: string }>(
      `SELECT event_id FROM runs WHERE id = ANY($1::uuid[])`,
      [old],
    );
    const sharedEvent = oldEvents.find((e) => e.event_id === replayRun.event.id)?.event_id;
    expect(sharedEvent).toBeDefined();
    expect(await count(db, `step_attempts WHERE run_id = ANY($1::uuid[])`, [old])).toBe(25);

    const report = await hf.worker!.get(RetentionPruner).pruneOnce();

    expect(report).toEqual({
      skipped: false,
      // 24 events: the 25th is the replay's too. The old runs' dedupe keys go with them (25), and
      // the 29-day-old run's key is past the one-hour dedupe window (1).
      pruned: { runs: 25, step_runs: 25, step_attempts: 25, events: 24 + 1, event_dedupe: 25 + 1 },
      // Runs: 10, 10, 5. Refusals: 1. Dedupe keys: 1.
      batches: 5,
    });
    expect(await count(db, `runs WHERE id = ANY($1::uuid[])`, [old])).toBe(0);
    expect(await count(db, `step_runs WHERE run_id = ANY($1::uuid[])`, [old])).toBe(0);
    expect(await count(db, `step_attempts WHERE run_id = ANY($1::uuid[])`, [old])).toBe(0);
    expect(await count(db, `event_dedupe WHERE run_id = ANY($1::uuid[])`, [old])).toBe(0);
    expect(await count(db, `events WHERE id = ANY($1::uuid[])`, [oldEvents.map((e) => e.event_id)])).toBe(1);
    await hf.http().get(`/api/runs/${old[1]}`).set(hf.auth).expect(404);

    // The replay keeps its event; the link to the deleted run it replayed is cleared.
    const kept = await hf.getRun(replay.body.runId);
    expect(kept).toMatchObject({ status: 'succeeded', originRunId: null, event: { id: sharedEvent } });

    // Younger than 30 days, or live however old: kept whole.
    for (const runId of [almost, recent, parked.body.runId]) {
      const run = await hf.getRun(runId);
      expect(run.steps).toHaveLength(1);
      expect(await count(db, `events WHERE id = $1`, [run.event.id])).toBe(1);
    }
    expect((await hf.getRun(parked.body.runId)).status).toBe('running');
    expect(await count(db, `step_attempts WHERE run_id = ANY($1::uuid[])`, [[almost, recent]])).toBe(2);
    // The recent run's dedupe key still counts; the 29-day-old one was past the window.
    expect(await count(db, `event_dedupe WHERE run_id = $1`, [recent])).toBe(1);
    expect(await count(db, `event_dedupe WHERE run_id = $1`, [almost])).toBe(0);
    // The old refusal went, the fresh one stayed.
    expect(await count(db, `events WHERE accepted = false`)).toBe(1);

    const metrics = await hf.worker!.get(WorkerMetrics).registry.metrics();
    expect(metrics).toContain('hookflow_retention_pruned_rows_total{table="runs"} 25');
    expect(metrics).toContain('hookflow_retention_pruned_rows_total{table="step_attempts"} 25');
    expect(metrics).toContain('hookflow_retention_pruned_rows_total{table="events"} 25');
    expect(metrics).toContain('hookflow_retention_pruned_rows_total{table="event_dedupe"} 26');

    // Nothing more to do: one short batch each.
    expect(await hf.worker!.get(RetentionPruner).pruneOnce()).toMatchObject({
      skipped: false,
      pruned: { runs: 0, step_runs: 0, step_attempts: 0, events: 0, event_dedupe: 0 },
      batches: 3,
    });
  });

  it('skips its turn while another worker holds the lock', async () => {
    const other = await connect(hf);
    try {
      await other.query(`SELECT pg_advisory_lock(hashtext('hookflow_retention_' || $1))`, [hf.id]);
      const report = await hf.worker!.get(RetentionPruner).pruneOnce();
      expect(report).toMatchObject({ skipped: true, batches: 0 });
      await other.query(`SELECT pg_advisory_unlock(hashtext('hookflow_retention_' || $1))`, [hf.id]);
      expect((await hf.worker!.get(RetentionPruner).pruneOnce()).skipped).toBe(false);
    } finally {
      await other.end();
    }
  });
});

describe('retention with RETENTION_DAYS=0', () => {
  let hf: HookflowHarness;
  let db: Client;

  beforeAll(async () => {
    hf = await HookflowHarness.start({ env: { RETENTION_DAYS: '0', DEDUPE_WINDOW: '1h' } });
    db = await connect(hf);
  });

  afterAll(async () => {
    await db?.end();
    await hf?.close();
  });

  it('keeps everything, however old', async () => {
    const { hookPath } = await hf.createFlow(transformFlow('forever'));
    const runs = await deliver(hf, db, hookPath, ['a', 'b']);
    await refuse(hf, hookPath);
    await age(db, runs, 4000);
    await ageRefusals(db, 4000);
    const before = await counts(db);
    expect(before).toEqual([2, 2, 2, 3, 2]);

    expect(await hf.worker!.get(RetentionPruner).pruneOnce()).toMatchObject({ skipped: true, batches: 0 });
    const after = await counts(db);
    expect(after).toEqual(before);
  });
});
