import { HookflowHarness } from '../utils/hookflow-harness';
import { SinkServer } from '../utils/sink-server';

/** GET /api/stats over real runs: successes to one receiver, failures to another answering 500. */
describe('GET /api/stats', () => {
  let hf: HookflowHarness;
  let good: SinkServer;
  let bad: SinkServer;
  let startedMs: number;

  const stats = (query: string) => hf.http().get(`/api/stats${query}`).set(hf.auth);

  beforeAll(async () => {
    good = await SinkServer.start();
    bad = await SinkServer.start();
    bad.script('/fail', Array(20).fill(500));
    hf = await HookflowHarness.start();
    startedMs = Date.now();
    const flow = (slug: string, url: string, attempts: number) =>
      hf.createFlow({
        slug,
        trigger: { type: 'webhook' },
        steps: [
          {
            id: 'send',
            type: 'action',
            connector: 'http',
            retry: { attempts, backoff: 'fixed', delay: '10ms' },
            with: { url, json: '{{input}}' },
          },
        ],
      });
    const ok = await flow('stats-ok', `${good.url}/ok`, 1);
    const failing = await flow('stats-fail', `${bad.url}/fail`, 2);
    const runIds: string[] = [];
    for (const [hookPath, n] of [
      [ok.hookPath, 3],
      [failing.hookPath, 2],
    ] as const) {
      for (let i = 0; i < n; i++) {
        runIds.push((await hf.http().post(hookPath).send({ i }).expect(202)).body.runId);
      }
    }
    for (const id of runIds) await hf.waitForRun(id);
  });

  afterAll(async () => {
    await hf?.close();
    await good?.close();
    await bad?.close();
  });

  const window = () => {
    const since = new Date(startedMs - 5 * 60_000);
    const until = new Date(Date.now() + 60_000);
    return { since, until, query: `since=${since.toISOString()}&until=${until.toISOString()}` };
  };

  it('counts runs by status, in every minute bucket of the window', async () => {
    const { since, until, query } = window();
    const { body } = await stats(`?bucket=minute&${query}`).expect(200);
    expect(body).toMatchObject({ since: since.toISOString(), until: until.toISOString(), bucket: 'minute' });
    expect(body.totals).toEqual({
      queued: 0,
      running: 0,
      succeeded: 3,
      failed: 2,
      filtered: 0,
      cancelled: 0,
    });
    const first = Math.floor(since.getTime() / 60_000) * 60_000;
    const count = Math.ceil((until.getTime() - first) / 60_000);
    expect(body.series).toHaveLength(count);
    expect(body.series.map((b: any) => Date.parse(b.at))).toEqual(
      Array.from({ length: count }, (_, k) => first + k * 60_000),
    );
    const sum = (status: string) => body.series.reduce((n: number, b: any) => n + b[status], 0);
    expect([sum('succeeded'), sum('failed'), sum('queued')]).toEqual([3, 2, 0]);
    // The runs fall in the buckets of their creation, not before the harness started.
    const busy = body.series.filter((b: any) => b.succeeded + b.failed > 0);
    for (const b of busy)
      expect(Date.parse(b.at)).toBeGreaterThanOrEqual(Math.floor(startedMs / 60_000) * 60_000);
  });

  it('sums up each flow, most failed first, with run duration percentiles', async () => {
    const { body } = await stats(`?bucket=minute&${window().query}`).expect(200);
    expect(body.flows.map((f: any) => [f.flow, f.total, f.failed, f.failureRate])).toEqual([
      ['stats-fail', 2, 2, 1],
      ['stats-ok', 3, 0, 0],
    ]);
    for (const f of body.flows) {
      expect(f.p50Ms).toEqual(expect.any(Number));
      expect(f.p99Ms).toBeGreaterThanOrEqual(f.p50Ms);
      expect(f.series).toHaveLength(body.series.length);
      expect(f.series.reduce((n: number, b: any) => n + b.total, 0)).toBe(f.total);
      expect(f.series.find((b: any) => b.total === 0)).toMatchObject({ p50Ms: null, p99Ms: null });
    }
  });

  it('sums up each destination from the attempts, failures and retries counted as failed', async () => {
    const { body } = await stats(`?bucket=minute&${window().query}`).expect(200);
    const host = (sink: SinkServer) => `127.0.0.1:${new URL(sink.url).port}`;
    expect(body.destinations).toHaveLength(2);
    const [failing, ok] = body.destinations;
    expect(failing).toMatchObject({
      destination: host(bad),
      attempts: 4,
      failed: 4,
      failureRate: 1,
      lastStatus: 500,
      lastError: { code: 'http_error', message: expect.stringContaining('HTTP 500') },
    });
    expect(ok).toMatchObject({
      destination: host(good),
      attempts: 3,
      failed: 0,
      failureRate: 0,
      lastStatus: 200,
      lastError: null,
    });
    for (const d of body.destinations) {
      expect(d.p50Ms).toEqual(expect.any(Number));
      expect(Date.parse(d.lastAttemptAt)).toBeGreaterThanOrEqual(startedMs - 1000);
      expect(d.series.reduce((n: number, b: any) => n + b.attempts, 0)).toBe(d.attempts);
    }
  });

  it('lists at most ?top flows and destinations, most failed first, and says how many there were', async () => {
    const { body } = await stats(`?top=1&${window().query}`).expect(200);
    expect(body).toMatchObject({ flowCount: 2, destinationCount: 2 });
    expect(body.flows).toHaveLength(1);
    expect(body.flows[0]).toMatchObject({ failed: 2 });
    expect(body.destinations).toHaveLength(1);
    expect(body.destinations[0]).toMatchObject({
      destination: `127.0.0.1:${new URL(bad.url).port}`,
      failed: 4,
    });
    expect(body.totals).toMatchObject({ succeeded: 3, failed: 2 });
  });

  it('keeps one flow, and the attempts of its runs, with ?flow', async () => {
    const { body } = await stats(`?flow=stats-ok&${window().query}`).expect(200);
    expect(body.bucket).toBe('hour');
    expect(body.totals).toMatchObject({ succeeded: 3, failed: 0 });
    expect(body.flows.map((f: any) => f.flow)).toEqual(['stats-ok']);
    expect(body.destinations.map((d: any) => d.attempts)).toEqual([3]);
    const none = await stats(`?flow=no-such-flow&${window().query}`).expect(200);
    expect(none.body.totals.succeeded).toBe(0);
    expect(none.body.flows).toEqual([]);
  });

  it('defaults to the last 24 hours by hour', async () => {
    const { body } = await stats('').expect(200);
    expect(body.bucket).toBe('hour');
    expect(Date.parse(body.until) - Date.parse(body.since)).toBe(24 * 3_600_000);
    expect(body.series.length).toBeGreaterThanOrEqual(24);
    expect(body.series.length).toBeLessThanOrEqual(25);
    expect(body.totals).toMatchObject({ succeeded: 3, failed: 2 });
  });

  it.each([
    ['since=yesterday', '/since'],
    ['until=2024-13-45T00:00:00Z', '/until'],
    ['bucket=week', '/bucket'],
    ['flow=Not%20A%20Slug', '/flow'],
    ['since=2024-05-02T00:00:00Z&until=2024-05-01T00:00:00Z', '/since'],
    ['since=2024-01-01T00:00:00Z&until=2024-03-01T00:00:00Z&bucket=day', '/since'],
    ['since=2024-05-01T00:00:00Z&until=2024-05-03T00:00:00Z&bucket=minute', '/bucket'],
    ['bucket=hour&bucket=day', '/bucket'],
    ['top=0', '/top'],
    ['top=101', '/top'],
    ['top=ten', '/top'],
  ])('answers 400 naming the field for %s', async (query, path) => {
    const { body } = await stats(`?${query}`).expect(400);
    expect(body).toMatchObject({ error: 'invalid_request', details: [{ path }] });
  });
});
