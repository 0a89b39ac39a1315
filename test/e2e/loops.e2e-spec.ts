import * as fs from 'node:fs';
import * as path from 'node:path';
import { HookflowHarness } from '../utils/hookflow-harness';
import { SinkServer } from '../utils/sink-server';

type RunStep = { id: string; status: string; output: unknown; error: { code: string } | null } & Record<
  string,
  any
>;

/** `foreach` steps: items persisted and queued as steps, results in item order, failures, retries. */
describe('loops over items (API + worker, PostgreSQL + Redis)', () => {
  let hf: HookflowHarness;
  let sink: SinkServer;

  beforeAll(async () => {
    sink = await SinkServer.start();
    hf = await HookflowHarness.start();
  });

  afterAll(async () => {
    await hf?.close();
    await sink?.close();
  });

  /** A loop posting each line of an order to `/<path>`, and a step after it receiving the results. */
  function orderLoop(slug: string, path: string, extra: Record<string, unknown> = {}) {
    return {
      slug,
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'each',
          type: 'foreach',
          items: 'order.lines',
          ...extra,
          steps: [
            {
              id: 'line',
              type: 'transform',
              expression: "{ 'sku': sku, 'n': $index, 'of': $trigger.body.order.id }",
            },
            {
              id: 'post',
              type: 'action',
              connector: 'http',
              retry: { attempts: 1 },
              with: {
                url: `${sink.url}/${path}/{{index}}`,
                json: { sku: '{{input.sku}}', qty: '{{item.qty}}' },
              },
            },
            { id: 'answer', type: 'transform', expression: "{ 'sku': $steps.line.sku, 'status': status }" },
          ],
        },
        {
          id: 'after',
          type: 'action',
          connector: 'http',
          with: { url: `${sink.url}/${path}/after`, json: '{{steps.each}}' },
        },
      ],
    };
  }

  const order = (lines: number) => ({
    order: { id: 'A-7', lines: Array.from({ length: lines }, (_, i) => ({ sku: `sku-${i}`, qty: i + 1 })) },
  });

  it('posts one request per item of a three-item order, and the next step gets the three results in order', async () => {
    const { hookPath } = await hf.createFlow(orderLoop('loop-three', 'three', { concurrency: 2 }));
    const accepted = await hf.http().post(hookPath).send(order(3)).expect(202);
    const run = await hf.waitForRun(accepted.body.runId);
    expect(run.status).toBe('succeeded');

    for (const i of [0, 1, 2]) {
      const [req] = await sink.waitForRequests(`/three/${i}`, 1);
      expect(req.json).toEqual({ sku: `sku-${i}`, qty: i + 1 });
      expect(req.headers['idempotency-key']).toBe(`${run.id}_each[${i}].post`);
    }
    const [after] = await sink.waitForRequests('/three/after', 1);
    const results = [0, 1, 2].map((i) => ({ sku: `sku-${i}`, status: 200 }));
    expect(after.json).toEqual(results);

    const steps = run.steps as RunStep[];
    expect(steps.map((s) => [s.id, s.status])).toEqual([
      ['each', 'succeeded'],
      ...[0, 1, 2].flatMap((i) => [
        [`each[${i}].line`, 'succeeded'],
        [`each[${i}].post`, 'succeeded'],
        [`each[${i}].answer`, 'succeeded'],
      ]),
      ['after', 'succeeded'],
    ]);
    expect(steps[0]).toMatchObject({ output: results, items: { count: 3, failed: [] } });
    expect(steps[1]).toMatchObject({ loop: 'each', index: 0, step: 'line', input: { sku: 'sku-0', qty: 1 } });
    expect(steps[1].output).toEqual({ sku: 'sku-0', n: 0, of: 'A-7' });
    expect(steps[5]).toMatchObject({ loop: 'each', index: 1, step: 'post' });
  });

  it('lets the other items finish when one fails, fails the loop then, and a retry sends only the failed item again', async () => {
    const { hookPath } = await hf.createFlow(orderLoop('loop-fail', 'fail'));
    sink.script('/fail/1', [400]);
    const accepted = await hf.http().post(hookPath).send(order(3)).expect(202);
    const failed = await hf.waitForRun(accepted.body.runId);
    expect(failed.status).toBe('failed');
    const byId = new Map((failed.steps as RunStep[]).map((s) => [s.id, s]));
    expect(byId.get('each')).toMatchObject({
      status: 'failed',
      error: { code: 'loop_items_failed', message: expect.stringContaining('1 of 3 items failed (item 1)') },
      items: { count: 3, failed: [1] },
    });
    expect(byId.get('each[1].post')).toMatchObject({ status: 'failed', error: { code: 'http_error' } });
    expect(byId.get('each[1].answer')!.status).toBe('skipped');
    expect(byId.get('each[2].answer')!.status).toBe('succeeded');
    expect(byId.get('after')!.status).toBe('skipped');
    expect(sink.received('/fail/after')).toHaveLength(0);

    const retry = await hf.http().post(`/api/runs/${failed.id}/retry`).set(hf.auth).expect(202);
    expect(retry.body.retried).toEqual(['each', 'each[1].post', 'each[1].answer', 'after']);
    const retried = await hf.waitForRun(failed.id);
    expect(retried.status).toBe('succeeded');
    expect(sink.received('/fail/0')).toHaveLength(1);
    expect(sink.received('/fail/1')).toHaveLength(2);
    expect(sink.received('/fail/2')).toHaveLength(1);
    const [after] = await sink.waitForRequests('/fail/after', 1);
    expect((after.json as { sku: string }[]).map((r) => r.sku)).toEqual(['sku-0', 'sku-1', 'sku-2']);
  });

  it('retries a loop item that had a queue job of its own at once, and keeps to the concurrency', async () => {
    const { hookPath } = await hf.createFlow({
      slug: 'loop-retry-own-jobs',
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'each',
          type: 'foreach',
          items: 'lines',
          steps: [
            {
              id: 'post',
              type: 'action',
              connector: 'http',
              retry: { attempts: 1 },
              with: { url: `${sink.url}/own/{{index}}`, json: '{{item}}' },
            },
          ],
        },
      ],
    });
    for (const i of [0, 1, 2]) sink.script(`/own/${i}`, [400]);
    const accepted = await hf
      .http()
      .post(hookPath)
      .send({ lines: [1, 2, 3] })
      .expect(202);
    expect((await hf.waitForRun(accepted.body.runId)).status).toBe('failed');
    for (const i of [0, 1, 2]) sink.delay(`/own/${i}`, 150);
    await hf.http().post(`/api/runs/${accepted.body.runId}/retry`).set(hf.auth).expect(202);
    // The failed jobs the items left under their ids are removed: the retry does not wait for the reconciler.
    expect((await hf.waitForRun(accepted.body.runId)).status).toBe('succeeded');
    const again = [0, 1, 2].map((i) => sink.received(`/own/${i}`)[1].at).sort((a, b) => a - b);
    // One item at a time (concurrency 1): each call is answered 150 ms after it arrived.
    expect(again[1] - again[0]).toBeGreaterThanOrEqual(140);
    expect(again[2] - again[1]).toBeGreaterThanOrEqual(140);
  });

  it('keeps going with continueOnError: null for the failed item, and the run succeeds', async () => {
    const { hookPath } = await hf.createFlow(orderLoop('loop-keep-going', 'keep', { continueOnError: true }));
    sink.script('/keep/0', [422]);
    const accepted = await hf.http().post(hookPath).send(order(2)).expect(202);
    const run = await hf.waitForRun(accepted.body.runId);
    expect(run.status).toBe('succeeded');
    expect(run.steps[0]).toMatchObject({ status: 'succeeded', items: { count: 2, failed: [0] } });
    const [after] = await sink.waitForRequests('/keep/after', 1);
    expect(after.json).toEqual([null, { sku: 'sku-1', status: 200 }]);
  });

  it('refuses more items than maxItems with a clear reason, and takes an empty list as no items', async () => {
    const { hookPath } = await hf.createFlow(orderLoop('loop-capped', 'capped', { maxItems: 2 }));
    const tooMany = await hf.http().post(hookPath).send(order(3)).expect(202);
    const refused = await hf.waitForRun(tooMany.body.runId);
    expect(refused.status).toBe('failed');
    expect(refused.steps[0]).toMatchObject({
      status: 'failed',
      error: { code: 'too_many_items', message: 'items gave 3 items; this loop takes at most 2 (maxItems)' },
    });
    expect(sink.received('/capped/0')).toHaveLength(0);

    const none = await hf.http().post(hookPath).send(order(0)).expect(202);
    const empty = await hf.waitForRun(none.body.runId);
    expect(empty.status).toBe('succeeded');
    expect(empty.steps[0]).toMatchObject({ status: 'succeeded', output: [] });
    const [after] = await sink.waitForRequests('/capped/after', 1);
    expect(after.json).toEqual([]);
  });

  it('shows each item and its steps in a dry run, sending nothing, and names a bad loop by its pointer', async () => {
    const res = await hf
      .http()
      .post('/api/flows/test')
      .set(hf.auth)
      .send({ definition: orderLoop('loop-dry', 'dry'), body: order(2) })
      .expect(200);
    expect(res.body.status).toBe('succeeded');
    expect(res.body.steps[0]).toMatchObject({
      id: 'each',
      type: 'foreach',
      status: 'succeeded',
      items: [
        {
          index: 0,
          status: 'succeeded',
          steps: [{ id: 'line' }, { id: 'post', request: { url: `${sink.url}/dry/0` } }, { id: 'answer' }],
        },
        {
          index: 1,
          status: 'succeeded',
          steps: [{ id: 'line' }, { id: 'post', request: { url: `${sink.url}/dry/1` } }, { id: 'answer' }],
        },
      ],
    });
    expect(sink.received('/dry/0')).toHaveLength(0);

    const bad = orderLoop('loop-bad', 'bad');
    (bad.steps[0] as { steps: Record<string, unknown>[] }).steps[1].needs = ['after'];
    const refused = await hf.http().post('/api/flows').set(hf.auth).send(bad).expect(400);
    expect(refused.body.error).toBe('invalid_flow');
    expect(refused.body.details).toEqual(
      expect.arrayContaining([expect.objectContaining({ path: '/steps/0/steps/1/needs/0' })]),
    );
  });

  it('runs no more items at once than its concurrency', async () => {
    const { hookPath } = await hf.createFlow(orderLoop('loop-two-at-once', 'slow', { concurrency: 2 }));
    for (const i of [0, 1, 2, 3, 4]) sink.delay(`/slow/${i}`, 150);
    const accepted = await hf.http().post(hookPath).send(order(5)).expect(202);
    const run = await hf.waitForRun(accepted.body.runId);
    expect(run.status).toBe('succeeded');
    const calls = [0, 1, 2, 3, 4].map((i) => sink.received(`/slow/${i}`)[0].at).sort((a, b) => a - b);
    // Each call is answered 150 ms after it arrived: a third call before the first answer breaks the bound.
    for (let k = 2; k < calls.length; k++) expect(calls[k] - calls[k - 2]).toBeGreaterThanOrEqual(140);
  });

  it('runs flows/order-pipeline.flow.json live: code, router, loop and join, one order each way', async () => {
    // The example file as shipped, with its example.com receivers pointed at the sink and enabled.
    const file = fs.readFileSync(path.resolve('flows/order-pipeline.flow.json'), 'utf8');
    const definition = JSON.parse(
      file
        .replaceAll('https://warehouse.example.com', `${sink.url}/pipe`)
        .replaceAll('https://shop.example.com', `${sink.url}/pipe`),
    );
    delete definition.$schema;
    const { hookPath } = await hf.createFlow({ ...definition, enabled: true });
    const sample = JSON.parse(fs.readFileSync(path.resolve('flows/samples/order-pipeline.json'), 'utf8'));
    const large = await hf.http().post(hookPath).send(sample).expect(202);
    const small = await hf
      .http()
      .post(hookPath)
      .send({ ...sample, id: 'ord_small', items: [{ sku: 'tea-sencha', quantity: 1, unitPrice: 900 }] })
      .expect(202);
    const [bigRun, smallRun] = [await hf.waitForRun(large.body.runId), await hf.waitForRun(small.body.runId)];
    expect([bigRun.status, smallRun.status]).toEqual(['succeeded', 'succeeded']);

    const reservations = await sink.waitForRequests('/pipe/reservations', 3);
    expect(reservations.map((r) => r.json).sort((a: any, b: any) => a.line - b.line)).toEqual([
      { orderId: 'ord_2002', line: 0, sku: 'teapot-cast-iron', quantity: 2 },
      { orderId: 'ord_2002', line: 1, sku: 'tea-sencha', quantity: 3 },
      { orderId: 'ord_2002', line: 2, sku: 'cup-stoneware', quantity: 4 },
    ]);
    const confirmed = await sink.waitForRequests('/pipe/orders/confirmed', 2);
    const byOrder = new Map(confirmed.map((r) => [(r.json as { orderId: string }).orderId, r.json]));
    expect(byOrder.get('ord_2002')).toEqual({
      orderId: 'ord_2002',
      total: 161,
      reserved: [
        { sku: 'teapot-cast-iron', status: 200 },
        { sku: 'tea-sencha', status: 200 },
        { sku: 'cup-stoneware', status: 200 },
      ],
    });
    expect(byOrder.get('ord_small')).toMatchObject({ orderId: 'ord_small', total: 9 });
    const steps = (run: Record<string, any>) =>
      run.steps.filter((s: RunStep) => !s.loop).map((s: RunStep) => [s.id, s.status]);
    expect(steps(bigRun)).toEqual([
      ['order', 'succeeded'],
      ['size', 'succeeded'],
      ['reserve', 'succeeded'],
      ['confirm', 'succeeded'],
    ]);
    expect(steps(smallRun)).toEqual([
      ['order', 'succeeded'],
      ['size', 'succeeded'],
      ['reserve', 'skipped'],
      ['confirm', 'succeeded'],
    ]);
    expect(bigRun.steps[0].attempts[0].logs).toEqual(['3 lines']);
    expect(bigRun.steps[1].routes).toEqual(['large']);
  });
});
