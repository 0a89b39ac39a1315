import { HookflowHarness } from '../utils/hookflow-harness';
import { OwnPostgres, OwnRedis } from '../utils/own-services';
import { SinkServer } from '../utils/sink-server';
import { waitFor } from '../utils/wait-for';
import { deliveryFlow, Ledger } from './chaos-kit';

/** The harness's WORKER_CONCURRENCY, and DESTINATION_CONCURRENCY's default: deliveries in flight at once. */
const DELIVERY_SLOTS = 8;

/**
 * Redis, then PostgreSQL, stops under a steady stream of webhooks and comes back. While one is
 * down the API answers 503 (retry later); whatever it answered 2xx is delivered afterwards. API
 * and worker run as processes from dist/, on a PostgreSQL and a Redis of this file's own.
 */
describe('chaos: Redis and PostgreSQL stop and come back under load', () => {
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
        // Recovery in seconds rather than the production defaults' tens of seconds.
        RECONCILE_INTERVAL_MS: '1000',
        RECONCILE_STALE_MS: '2000',
        // The default, spelled out: the crash test is about the worker's asynchronous commits.
        WORKER_SYNCHRONOUS_COMMIT: 'off',
      },
    });
  });

  afterAll(async () => {
    await hf?.close();
    await sink?.close();
    await redis?.stop();
    await pg?.destroy();
  });

  const logs = () => `api:\n${hf.apiProcess?.output ?? ''}\nworker:\n${hf.workerProcess?.output ?? ''}`;

  /**
   * A steady stream of webhooks; `service` stops after 20 deliveries and restarts once the API
   * has answered 10 times with `refusal`; every 2xx is then delivered.
   */
  async function outage(o: {
    slug: string;
    stop: () => Promise<void>;
    restart: () => Promise<void>;
    refusal: string;
    readiness: Record<string, string>;
    title: string;
    /** Repeats allowed: deliveries whose outcome could not be recorded. */
    repeats: number;
  }) {
    const { hookPath } = await hf.createFlow(deliveryFlow(o.slug, `${sink.url}/${o.slug}`));
    const ledger = new Ledger(`${hf.apiUrl}${hookPath}`, sink, `/${o.slug}`);
    const stop = ledger.sendUntilStopped(4);
    await waitFor(() => ledger.deliveries().size >= 20, { timeoutMs: 20_000, what: '20 deliveries' });

    await o.stop();
    await waitFor(() => ledger.count(`503 ${o.refusal}`) >= 10, {
      timeoutMs: 15_000,
      what: `503 ${o.refusal} answers (answers so far: ${JSON.stringify([...ledger.answers])})`,
    });
    const ready = await hf.http().get('/health/ready').timeout(5_000);
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject(o.readiness);
    // The worker's too, within its probes' 2 s: its queue client holds commands while Redis is away.
    const workerReady = await fetch(`${hf.workerUrl}/health/ready`, { signal: AbortSignal.timeout(5_000) });
    expect(workerReady.status).toBe(503);
    expect(await workerReady.json()).toMatchObject(o.readiness);

    await o.restart();
    const acceptedAtRestart = ledger.accepted.size;
    await waitFor(() => ledger.accepted.size >= acceptedAtRestart + 20, {
      timeoutMs: 30_000,
      what: 'webhooks to be accepted again',
    });
    await stop();
    await ledger.waitAllDelivered(45_000, logs);

    const figures = ledger.report(o.title);
    expect(figures.undelivered).toEqual([]);
    expect(figures.refused503).toBeGreaterThanOrEqual(10);
    // Only 2xx and 503: no 500, and no request left without an answer.
    expect(figures.other).toBe(0);
    ledger.expectRepeatsAtMost(o.repeats);
  }

  it('Redis stops: the API answers 503 while it is down, never 2xx-then-lost, and work resumes', async () => {
    await outage({
      slug: 'redis-outage',
      stop: () => redis.stop(),
      restart: () => redis.restart(),
      refusal: 'queue_unavailable',
      readiness: { queue: 'unavailable' },
      title: 'Redis stopped (SIGKILL, no persistence) and restarted under load',
      // Every outcome was recorded in PostgreSQL, which stayed up: nothing runs twice.
      repeats: 0,
    });
  });

  it('PostgreSQL stops: the API answers 503 while it is down, never 2xx-then-lost, and work resumes', async () => {
    await outage({
      slug: 'pg-outage',
      stop: () => pg.stop(),
      restart: () => pg.restart(),
      refusal: 'database_unavailable',
      readiness: { database: 'unavailable' },
      title: 'PostgreSQL stopped (fast shutdown) and restarted under load',
      // A delivery in flight at the stop could not record its outcome, and runs again: one per slot.
      repeats: DELIVERY_SLOTS,
    });
  });

  it('PostgreSQL crashes (SIGKILL) while the worker commits asynchronously: every 2xx is delivered after the restart', async () => {
    const { hookPath } = await hf.createFlow(deliveryFlow('pg-crash', `${sink.url}/pg-crash`));
    const ledger = new Ledger(`${hf.apiUrl}${hookPath}`, sink, '/pg-crash');
    // A second per delivery: a slot ends at most one delivery per asynchronous commit window (3 x wal_writer_delay = 600 ms).
    sink.delay('/pg-crash', 1_000);
    await ledger.sendMany(48, 4);
    expect(ledger.accepted.size).toBe(48);
    await waitFor(() => ledger.deliveries().size >= 16, { timeoutMs: 20_000, what: '16 deliveries' });

    await pg.crash();
    const deliveredAtCrash = ledger.deliveries().size;
    const stop = ledger.sendUntilStopped(2);
    await waitFor(() => ledger.count('503 database_unavailable') >= 5, {
      timeoutMs: 15_000,
      what: `503 database_unavailable answers (answers so far: ${JSON.stringify([...ledger.answers])})`,
    });
    await pg.restart();
    const acceptedAtRestart = ledger.accepted.size;
    await waitFor(() => ledger.accepted.size >= acceptedAtRestart + 8, {
      timeoutMs: 30_000,
      what: 'webhooks to be accepted again',
    });
    await stop();
    // Steps in flight at the crash keep their claim until it lapses (timeout + 30 s).
    await ledger.waitAllDelivered(90_000, logs);

    const figures = ledger.report('PostgreSQL crashed (SIGKILL, worker commits asynchronous) and restarted');
    console.log(`[chaos]   delivered at the crash: ${deliveredAtCrash} of 48`);
    expect(figures.undelivered).toEqual([]);
    expect(figures.other).toBe(0);
    // Per slot: one delivery in flight at the crash, and one answered within the commit window before it.
    ledger.expectRepeatsAtMost(2 * DELIVERY_SLOTS);
  }, 180_000);
});
