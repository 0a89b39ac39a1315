import { HookflowHarness } from '../utils/hookflow-harness';
import { SinkServer } from '../utils/sink-server';

/** One webhook's way through the house: trigger, transforms, filters, actions, retries, joins. */
describe('engine (API + worker, PostgreSQL + Redis)', () => {
  let hf: HookflowHarness;
  let sink: SinkServer;
  const fastRetry = { attempts: 4, backoff: 'fixed', delay: '20ms' };

  beforeAll(async () => {
    sink = await SinkServer.start();
    hf = await HookflowHarness.start();
  });

  afterAll(async () => {
    await hf?.close();
    await sink?.close();
  });

  it('fans one order out to billing, shipping and inventory with the transformed JSON', async () => {
    const { hookPath } = await hf.createFlow({
      slug: 'order-fanout',
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'order',
          type: 'transform',
          expression:
            "{ 'id': order.id, 'total': $sum(order.items.(price * qty)), 'email': order.customer.email }",
        },
        ...['billing', 'shipping', 'inventory'].map((id) => ({
          id,
          type: 'action',
          connector: 'http',
          needs: ['order'],
          with: { method: 'POST', url: `${sink.url}/${id}`, json: '{{steps.order}}' },
        })),
      ],
    });
    const order = {
      order: {
        id: 'A-1001',
        customer: { email: 'ada@example.com' },
        items: [
          { price: 12.5, qty: 2 },
          { price: 5, qty: 1 },
        ],
      },
    };
    const accepted = await hf.http().post(hookPath).send(order).expect(202);
    expect(accepted.body).toEqual({ runId: expect.any(String), eventId: expect.any(String) });

    const run = await hf.waitForRun(accepted.body.runId);
    expect(run.status).toBe('succeeded');
    const expected = { id: 'A-1001', total: 30, email: 'ada@example.com' };
    for (const path of ['/billing', '/shipping', '/inventory']) {
      const [req] = await sink.waitForRequests(path, 1);
      expect(req.method).toBe('POST');
      expect(req.headers['content-type']).toContain('application/json');
      expect(req.json).toEqual(expected);
    }
    expect(run.event.body).toEqual(order);
    expect(run.steps.map((s: any) => [s.id, s.status])).toEqual([
      ['order', 'succeeded'],
      ['billing', 'succeeded'],
      ['shipping', 'succeeded'],
      ['inventory', 'succeeded'],
    ]);
    expect(run.steps[0].output).toEqual(expected);
    expect(run.steps[1].output).toMatchObject({ status: 200, body: { ok: true } });
    expect(run.steps[1].attempts).toEqual([
      expect.objectContaining({
        n: 1,
        outcome: 'succeeded',
        responseStatus: 200,
        durationMs: expect.any(Number),
      }),
    ]);
  });

  it('retries 500 and 503, then delivers on 200, recording three attempts with one Idempotency-Key', async () => {
    sink.script('/flaky', [500, 503, 200]);
    const { hookPath } = await hf.createFlow({
      slug: 'flaky-receiver',
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'send',
          type: 'action',
          connector: 'http',
          retry: fastRetry,
          with: { url: `${sink.url}/flaky`, json: '{{input}}' },
        },
      ],
    });
    const { body } = await hf.http().post(hookPath).send({ n: 1 }).expect(202);
    const run = await hf.waitForRun(body.runId);

    expect(run.status).toBe('succeeded');
    const received = sink.received('/flaky');
    expect(received).toHaveLength(3);
    expect(new Set(received.map((r) => r.headers['idempotency-key'])).size).toBe(1);
    expect(run.steps[0].attempts.map((a: any) => [a.n, a.outcome, a.responseStatus])).toEqual([
      [1, 'retrying', 500],
      [2, 'retrying', 503],
      [3, 'succeeded', 200],
    ]);
  });

  it("waits as long as a 429 Retry-After asks, not the step's shorter delay", async () => {
    sink.script('/throttled', [{ status: 429, headers: { 'retry-after': '2' } }, 200]);
    const { hookPath } = await hf.createFlow({
      slug: 'throttled-receiver',
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'send',
          type: 'action',
          connector: 'http',
          retry: { attempts: 3, backoff: 'fixed', delay: '10ms', maxDelay: '5s' },
          with: { url: `${sink.url}/throttled` },
        },
      ],
    });
    const { body } = await hf.http().post(hookPath).send({}).expect(202);
    const run = await hf.waitForRun(body.runId);

    expect(run.status).toBe('succeeded');
    const [first, second] = sink.received('/throttled');
    expect(second.at - first.at).toBeGreaterThanOrEqual(1990);
    expect(run.steps[0].attempts.map((a: any) => a.responseStatus)).toEqual([429, 200]);
  });

  it('fails at once on a 400, without retrying', async () => {
    sink.script('/rejects', [400]);
    const { hookPath } = await hf.createFlow({
      slug: 'rejecting-receiver',
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'send',
          type: 'action',
          connector: 'http',
          retry: fastRetry,
          with: { url: `${sink.url}/rejects` },
        },
      ],
    });
    const { body } = await hf.http().post(hookPath).send({}).expect(202);
    const run = await hf.waitForRun(body.runId);

    expect(run.status).toBe('failed');
    expect(sink.received('/rejects')).toHaveLength(1);
    expect(run.steps[0]).toMatchObject({
      status: 'failed',
      error: { code: 'http_error', retryable: false, status: 400 },
    });
    expect(run.steps[0].attempts).toHaveLength(1);
  });

  it('gives up after the last attempt and skips what depended on the failed step', async () => {
    sink.script('/down', [503, 503]);
    const { hookPath } = await hf.createFlow({
      slug: 'always-down',
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'send',
          type: 'action',
          connector: 'http',
          retry: { attempts: 2, backoff: 'fixed', delay: '10ms' },
          with: { url: `${sink.url}/down` },
        },
        { id: 'after', type: 'action', connector: 'http', with: { url: `${sink.url}/never` } },
      ],
    });
    const { body } = await hf.http().post(hookPath).send({}).expect(202);
    const run = await hf.waitForRun(body.runId);

    expect(run.status).toBe('failed');
    expect(run.steps.map((s: any) => s.status)).toEqual(['failed', 'skipped']);
    expect(run.steps[0].attempts.map((a: any) => a.outcome)).toEqual(['retrying', 'failed']);
    expect(sink.received('/never')).toHaveLength(0);
  });

  it('ends a run as filtered when the filter is false, and sends nothing', async () => {
    const { hookPath } = await hf.createFlow({
      slug: 'big-orders-only',
      trigger: { type: 'webhook' },
      steps: [
        { id: 'big', type: 'filter', condition: 'total >= 50' },
        {
          id: 'notify',
          type: 'action',
          connector: 'http',
          with: { url: `${sink.url}/big-orders`, json: '{{input}}' },
        },
      ],
    });
    const small = await hf.http().post(hookPath).send({ total: 10 }).expect(202);
    const big = await hf.http().post(hookPath).send({ total: 80 }).expect(202);

    const filtered = await hf.waitForRun(small.body.runId);
    expect(filtered.status).toBe('filtered');
    expect(filtered.steps.map((s: any) => s.status)).toEqual(['filtered', 'skipped']);

    const passed = await hf.waitForRun(big.body.runId);
    expect(passed.status).toBe('succeeded');
    const received = sink.received('/big-orders');
    expect(received.map((r) => r.json)).toEqual([{ total: 80 }]);
  });

  it('runs a join after two parallel branches exactly once', async () => {
    const { hookPath } = await hf.createFlow({
      slug: 'diamond',
      trigger: { type: 'webhook' },
      steps: [
        { id: 'start', type: 'transform', expression: '$' },
        {
          id: 'left',
          type: 'action',
          connector: 'http',
          needs: ['start'],
          with: { url: `${sink.url}/left`, json: '{{input}}' },
        },
        {
          id: 'right',
          type: 'action',
          connector: 'http',
          needs: ['start'],
          with: { url: `${sink.url}/right`, json: '{{input}}' },
        },
        {
          id: 'join',
          type: 'action',
          connector: 'http',
          needs: ['left', 'right'],
          with: {
            url: `${sink.url}/join`,
            json: { left: '{{steps.left.status}}', right: '{{steps.right.status}}', n: '{{steps.start.n}}' },
          },
        },
      ],
    });
    const runIds: string[] = [];
    for (let n = 0; n < 10; n++)
      runIds.push((await hf.http().post(hookPath).send({ n }).expect(202)).body.runId);
    const runs = await Promise.all(runIds.map((id) => hf.waitForRun(id)));

    expect(runs.every((r) => r.status === 'succeeded')).toBe(true);
    const joins = sink.received('/join');
    expect(joins).toHaveLength(10);
    expect(joins.map((r) => (r.json as any).n).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(joins[0].json).toEqual({ left: 200, right: 200, n: expect.any(Number) });
  });

  it('runs an any-join once after the branch a filter let through, with that branch as its input', async () => {
    const { hookPath } = await hf.createFlow({
      slug: 'any-join',
      trigger: { type: 'webhook' },
      steps: [
        { id: 'big', type: 'filter', needs: [], condition: 'total >= 100' },
        { id: 'small', type: 'filter', needs: [], condition: 'total < 100' },
        {
          id: 'notify',
          type: 'action',
          connector: 'http',
          needs: ['big', 'small'],
          join: 'any',
          with: { url: `${sink.url}/any-join`, json: '{{input}}' },
        },
      ],
    });
    const totals = [150, 40, 100, 99, 7, 300];
    const runIds: string[] = [];
    for (const [n, total] of totals.entries())
      runIds.push((await hf.http().post(hookPath).send({ n, total }).expect(202)).body.runId);
    const runs = await Promise.all(runIds.map((id) => hf.waitForRun(id)));

    expect(runs.map((r) => r.status)).toEqual(totals.map(() => 'succeeded'));
    for (const [n, run] of runs.entries()) {
      const steps = Object.fromEntries(
        run.steps.map((s: { id: string; status: string }) => [s.id, s.status]),
      );
      const path = totals[n] >= 100 ? 'big' : 'small';
      expect(steps).toEqual({
        big: path === 'big' ? 'succeeded' : 'filtered',
        small: path === 'small' ? 'succeeded' : 'filtered',
        notify: 'succeeded',
      });
    }
    const received = await sink.waitForRequests('/any-join', totals.length);
    expect(received).toHaveLength(totals.length);
    const byN = new Map(received.map((r) => [Object.values(r.json as object)[0].n as number, r.json]));
    for (const [n, total] of totals.entries())
      expect(byN.get(n)).toEqual({ [total >= 100 ? 'big' : 'small']: { n, total } });
  });

  it('routes each order by its total to one of two receivers, then joins once with join: any', async () => {
    const { hookPath } = await hf.createFlow({
      slug: 'routed-orders',
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'route',
          type: 'router',
          paths: [{ name: 'big', when: 'total >= 100' }, { name: 'small' }],
        },
        {
          id: 'sales',
          type: 'action',
          connector: 'http',
          needs: ['route.big'],
          with: { url: `${sink.url}/routed/sales`, json: '{{input}}' },
        },
        {
          id: 'shop',
          type: 'action',
          connector: 'http',
          needs: ['route.small'],
          with: { url: `${sink.url}/routed/shop`, json: '{{input}}' },
        },
        {
          id: 'done',
          type: 'action',
          connector: 'http',
          needs: ['sales', 'shop'],
          join: 'any',
          with: { url: `${sink.url}/routed/done`, json: { n: '{{steps.route.n}}', via: '{{input}}' } },
        },
      ],
    });
    const totals = [250, 30, 100, 99];
    const runIds: string[] = [];
    for (const [n, total] of totals.entries())
      runIds.push((await hf.http().post(hookPath).send({ n, total }).expect(202)).body.runId);
    const runs = await Promise.all(runIds.map((id) => hf.waitForRun(id)));

    expect(runs.map((r) => r.status)).toEqual(totals.map(() => 'succeeded'));
    for (const [n, run] of runs.entries()) {
      const big = totals[n] >= 100;
      const steps = Object.fromEntries(
        run.steps.map((s: { id: string; status: string }) => [s.id, s.status]),
      );
      expect(steps).toEqual({
        route: 'succeeded',
        sales: big ? 'succeeded' : 'skipped',
        shop: big ? 'skipped' : 'succeeded',
        done: 'succeeded',
      });
      expect(run.steps[0]).toMatchObject({
        routes: [big ? 'big' : 'small'],
        output: { n, total: totals[n] },
      });
    }
    const sales = await sink.waitForRequests('/routed/sales', 2);
    const shop = await sink.waitForRequests('/routed/shop', 2);
    const done = await sink.waitForRequests('/routed/done', 4);
    expect(sales.map((r) => (r.json as { n: number }).n).sort()).toEqual([0, 2]);
    expect(shop.map((r) => (r.json as { n: number }).n).sort()).toEqual([1, 3]);
    expect(done).toHaveLength(4);
    const doneByN = new Map(done.map((r) => [(r.json as { n: number }).n, (r.json as { via: object }).via]));
    expect(Object.keys(doneByN.get(0)!)).toEqual(['sales']);
    expect(Object.keys(doneByN.get(1)!)).toEqual(['shop']);
  });

  it('takes a GET trigger with its data in the query string', async () => {
    const { hookPath } = await hf.createFlow({
      slug: 'contact-get',
      trigger: { type: 'webhook', methods: ['GET'] },
      steps: [
        {
          id: 'contact',
          type: 'transform',
          expression: "{ 'email': $trigger.query.email, 'tags': $trigger.query.tag }",
        },
        { id: 'crm', type: 'action', connector: 'http', with: { url: `${sink.url}/crm`, json: '{{input}}' } },
      ],
    });
    const { body } = await hf.http().get(`${hookPath}?email=grace%40example.com&tag=a&tag=b`).expect(202);
    const run = await hf.waitForRun(body.runId);

    expect(run.status).toBe('succeeded');
    expect(run.event.query).toEqual({ email: 'grace@example.com', tag: ['a', 'b'] });
    const [req] = await sink.waitForRequests('/crm', 1);
    expect(req.json).toEqual({ email: 'grace@example.com', tags: ['a', 'b'] });
  });

  it('parses form and XML bodies and keeps the raw bytes', async () => {
    const { hookPath } = await hf.createFlow({
      slug: 'form-and-xml',
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'echo',
          type: 'action',
          connector: 'http',
          with: { url: `${sink.url}/parsed`, json: '{{input}}' },
        },
      ],
    });
    const form = await hf
      .http()
      .post(hookPath)
      .set('content-type', 'application/x-www-form-urlencoded')
      .send('name=Ada+Lovelace&lang=en&lang=fr')
      .expect(202);
    const xml = await hf
      .http()
      .post(hookPath)
      .set('content-type', 'application/xml')
      .send('<order id="7"><sku>X-1</sku><qty>2</qty></order>')
      .expect(202);

    const formRun = await hf.waitForRun(form.body.runId);
    const xmlRun = await hf.waitForRun(xml.body.runId);
    expect(formRun.event.body).toEqual({ name: 'Ada Lovelace', lang: ['en', 'fr'] });
    expect(xmlRun.event.body).toEqual({ order: { '@_id': '7', sku: 'X-1', qty: '2' } });
    expect(sink.received('/parsed').map((r) => r.json)).toEqual(
      expect.arrayContaining([formRun.event.body, xmlRun.event.body]),
    );
  });

  it('accepts and delivers NUL characters in bodies, queries and receiver answers', async () => {
    sink.script('/nul', [{ status: 200, body: { echo: 'a\u0000b' } }]);
    const { hookPath } = await hf.createFlow({
      slug: 'nul-bytes',
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'send',
          type: 'action',
          connector: 'http',
          with: { url: `${sink.url}/nul`, json: '{{input}}' },
        },
      ],
    });
    const json = await hf
      .http()
      .post(`${hookPath}?q=%00`)
      .set('content-type', 'application/json')
      .send('{"text":"x\\u0000y"}')
      .expect(202);
    const text = await hf
      .http()
      .post(hookPath)
      .set('content-type', 'text/plain')
      .send('a\u0000b')
      .expect(202);

    const run = await hf.waitForRun(json.body.runId);
    expect(run.status).toBe('succeeded');
    expect(run.event.body).toEqual({ text: 'x\ufffdy' });
    expect(run.event.query).toEqual({ q: '\ufffd' });
    expect(run.steps[0].output.body).toEqual({ echo: 'a\ufffdb' });
    expect(sink.received('/nul')[0].json).toEqual({ text: 'x\ufffdy' });
    expect((await hf.waitForRun(text.body.runId)).event.body).toBe('a\ufffdb');
  });

  it('fails a runaway JSONata expression with a clear error and stays healthy', async () => {
    const { hookPath } = await hf.createFlow({
      slug: 'runaway',
      trigger: { type: 'webhook' },
      steps: [{ id: 'spin', type: 'transform', expression: '($f := function($x) { $f($x + 1) }; $f(0))' }],
    });
    const { body } = await hf.http().post(hookPath).send({}).expect(202);
    const run = await hf.waitForRun(body.runId);

    expect(run.status).toBe('failed');
    expect(run.steps[0].error).toMatchObject({
      code: expect.stringMatching(/^expression_(timeout|depth)$/),
      retryable: false,
    });
    expect(run.steps[0].attempts).toHaveLength(1);

    const after = await hf
      .http()
      .post(
        '/hooks/' +
          new URL((await hf.http().get('/api/flows/order-fanout').set(hf.auth)).body.triggerUrl).pathname
            .split('/')
            .pop(),
      )
      .send({ order: { id: 'B', items: [], customer: {} } })
      .expect(202);
    expect((await hf.waitForRun(after.body.runId)).status).toBe('succeeded');
  });
});
