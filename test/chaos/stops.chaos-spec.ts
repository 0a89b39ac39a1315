import http from 'node:http';
import { Client } from 'pg';
import { HookflowHarness } from '../utils/hookflow-harness';
import { OwnPostgres, OwnRedis } from '../utils/own-services';
import { SinkServer } from '../utils/sink-server';
import { waitFor } from '../utils/wait-for';
import { deliveryFlow, Ledger } from './chaos-kit';

const WORKER_CONCURRENCY = 16;
/** The worker's drain gives steps SHUTDOWN_GRACE_MS; past it, main.ts exits after this margin (CLOSE_MARGIN_MS in libs/platform). */
const CLOSE_MARGIN_MS = 5_000;

/**
 * The worker dies (SIGKILL) or is stopped (SIGTERM) in the middle of deliveries, and the API is
 * stopped with a request in flight. API and worker run as processes from dist/, on a PostgreSQL
 * and a Redis of this file's own.
 */
describe('chaos: the worker and the API are killed or stopped mid-work', () => {
  let pg: OwnPostgres;
  let redis: OwnRedis;
  let sink: SinkServer;
  let hf: HookflowHarness;

  beforeAll(async () => {
    [pg, redis, sink] = await Promise.all([OwnPostgres.start(), OwnRedis.start(), SinkServer.start()]);
    hf = await HookflowHarness.start({
      processes: true,
      databaseUrl: pg.url,
      redisUrl: redis.url,
      env: {
        WORKER_CONCURRENCY: String(WORKER_CONCURRENCY),
        // Recovery in seconds rather than the production defaults' tens of seconds.
        RECONCILE_INTERVAL_MS: '1000',
        RECONCILE_STALE_MS: '2000',
        SHUTDOWN_GRACE_MS: '10000',
      },
    });
  });

  afterAll(async () => {
    await hf?.close();
    await sink?.close();
    await redis?.stop();
    await pg?.destroy();
  });

  /** A run's status read from the database, for when the API is stopped. */
  async function runStatus(runId: string): Promise<string | undefined> {
    const client = new Client({ connectionString: pg.url });
    await client.connect();
    try {
      const { rows } = await client.query(`SELECT status FROM "${hf.id}".runs WHERE id = $1`, [runId]);
      return rows[0]?.status;
    } finally {
      await client.end();
    }
  }

  it('SIGKILL in the middle of 300 deliveries: after a restart every accepted webhook is delivered', async () => {
    const { hookPath } = await hf.createFlow(deliveryFlow('crash', `${sink.url}/crash`));
    const ledger = new Ledger(`${hf.apiUrl}${hookPath}`, sink, '/crash');
    // Each delivery takes a moment, so that the kill catches steps in flight, not only queued ones.
    sink.delay('/crash', 20);

    const sending = ledger.sendMany(300, 20);
    await waitFor(() => ledger.deliveries().size >= 60, { timeoutMs: 30_000, what: '60 deliveries' });
    hf.workerProcess!.kill('SIGKILL');
    expect(await hf.workerProcess!.exited).toEqual({ code: null, signal: 'SIGKILL' });
    await sending;
    const deliveredBeforeRestart = ledger.deliveries().size;
    expect(ledger.accepted.size).toBe(300);
    expect(deliveredBeforeRestart).toBeLessThan(300);

    await hf.startWorker();
    await ledger.waitAllDelivered(60_000, () => hf.workerProcess!.output);

    const figures = ledger.report('worker SIGKILL mid-delivery (300 webhooks)');
    console.log(`[chaos]   delivered before the kill and restart: ${deliveredBeforeRestart}`);
    expect(figures).toMatchObject({ accepted: 300, delivered: 300, undelivered: [] });
    // Only a delivery in flight at the kill (sent, its outcome not recorded) runs again: WORKER_CONCURRENCY at most.
    ledger.expectRepeatsAtMost(WORKER_CONCURRENCY);
  });

  it('SIGKILL in the middle of a 200-item loop: after a restart every item is delivered, the recorded ones once', async () => {
    const { hookPath } = await hf.createFlow({
      slug: 'crash-loop',
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'each',
          type: 'foreach',
          items: 'lines',
          concurrency: 4,
          steps: [
            {
              id: 'post',
              type: 'action',
              connector: 'http',
              // A short timeout, so that the leases of the items in flight at the kill lapse soon (timeout + 30 s).
              timeout: '2s',
              with: { url: `${sink.url}/loop/{{index}}`, json: '{{item}}' },
            },
          ],
        },
        { id: 'after', type: 'transform', expression: '$count($)' },
      ],
    });
    const lines = Array.from({ length: 200 }, (_, n) => ({ n }));
    // Each item's call takes a moment, so that the kill catches some in flight.
    for (const n of lines.keys()) sink.delay(`/loop/${n}`, 20);
    const res = await fetch(`${hf.apiUrl}${hookPath}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ lines }),
    });
    expect(res.status).toBe(202);
    const { runId } = (await res.json()) as { runId: string };
    const sent = () => sink.requests.filter((r) => r.path.startsWith('/loop/'));
    await waitFor(() => new Set(sent().map((r) => r.path)).size >= 60, {
      timeoutMs: 30_000,
      what: '60 items',
    });
    hf.workerProcess!.kill('SIGKILL');
    expect(await hf.workerProcess!.exited).toEqual({ code: null, signal: 'SIGKILL' });
    const beforeRestart = new Set(sent().map((r) => r.path)).size;
    expect(beforeRestart).toBeLessThan(200);

    await hf.startWorker();
    await waitFor(async () => ['succeeded', 'failed'].includes((await runStatus(runId)) ?? ''), {
      timeoutMs: 90_000,
      what: 'the loop run to finish',
    });
    const run = await hf.getRun(runId);
    expect(run.status).toBe('succeeded');
    expect(run.steps.find((s: { id: string }) => s.id === 'after').output).toBe(200);
    const byItem = new Map<string, number>();
    for (const r of sent()) byItem.set(r.path, (byItem.get(r.path) ?? 0) + 1);
    expect([...byItem.keys()].sort()).toEqual(lines.map((_, n) => `/loop/${n}`).sort());
    // Only the items in flight at the kill (sent, their outcome not recorded) are sent again: 4 at most.
    const repeated = [...byItem.values()].filter((count) => count > 1);
    console.log(
      `[chaos]   loop items sent before the kill: ${beforeRestart}; sent twice: ${repeated.length}`,
    );
    expect(repeated.length).toBeLessThanOrEqual(4);
    expect(Math.max(...byItem.values())).toBeLessThanOrEqual(2);
  });

  it('SIGTERM with slow deliveries in flight: they finish, once each, and the worker exits 0', async () => {
    const { hookPath } = await hf.createFlow(deliveryFlow('drain', `${sink.url}/slow`));
    const ledger = new Ledger(`${hf.apiUrl}${hookPath}`, sink, '/slow');
    sink.delay('/slow', 1_000);
    await ledger.sendMany(8, 8);
    // All 8 are at the receiver, which answers a second later.
    await sink.waitForRequests('/slow', 8);
    const worker = hf.workerProcess!;

    const stopping = worker.stop('SIGTERM');
    // Readiness says so at once, while the steps are still in flight.
    await waitFor(
      async () => {
        const res = await fetch(`${hf.workerUrl}/health/ready`);
        return res.status === 503 && ((await res.json()) as { status: string }).status === 'draining';
      },
      { timeoutMs: 5_000, what: 'the worker to report draining' },
    );
    // Taken by nobody while the worker drains: it takes no new job.
    await ledger.sendMany(3, 3);

    expect(await stopping).toEqual({ code: 0, signal: null });
    // Redis was up all along: the ordinary drain closed everything.
    expect(worker.output).not.toContain('is unreachable; stopping without waiting');
    for (const runId of [...ledger.accepted.values()].slice(0, 8)) {
      const run = await hf.getRun(runId);
      expect(run.status).toBe('succeeded');
      expect(run.steps.find((s: { id: string }) => s.id === 'send')).toMatchObject({ status: 'succeeded' });
    }
    expect(sink.received('/slow')).toHaveLength(8);

    // The three sent during the drain are delivered by the next worker.
    await hf.startWorker();
    await ledger.waitAllDelivered(30_000);
    const figures = ledger.report('worker SIGTERM with 8 slow deliveries in flight');
    expect(figures).toMatchObject({ accepted: 11, delivered: 11, duplicates: 0 });
    ledger.expectRepeatsAtMost(0);
  });

  it('SIGTERM with a step that outlives the grace: exit 0 after it, and the step runs again on another worker', async () => {
    const GRACE_MS = 1_000;
    const { hookPath } = await hf.createFlow({
      slug: 'outlived',
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'send',
          type: 'action',
          connector: 'http',
          with: { url: `${sink.url}/outlived`, json: '{{input}}' },
          // Longer than the grace and the margin after it: the step still runs when the worker exits.
          timeout: '10s',
          retry: { attempts: 3, backoff: 'fixed', delay: '100ms' },
        },
      ],
    });
    const ledger = new Ledger(`${hf.apiUrl}${hookPath}`, sink, '/outlived');
    if (hf.workerProcess?.running) await hf.stopWorker();
    await hf.startWorker({ SHUTDOWN_GRACE_MS: String(GRACE_MS) });
    const worker = hf.workerProcess!;
    // The first delivery never gets an answer.
    sink.script('/outlived', ['hang']);
    await ledger.sendMany(1, 1);
    await sink.waitForRequests('/outlived', 1);

    const signalledAt = Date.now();
    const exit = await worker.stop('SIGTERM', GRACE_MS + CLOSE_MARGIN_MS + 10_000);
    const exitedAfterMs = Date.now() - signalledAt;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(exitedAfterMs).toBeGreaterThanOrEqual(GRACE_MS);
    expect(worker.output).toContain('still running after SHUTDOWN_GRACE_MS (1000 ms)');

    // Another worker runs it once its claim lapses (timeout + 30 s), with the same Idempotency-Key.
    await hf.startWorker();
    await sink.waitForRequests('/outlived', 2, 70_000);
    const [runId] = [...ledger.accepted.values()];
    const run = await hf.waitForRun(runId);
    expect(run.status).toBe('succeeded');
    // The first attempt left no outcome; the second claimed the step again.
    expect(run.steps[0].attempts.map((a: { n: number }) => a.n)).toEqual([2]);
    ledger.report('worker SIGTERM with a step outliving SHUTDOWN_GRACE_MS (1 s)');
    console.log(
      `[chaos]   exited ${exitedAfterMs} ms after SIGTERM (grace ${GRACE_MS} ms + margin ${CLOSE_MARGIN_MS} ms)`,
    );
    expect(sink.received('/outlived')).toHaveLength(2);
    ledger.expectRepeatsAtMost(1);
  }, 120_000);

  it('SIGTERM while Redis is down and no step is in flight: the worker exits 0 without waiting out the grace', async () => {
    const { hookPath } = await hf.createFlow(deliveryFlow('redis-down-stop', `${sink.url}/redis-down-stop`));
    const ledger = new Ledger(`${hf.apiUrl}${hookPath}`, sink, '/redis-down-stop');
    await ledger.sendMany(5, 5);
    await ledger.waitAllDelivered(30_000);

    await redis.stop();
    // The worker's queue client is reconnecting: its readiness says the queue is unavailable.
    await waitFor(
      async () => {
        const res = await fetch(`${hf.workerUrl}/health/ready`, { signal: AbortSignal.timeout(5_000) });
        return res.status === 503;
      },
      { timeoutMs: 10_000, what: 'the worker to see Redis gone' },
    );
    const worker = hf.workerProcess!;
    expect(await worker.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(worker.output).toContain('the queue (Redis) is unreachable; stopping without waiting for it');
    // Not by the backstop at SHUTDOWN_GRACE_MS + 5 s, which says "still draining ... exiting".
    expect(worker.output).not.toContain('still draining');

    // Nothing was lost, and the next worker carries on once Redis is back.
    await redis.restart();
    await hf.startWorker();
    await waitFor(async () => (await hf.http().get('/health/ready').timeout(5_000)).status === 200, {
      timeoutMs: 15_000,
      what: 'the API to be ready again',
    });
    await ledger.sendMany(3, 3);
    await ledger.waitAllDelivered(30_000, () => hf.workerProcess!.output);
    const figures = ledger.report('worker SIGTERM while Redis is down, nothing in flight');
    expect(figures).toMatchObject({ accepted: 8, delivered: 8, undelivered: [] });
    ledger.expectRepeatsAtMost(0);
  });

  it('SIGTERM to the API: the request in flight completes, new connections are refused, exit 0', async () => {
    const { hookPath } = await hf.createFlow(deliveryFlow('api-stop', `${sink.url}/api-stop`));
    const body = JSON.stringify({ id: 1 });
    // The headers go first, with `Expect: 100-continue`: the server's "100 Continue" says it has
    // the request in hand; the body follows only after the signal.
    const req = http.request({
      host: '127.0.0.1',
      port: hf.config.port,
      method: 'POST',
      path: hookPath,
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        expect: '100-continue',
      },
    });
    const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
      req.once('response', (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        res.once('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.once('error', reject);
    });
    await new Promise((resolve) => req.once('continue', resolve));
    const api = hf.apiProcess!;

    api.kill('SIGTERM');

    await waitFor(
      async () => {
        try {
          await fetch(`${hf.apiUrl}/health/live`, { signal: AbortSignal.timeout(1_000) });
          return false;
        } catch (err) {
          return (err as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED';
        }
      },
      { timeoutMs: 10_000, what: 'the API to refuse new connections' },
    );
    expect(api.running).toBe(true);
    req.end(body);
    const res = await answer;
    expect(res.status).toBe(202);
    // At once: the client's keep-alive connection does not hold the stopping API open.
    await waitFor(() => !api.running, { timeoutMs: 3_000, what: 'the API to exit once it has answered' });
    expect(await api.exited).toEqual({ code: 0, signal: null });
    // Answered 202, so stored: the worker delivers it, once.
    const { runId } = JSON.parse(res.body) as { runId: string };
    await waitFor(async () => (await runStatus(runId)) === 'succeeded', { what: `run ${runId} to succeed` });
    expect(sink.received('/api-stop').map((r) => r.json)).toEqual([{ id: 1, flow: 'api-stop' }]);
    console.log(`[chaos] API SIGTERM with a request in flight: answered ${res.status}, exit code 0`);
  });

  it('SIGTERM to the API while Redis is down: exit 0, with no error logged for the queue it cannot reach', async () => {
    // The test before stopped it (run alone, this one finds it still running).
    if (!hf.apiProcess?.running) await hf.startApi();
    await redis.stop();
    await waitFor(async () => (await hf.http().get('/health/ready').timeout(5_000)).status === 503, {
      timeoutMs: 10_000,
      what: 'the API to see Redis gone',
    });
    const api = hf.apiProcess!;
    expect(await api.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    const errors = api.output.split('\n').filter((line) => line.includes('"level":"error"'));
    expect(errors).toEqual([]);
    await redis.restart();
  });
});
