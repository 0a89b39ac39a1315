import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HookflowHarness } from '../utils/hookflow-harness';
import { SinkServer } from '../utils/sink-server';
import { waitFor } from '../utils/wait-for';

/** Runs of a flow, newest first, every page. */
async function runsOf(hf: HookflowHarness, slug: string): Promise<Record<string, any>[]> {
  const res = await hf.http().get(`/api/runs?flow=${slug}&limit=200`).set(hf.auth).expect(200);
  return res.body.items;
}

describe('schedule triggers with two API and two worker processes', () => {
  let hf: HookflowHarness;
  let sink: SinkServer;

  beforeAll(async () => {
    sink = await SinkServer.start();
    hf = await HookflowHarness.start({ replicas: 2 });
  });

  afterAll(async () => {
    await hf?.close();
    await sink?.close();
  });

  it('fires an every-1s schedule once a second, never a tick twice, and stops at once when disabled', async () => {
    const { flow } = await hf.createFlow({
      slug: 'every-second',
      trigger: { type: 'schedule', every: '1s' },
      steps: [
        {
          id: 'tell',
          type: 'action',
          connector: 'http',
          with: {
            url: `${sink.url}/tick`,
            json: { at: '{{trigger.body.scheduledAt}}', method: '{{trigger.method}}' },
          },
        },
      ],
    });
    expect(flow.triggerUrl).toBeNull();
    expect(flow.nextFireAt).toHaveLength(3);
    expect(Date.parse(flow.nextFireAt[1]) - Date.parse(flow.nextFireAt[0])).toBe(1000);

    await sink.waitForRequests('/tick', 6, 20_000);
    await hf.http().patch('/api/flows/every-second').set(hf.auth).send({ enabled: false }).expect(200);
    const disabledAt = Date.now();

    const runs = await runsOf(hf, 'every-second');
    const ticks: number[] = [];
    for (const r of runs) {
      const run = await hf.getRun(r.id);
      expect(run.event.method).toBe('SCHEDULE');
      ticks.push(Date.parse(run.event.body.scheduledAt));
      expect(Date.parse(run.event.body.firedAt)).toBeGreaterThanOrEqual(
        Date.parse(run.event.body.scheduledAt),
      );
    }
    ticks.sort((a, b) => a - b);
    // Every tick once, on the second; about once a second (a tick later than its 5 s grace under
    // a loaded machine would be dropped as missed, so one gap is allowed).
    expect(new Set(ticks).size).toBe(ticks.length);
    for (const t of ticks) expect(t % 1000).toBe(0);
    const span = (ticks[ticks.length - 1] - ticks[0]) / 1000 + 1;
    expect(ticks.length).toBeGreaterThanOrEqual(span - 1);
    const body = (await hf.http().get('/api/flows/every-second').set(hf.auth).expect(200)).body;
    expect(body.nextFireAt).toEqual([]);

    // A tick already due may still start as the change lands; none after it.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const after = (await runsOf(hf, 'every-second')).filter(
      (r) => Date.parse(r.createdAt) > disabledAt + 1_000,
    );
    expect(after).toEqual([]);
  }, 60_000);

  it('shows the next fire times of a cron schedule in its time zone, and a schedule answers no webhook', async () => {
    const { flow } = await hf.createFlow({
      slug: 'weekday-mornings',
      trigger: { type: 'schedule', cron: '0 9 * * 1-5', timezone: 'Europe/Berlin' },
      steps: [{ id: 'noop', type: 'transform', expression: '$' }],
    });
    expect(flow.nextFireAt).toHaveLength(3);
    for (const at of flow.nextFireAt as string[]) {
      const berlin = new Intl.DateTimeFormat('en-GB', {
        timeZone: 'Europe/Berlin',
        weekday: 'short',
        hour: '2-digit',
        minute: '2-digit',
      }).format(new Date(at));
      expect(berlin).toMatch(/^(Mon|Tue|Wed|Thu|Fri) 09:00$/);
    }
    const bad = await hf
      .http()
      .post('/api/flows')
      .set(hf.auth)
      .send({
        slug: 'bad-cron',
        trigger: { type: 'schedule', cron: '61 * * * *', timezone: 'Mars/Olympus' },
        steps: [{ id: 'noop', type: 'transform', expression: '$' }],
      })
      .expect(400);
    expect(bad.body.details).toEqual(
      expect.arrayContaining([expect.objectContaining({ path: '/trigger/timezone' })]),
    );
  });
});

describe('poll triggers and missed ticks (API + worker, PostgreSQL + Redis)', () => {
  let hf: HookflowHarness;
  let sink: SinkServer;
  let feed: Server;
  let orders: { id: string; total: number }[] = [];
  let failing = false;
  // While set, the feed holds each request until it settles, then answers with the orders as they are then.
  let hold: Promise<void> | undefined;
  let held = 0;

  beforeAll(async () => {
    sink = await SinkServer.start();
    // A list API answering newest first, as most do.
    feed = createServer(async (req, res) => {
      if (hold) {
        held++;
        await hold;
      }
      if (failing) {
        res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"down"}');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ data: { orders: [...orders].reverse() }, auth: req.headers.authorization }));
    });
    await new Promise<void>((resolve) => feed.listen(0, '127.0.0.1', resolve));
    hf = await HookflowHarness.start();
  });

  afterAll(async () => {
    await hf?.close();
    await sink?.close();
    await new Promise((resolve) => feed?.close(resolve));
  });

  const feedUrl = () => `http://127.0.0.1:${(feed.address() as AddressInfo).port}/orders`;

  it('starts runs only for new items, oldest first, across polls and a worker restart, and records failed polls', async () => {
    await hf.http().put('/api/secrets/FEED_TOKEN').set(hf.auth).send({ value: 'feed-secret-1' }).expect(204);
    orders = [
      { id: 'a', total: 1 },
      { id: 'b', total: 2 },
    ];
    const definition = (key: string) => ({
      slug: 'new-orders',
      trigger: {
        type: 'poll',
        every: '1s',
        request: { url: feedUrl(), headers: { authorization: "Bearer {{secret 'FEED_TOKEN'}}" } },
        items: 'data.orders',
        key,
      },
      steps: [
        {
          id: 'tell',
          type: 'action',
          connector: 'http',
          with: { url: `${sink.url}/order`, json: '{{trigger.body}}' },
        },
      ],
    });
    await hf.createFlow(definition('id'));
    // An error flow hears of failed polls.
    await hf.createFlow({
      slug: 'feed-watch',
      trigger: { type: 'event', on: ['poll.failed'], flows: ['new-orders'] },
      steps: [
        {
          id: 'tell',
          type: 'action',
          connector: 'http',
          with: { url: `${sink.url}/poll-failed`, json: '{{trigger.body}}' },
        },
      ],
    });
    // The first poll only records what exists.
    const polled = async (n: number) =>
      waitFor(
        async () => {
          const res = await hf.http().get('/api/flows/new-orders/events').set(hf.auth).expect(200);
          const polls = (res.body.items as Record<string, any>[]).filter((e) => e.reason === 'polled');
          return polls.length >= n ? polls : undefined;
        },
        { timeoutMs: 15_000 },
      );
    await polled(1);
    orders.push({ id: 'c', total: 3 }, { id: 'd', total: 4 });
    await sink.waitForRequests('/order', 2);
    await polled(4);

    await hf.stopWorker();
    orders.push({ id: 'e', total: 5 });
    await hf.startWorker();
    await sink.waitForRequests('/order', 3);
    await polled(7);

    const ids = sink.received('/order').map((r) => (r.json as { id: string }).id);
    // Each item is a run of its own: c and d are delivered side by side, in either order; e came later.
    expect(ids.slice(0, 2).sort()).toEqual(['c', 'd']);
    expect(ids[2]).toBe('e');
    const runs = await runsOf(hf, 'new-orders');
    expect(runs).toHaveLength(3);
    const run = await hf.getRun(runs[0].id);
    expect(run.event.method).toBe('POLL');
    expect(run.event.body).toEqual({ id: 'e', total: 5 });

    failing = true;
    const failed = await waitFor(
      async () => {
        const res = await hf.http().get('/api/flows/new-orders/events').set(hf.auth).expect(200);
        return (res.body.items as Record<string, any>[]).find((e) => e.reason === 'poll_failed');
      },
      { timeoutMs: 20_000 },
    );
    expect(failed.statusCode).toBe(500);
    expect(JSON.stringify(failed)).not.toContain('feed-secret-1');
    const [told] = await sink.waitForRequests('/poll-failed', 1);
    expect(told.json).toMatchObject({
      type: 'poll.failed',
      flow: { slug: 'new-orders' },
      poll: { status: 500, error: { code: 'http_error' } },
      suppressed: 0,
    });
    expect(told.body).not.toContain('feed-secret-1');
    failing = false;

    // A new key makes every item look new: the next poll is a first one and records them. A poll
    // of the old key still waiting for its answer then starts nothing, though the answer has f in it.
    let answer!: () => void;
    hold = new Promise((resolve) => (answer = resolve));
    await waitFor(() => held > 0 || undefined);
    const changedAt = Date.now();
    await hf.http().put('/api/flows/new-orders').set(hf.auth).send(definition("'order-' & id")).expect(200);
    orders.push({ id: 'f', total: 6 });
    hold = undefined;
    answer();
    const superseded = await waitFor(async () => {
      const res = await hf.http().get('/api/flows/new-orders/events').set(hf.auth).expect(200);
      return (res.body.items as Record<string, any>[]).find(
        (e) => e.reason === 'poll_failed' && JSON.parse(e.bodyPreview).error.code === 'superseded',
      );
    });
    expect(superseded.statusCode).toBe(0);
    const recorded = await waitFor(async () => {
      const res = await hf.http().get('/api/flows/new-orders/events').set(hf.auth).expect(200);
      return (res.body.items as Record<string, any>[]).find(
        (e) =>
          e.reason === 'polled' &&
          Date.parse(e.receivedAt) >= changedAt &&
          JSON.parse(e.bodyPreview).recorded > 0,
      );
    });
    expect(JSON.parse(recorded.bodyPreview)).toMatchObject({ items: 6, recorded: 6, started: 0 });
    orders.push({ id: 'g', total: 7 });
    await sink.waitForRequests('/order', 4);
    expect(sink.received('/order').map((r) => (r.json as { id: string }).id)).toEqual(['c', 'd', 'e', 'g']);
  }, 90_000);

  it('emits the first poll too with initial: emit, and a key seen twice in one answer starts one run', async () => {
    orders = [
      { id: 'x', total: 1 },
      { id: 'x', total: 2 },
      { id: 'y', total: 3 },
    ];
    await hf.createFlow({
      slug: 'emit-orders',
      trigger: {
        type: 'poll',
        every: '1s',
        initial: 'emit',
        request: { url: feedUrl() },
        items: 'data.orders',
        key: 'id',
      },
      steps: [
        {
          id: 'tell',
          type: 'action',
          connector: 'http',
          with: { url: `${sink.url}/emit`, json: '{{trigger.body}}' },
        },
      ],
    });
    await sink.waitForRequests('/emit', 2);
    const runs = await waitFor(async () => {
      const list = await runsOf(hf, 'emit-orders');
      return list.length >= 2 && list.every((r) => r.status === 'succeeded') ? list : undefined;
    });
    expect(runs).toHaveLength(2);
    await hf.http().patch('/api/flows/emit-orders').set(hf.auth).send({ enabled: false }).expect(200);
  });

  it('drops a tick missed while no worker ran, unless catchUp, which starts one run for it', async () => {
    const every = (slug: string, catchUp: boolean) =>
      hf.createFlow({
        slug,
        trigger: { type: 'schedule', every: '1s', catchUp },
        steps: [{ id: 'noop', type: 'transform', expression: '$trigger.body' }],
      });
    await every('drop-missed', false);
    await every('catch-up', true);
    const ticksOf = async (slug: string) => {
      const ticks: number[] = [];
      for (const r of await runsOf(hf, slug))
        ticks.push(Date.parse((await hf.getRun(r.id)).event.body.scheduledAt));
      return ticks.sort((a, b) => a - b);
    };
    await waitFor(
      async () => (await runsOf(hf, 'catch-up')).length > 0 && (await runsOf(hf, 'drop-missed')).length > 0,
    );
    await hf.stopWorker();
    const stoppedAt = Date.now();
    // The outage itself: longer than the 5 s grace of a 1 s schedule.
    await new Promise((resolve) => setTimeout(resolve, 7_000));
    const restartedAt = Date.now();
    await hf.startWorker();
    const inOutage = (ticks: number[]) => ticks.filter((t) => t > stoppedAt && t < restartedAt - 5_000);
    await waitFor(async () => (await ticksOf('drop-missed')).some((t) => t > restartedAt));
    const caught = await waitFor(async () => {
      const ticks = await ticksOf('catch-up');
      return ticks.some((t) => t > restartedAt) ? ticks : undefined;
    });
    expect(inOutage(await ticksOf('drop-missed'))).toEqual([]);
    expect(inOutage(caught)).toHaveLength(1);
    for (const slug of ['drop-missed', 'catch-up'])
      await hf.http().patch(`/api/flows/${slug}`).set(hf.auth).send({ enabled: false }).expect(200);
  }, 60_000);

  it('refuses a poll whose request names a step, or whose key is not JSONata', async () => {
    const res = await hf
      .http()
      .post('/api/flows')
      .set(hf.auth)
      .send({
        slug: 'bad-poll',
        trigger: {
          type: 'poll',
          every: '1m',
          request: { url: 'https://example.com/{{steps.x.id}}' },
          key: 'id[',
        },
        steps: [{ id: 'x', type: 'transform', expression: '$' }],
      })
      .expect(400);
    const paths = (res.body.details as { path: string }[]).map((d) => d.path);
    expect(paths).toEqual(expect.arrayContaining(['/trigger/key', '/trigger/request/url']));
  });
});

describe('schedule triggers on the PostgreSQL queue (the embedded default)', () => {
  let hf: HookflowHarness;

  beforeAll(async () => {
    hf = await HookflowHarness.start({ queue: 'postgres' });
  });

  afterAll(async () => {
    await hf?.close();
  });

  it('fires an every-1s schedule on the second, and a deleted flow stops firing', async () => {
    await hf.createFlow({
      slug: 'pg-every-second',
      trigger: { type: 'schedule', every: '1s' },
      steps: [{ id: 'noop', type: 'transform', expression: '$trigger.body' }],
    });
    const runs = await waitFor(
      async () => {
        const list = await runsOf(hf, 'pg-every-second');
        return list.length >= 3 ? list : undefined;
      },
      { timeoutMs: 15_000 },
    );
    for (const r of runs) {
      const run = await hf.getRun(r.id);
      expect(Date.parse(run.event.body.scheduledAt) % 1000).toBe(0);
    }
    await hf.http().delete('/api/flows/pg-every-second').set(hf.auth).expect(204);
  });
});
