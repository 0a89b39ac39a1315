import { STEP_QUEUE, stepJobId } from '@hookflow/queue';
import { QueueEvents } from 'bullmq';
import { Client } from 'pg';
import type request from 'supertest';
import { HookflowHarness, TEST_DATABASE_URL } from '../utils/hookflow-harness';
import { SinkServer } from '../utils/sink-server';
import { TcpProxy } from '../utils/tcp-proxy';
import { waitFor } from '../utils/wait-for';

/**
 * Writes to PostgreSQL cut off half-way (a lost connection, a backend terminated), on the real
 * database: the branches that keep "nothing lost, nothing twice" true when they are.
 */

/**
 * A session of the test's own that holds a lock, and a second one that sees who waits for it
 * (within a transaction, PostgreSQL shows the holder one snapshot of pg_stat_activity).
 */
class Locker {
  private constructor(
    private readonly holder: Client,
    private readonly holderPid: number,
    readonly observer: Client,
  ) {}

  static async open(): Promise<Locker> {
    const [holder, observer] = [TEST_DATABASE_URL, TEST_DATABASE_URL].map(
      (connectionString) => new Client({ connectionString }),
    );
    await Promise.all([holder.connect(), observer.connect()]);
    const { rows } = await holder.query('SELECT pg_backend_pid() AS pid');
    return new Locker(holder, rows[0].pid, observer);
  }

  /** Opens a transaction and runs `lock` in it (a LOCK TABLE, a SELECT ... FOR UPDATE). */
  async hold(lock: string, params: unknown[] = []): Promise<void> {
    await this.holder.query('BEGIN');
    await this.holder.query(lock, params);
  }

  async release(): Promise<void> {
    await this.holder.query('COMMIT');
  }

  /** The backends waiting for the held lock, oldest statement first. */
  async waiting(): Promise<{ pid: number; clientPort: number }[]> {
    const { rows } = await this.observer.query(
      `SELECT pid, client_port FROM pg_stat_activity WHERE $1 = ANY (pg_blocking_pids(pid)) ORDER BY query_start`,
      [this.holderPid],
    );
    return rows.map((r) => ({ pid: r.pid, clientPort: r.client_port }));
  }

  /** Waits until `count` backends wait for the lock, and returns them. */
  async waitForWaiting(count: number): Promise<{ pid: number; clientPort: number }[]> {
    return waitFor(
      async () => {
        const waiting = await this.waiting();
        return waiting.length === count && waiting;
      },
      { what: `${count} statement(s) waiting for the test's lock` },
    );
  }

  /** Ends a backend, as an administrator or a failover would: its statement fails, its transaction rolls back. */
  async terminate(pid: number): Promise<void> {
    await this.observer.query('SELECT pg_terminate_backend($1)', [pid]);
  }

  async close(): Promise<void> {
    await Promise.all([this.holder.end(), this.observer.end()]);
  }
}

/** What a webhook's answer was, by its body's `n`. */
type Answers = Map<number, { status: number; body: Record<string, unknown> }>;

describe('a batch of new runs whose connection is lost after its commit', () => {
  let proxy: TcpProxy;
  let hf: HookflowHarness;
  let sink: SinkServer;
  let locker: Locker;

  beforeAll(async () => {
    const target = new URL(TEST_DATABASE_URL);
    proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
    const viaProxy = new URL(TEST_DATABASE_URL);
    viaProxy.port = String(proxy.port);
    sink = await SinkServer.start();
    // The API reaches PostgreSQL through the proxy, which can lose one of its connections.
    hf = await HookflowHarness.start({
      worker: false,
      env: { DATABASE_URL: viaProxy.toString(), RECONCILE_INTERVAL_MS: '200', RECONCILE_STALE_MS: '200' },
    });
    locker = await Locker.open();
  });

  afterAll(async () => {
    await locker?.close();
    await hf?.close();
    await proxy?.close();
    await sink?.close();
  });

  it('is not inserted again run by run: its webhooks answer 503 and each is stored once, delivered once', async () => {
    const { hookPath } = await hf.createFlow({
      slug: 'batched',
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'send',
          type: 'action',
          connector: 'http',
          with: { url: `${sink.url}/batched`, json: '{{input}}' },
        },
      ],
    });
    const answers: Answers = new Map();
    const pending: Promise<void>[] = [];
    let next = 1;
    const send = () => {
      const n = next++;
      const req: request.Test = hf.http().post(hookPath).send({ n });
      pending.push(req.then((res) => void answers.set(n, { status: res.status, body: res.body })));
    };

    // New events wait for the test's lock; the API stores at most 4 statements at a time.
    await locker.hold(`LOCK TABLE "${hf.id}".events IN SHARE MODE`);
    for (let i = 1; i <= 4; i++) {
      send();
      await locker.waitForWaiting(i);
    }
    const singles = await locker.waiting();
    // These 8 wait behind them, to go together in the next statement.
    for (let i = 0; i < 8; i++) send();
    await waitFor(
      () =>
        new Promise<boolean>((resolve) => hf.api.getHttpServer().getConnections((_, n) => resolve(n >= 12))),
      { what: 'the 8 webhooks to reach the API' },
    );
    // One of the first four is ended: the batch of the 8 takes its place, and waits as well.
    await locker.terminate(singles[0].pid);
    const [batch] = await waitFor(
      async () => {
        const waiting = await locker.waiting();
        const fresh = waiting.filter((w) => !singles.some((s) => s.pid === w.pid));
        return waiting.length === 4 && fresh.length === 1 && fresh;
      },
      { what: 'the batch statement to wait for the lock' },
    );

    // The batch commits, but its answer never reaches the API; then its connection is lost.
    proxy.swallowReplies(batch.clientPort);
    await locker.release();
    await waitFor(
      async () => {
        const { rows } = await locker.observer.query('SELECT state FROM pg_stat_activity WHERE pid = $1', [
          batch.pid,
        ]);
        return rows[0]?.state === 'idle';
      },
      { what: 'the batch statement to commit' },
    );
    proxy.cut(batch.clientPort);
    await Promise.all(pending);

    const stored = await runsByN(hf);
    // Every 2xx is stored, once; the rest answered 503 and are stored at most once: the batch was
    // not inserted again run by run after its connection was lost.
    for (const [n, answer] of answers) {
      if (answer.status === 202) expect({ n, runs: stored.get(n) }).toEqual({ n, runs: 1 });
      else {
        expect({ n, ...answer }).toMatchObject({ n, status: 503, body: { error: 'database_unavailable' } });
        expect(stored.get(n) ?? 0).toBeLessThanOrEqual(1);
      }
    }
    // The ended statement stored nothing; the batch's commit stood although its answer was lost.
    expect(answers.get(1)?.status).toBe(503);
    expect(stored.has(1)).toBe(false);
    const refusedButStored = [...answers].filter(([n, a]) => a.status === 503 && stored.has(n));
    expect(refusedButStored.length).toBeGreaterThanOrEqual(2);

    // What is stored is delivered once: the batch's runs by the reconciler, the API never enqueued them.
    await hf.startWorker();
    await waitFor(() => sink.received('/batched').length >= stored.size && true, {
      timeoutMs: 20_000,
      what: `${stored.size} deliveries (got ${sink.received('/batched').length})`,
    });
    const delivered = sink.received('/batched').map((r) => (r.json as { n: number }).n);
    expect(delivered.sort((a, b) => a - b)).toEqual([...stored.keys()].sort((a, b) => a - b));
  });
});

describe('a step whose outcome cannot be recorded', () => {
  let hf: HookflowHarness;
  let sink: SinkServer;
  let locker: Locker;
  let db: Client;

  beforeAll(async () => {
    sink = await SinkServer.start();
    hf = await HookflowHarness.start({ env: { RECONCILE_INTERVAL_MS: '100', RECONCILE_STALE_MS: '100' } });
    locker = await Locker.open();
    db = new Client({ connectionString: TEST_DATABASE_URL });
    await db.connect();
  });

  afterAll(async () => {
    await db?.end();
    await locker?.close();
    await hf?.close();
    await sink?.close();
  });

  const stepRow = async (runId: string, stepId: string) =>
    (
      await db.query(
        `SELECT status, attempts, requeues, lease_until FROM "${hf.id}".step_runs WHERE run_id = $1 AND step_id = $2`,
        [runId, stepId],
      )
    ).rows[0];

  it('gives its claim back, so the next try runs it at once rather than after the lease', async () => {
    const { hookPath } = await hf.createFlow({
      slug: 'given-back',
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'send',
          type: 'action',
          connector: 'http',
          with: { url: `${sink.url}/given-back`, json: '{{input}}' },
          // A claim keeps other tries off the step for its timeout plus 30 s: 60 s here.
          timeout: '30s',
          retry: { attempts: 3, backoff: 'fixed', delay: '100ms' },
        },
      ],
    });
    const answer = sink.hold('/given-back');
    const { runId } = (await hf.http().post(hookPath).send({ hello: 'again' }).expect(202)).body;
    await sink.waitForRequests('/given-back', 1);
    const claimed = await stepRow(runId, 'send');
    expect(claimed).toMatchObject({ status: 'running', attempts: 1 });

    // The run is locked while the receiver answers: recording the outcome waits, and is cut off.
    await locker.hold(`SELECT 1 FROM "${hf.id}".runs WHERE id = $1 FOR UPDATE`, [runId]);
    answer();
    const [record] = await locker.waitForWaiting(1);
    await locker.terminate(record.pid);
    await locker.release();

    // Well within the first claim's lease: only a claim given back lets the job's next try in.
    const run = await hf.waitForRun(runId, 20_000);
    expect(run.status).toBe('succeeded');
    const received = sink.received('/given-back');
    expect(received).toHaveLength(2);
    expect(new Set(received.map((r) => r.headers['idempotency-key']))).toEqual(new Set([`${runId}_send`]));
    // The first attempt has no recorded outcome; the second claimed the step before the first lease ended.
    expect(run.steps[0].attempts.map((a: { n: number; outcome: string }) => [a.n, a.outcome])).toEqual([
      [2, 'succeeded'],
    ]);
    expect(Date.parse(run.steps[0].attempts[0].startedAt)).toBeLessThan(claimed.lease_until.getTime());
    expect(await stepRow(runId, 'send')).toMatchObject({ status: 'succeeded', attempts: 2, requeues: 0 });
  });

  it('run in process after the step before it, gives its claim back and goes to the queue with a job of its own', async () => {
    const { hookPath } = await hf.createFlow({
      slug: 'inline-given-back',
      trigger: { type: 'webhook' },
      steps: [
        { id: 'shape', type: 'transform', expression: '{ "n": n }' },
        {
          id: 'send',
          type: 'action',
          connector: 'http',
          needs: ['shape'],
          with: { url: `${sink.url}/inline-given-back`, json: '{{input}}' },
          // Claimed by the statement that records `shape`, for 60 s: only a claim given back lets a job in sooner.
          timeout: '30s',
          retry: { attempts: 3, backoff: 'fixed', delay: '100ms' },
        },
      ],
    });
    const answer = sink.hold('/inline-given-back');
    const { runId } = (await hf.http().post(hookPath).send({ n: 3 }).expect(202)).body;
    await sink.waitForRequests('/inline-given-back', 1);
    const claimed = await stepRow(runId, 'send');
    expect(claimed).toMatchObject({ status: 'running', attempts: 1 });

    await locker.hold(`SELECT 1 FROM "${hf.id}".runs WHERE id = $1 FOR UPDATE`, [runId]);
    answer();
    const [record] = await locker.waitForWaiting(1);
    await locker.terminate(record.pid);
    await locker.release();

    const run = await hf.waitForRun(runId, 20_000);
    expect(run.status).toBe('succeeded');
    const received = sink.received('/inline-given-back');
    expect(received.map((r) => [r.json, r.headers['idempotency-key']])).toEqual([
      [{ n: 3 }, `${runId}_send`],
      [{ n: 3 }, `${runId}_send`],
    ]);
    const send = run.steps.find((s: { id: string }) => s.id === 'send');
    expect(send.attempts.map((a: { n: number; outcome: string }) => [a.n, a.outcome])).toEqual([
      [2, 'succeeded'],
    ]);
    expect(Date.parse(send.attempts[0].startedAt)).toBeLessThan(claimed.lease_until.getTime());
  });

  it("is re-enqueued by the reconciler once its job has failed, counted against the step's requeues", async () => {
    const { hookPath } = await hf.createFlow({
      slug: 'job-failed',
      trigger: { type: 'webhook' },
      steps: [
        // One try for its job (a transform's default): a failure to record fails the job.
        { id: 'shape', type: 'transform', expression: '{ "n": n }' },
        {
          id: 'send',
          type: 'action',
          connector: 'http',
          needs: ['shape'],
          with: { url: `${sink.url}/job-failed`, json: '{{input}}' },
        },
      ],
    });
    const events = new QueueEvents(STEP_QUEUE, {
      connection: { url: hf.config.redisUrl } as never,
      prefix: hf.config.queuePrefix,
    });
    await events.waitUntilReady();
    try {
      const failed: string[] = [];
      events.on('failed', ({ jobId }) => failed.push(jobId));
      // Every attempt record waits for the test's lock: the transform's outcome is cut off.
      await locker.hold(`LOCK TABLE "${hf.id}".step_attempts IN SHARE MODE`);
      const { runId } = (await hf.http().post(hookPath).send({ n: 7 }).expect(202)).body;
      const [record] = await locker.waitForWaiting(1);
      await locker.terminate(record.pid);
      await locker.release();

      const run = await hf.waitForRun(runId, 20_000);
      expect(run.status).toBe('succeeded');
      expect(failed).toContain(stepJobId(runId, 'shape'));
      expect(sink.received('/job-failed').map((r) => r.json)).toEqual([{ n: 7 }]);
      // Re-enqueued once, as a finished job (a lost one would not count).
      expect(await stepRow(runId, 'shape')).toMatchObject({ status: 'succeeded', requeues: 1 });
    } finally {
      await events.close();
    }
  });
});

/** Stored runs of the test's flows by their body's `n`. */
async function runsByN(hf: HookflowHarness): Promise<Map<number, number>> {
  const client = new Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    const { rows } = await client.query(
      `SELECT (e.body->>'n')::int AS n, count(r.id)::int AS runs
         FROM "${hf.id}".events e JOIN "${hf.id}".runs r ON r.event_id = e.id
        WHERE e.accepted GROUP BY 1`,
    );
    return new Map(rows.map((r) => [r.n, r.runs]));
  } finally {
    await client.end();
  }
}
