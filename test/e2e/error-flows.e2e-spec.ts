import * as fs from 'node:fs';
import * as path from 'node:path';
import { HookflowHarness } from '../utils/hookflow-harness';
import { SinkServer } from '../utils/sink-server';
import { waitFor } from '../utils/wait-for';

const PUBLIC_URL = 'https://hookflow.example.test';

/** Runs of a flow, newest first. */
async function runsOf(hf: HookflowHarness, slug: string): Promise<Record<string, any>[]> {
  const res = await hf.http().get(`/api/runs?flow=${slug}&limit=100`).set(hf.auth).expect(200);
  return res.body.items;
}

describe('error flows: event triggers (API + worker, PostgreSQL + Redis)', () => {
  let hf: HookflowHarness;
  let sink: SinkServer;

  beforeAll(async () => {
    sink = await SinkServer.start();
    hf = await HookflowHarness.start({ env: { PUBLIC_URL } });
  });

  afterAll(async () => {
    await hf?.close();
    await sink?.close();
  });

  /** A flow whose one action posts to the sink's `/<slug>`, failing at the first try when the sink says so. */
  const sender = (slug: string) => ({
    slug,
    trigger: { type: 'webhook' },
    steps: [
      {
        id: 'send',
        type: 'action',
        connector: 'http',
        with: { url: `${sink.url}/${slug}`, json: '{{trigger.body}}' },
        retry: { attempts: 1 },
      },
    ],
  });

  /** An error flow posting the event it got to the sink's `/<slug>`. */
  const listener = (slug: string, trigger: Record<string, unknown>, attempts = 1) => ({
    slug,
    trigger: { type: 'event', ...trigger },
    steps: [
      {
        id: 'tell',
        type: 'action',
        connector: 'http',
        with: { url: `${sink.url}/${slug}`, json: '{{trigger.body}}' },
        retry: { attempts },
      },
    ],
  });

  it('starts the error flow with the failed run as its body, only for the flows it names', async () => {
    const orders = await hf.createFlow(sender('orders-eu'));
    const billing = await hf.createFlow(sender('billing'));
    const errors = await hf.createFlow(listener('order-errors', { on: ['run.failed'], flows: ['orders-*'] }));
    expect(errors.flow.triggerUrl).toBeNull();

    sink.script('/billing', [503]);
    const billed = await hf.http().post(billing.hookPath).send({ id: 'b1' }).expect(202);
    expect((await hf.waitForRun(billed.body.runId)).status).toBe('failed');
    sink.script('/orders-eu', [{ status: 503, body: { error: 'warehouse down' } }]);
    const ordered = await hf.http().post(orders.hookPath).send({ id: 'o1' }).expect(202);
    const failed = await hf.waitForRun(ordered.body.runId);
    expect(failed.status).toBe('failed');

    const [told] = await sink.waitForRequests('/order-errors', 1);
    expect(told.json).toEqual({
      type: 'run.failed',
      at: expect.any(String),
      flow: { slug: 'orders-eu', version: 1 },
      run: {
        id: ordered.body.runId,
        status: 'failed',
        url: `${PUBLIC_URL}/ui/runs/${ordered.body.runId}`,
        createdAt: expect.any(String),
        finishedAt: expect.any(String),
      },
      failedSteps: [
        {
          id: 'send',
          error: { code: 'http_error', message: expect.stringContaining('503'), status: 503 },
          attempts: 1,
        },
      ],
    });
    expect(Date.parse((told.json as { at: string }).at)).toBeGreaterThanOrEqual(
      Date.parse(failed.finishedAt),
    );
    // billing's failure came first and matched no pattern: one run, for orders-eu, started by an event.
    const runs = await runsOf(hf, 'order-errors');
    expect(runs).toHaveLength(1);
    const run = await hf.getRun(runs[0].id);
    expect(run.event.method).toBe('EVENT');
    expect(run.status).toBe('succeeded');
  }, 60_000);

  it('never lets an error flow that fails start itself or another error flow', async () => {
    const source = await hf.createFlow(sender('shipping'));
    // `broken` fails on every event it gets; `watcher` hears every failed run of every flow.
    await hf.createFlow(listener('broken', { on: ['run.failed'], flows: ['shipping'] }));
    await hf.createFlow(listener('watcher', { on: ['run.failed'] }));
    sink.script('/shipping', [503, 503, 503]);
    sink.script('/broken', [500, 500, 500]);

    for (const id of ['s1', 's2']) {
      const res = await hf.http().post(source.hookPath).send({ id }).expect(202);
      expect((await hf.waitForRun(res.body.runId)).status).toBe('failed');
      // The events go out in the order they happened: once the watcher heard of this failure, broken's
      // failures before it were handed on too.
      await waitFor(async () => {
        const seen = sink.received('/watcher').map((r) => (r.json as any).run.id);
        return seen.includes(res.body.runId) || undefined;
      });
    }
    const brokenRuns = await runsOf(hf, 'broken');
    expect(brokenRuns).toHaveLength(2);
    await waitFor(
      async () =>
        (await runsOf(hf, 'broken')).every((r) => r.status === 'failed') ||
        (await runsOf(hf, 'broken')).map((r) => r.status),
    );
    // A third failure, after broken's two: the watcher still heard of shipping's runs only.
    const third = await hf.http().post(source.hookPath).send({ id: 's3' }).expect(202);
    await hf.waitForRun(third.body.runId);
    await waitFor(async () => {
      const seen = sink.received('/watcher').map((r) => (r.json as any).run.id);
      return seen.includes(third.body.runId) || undefined;
    });
    const heard = sink.received('/watcher').map((r) => (r.json as any).flow.slug);
    expect(heard.filter((slug) => slug === 'broken')).toEqual([]);
    expect(heard.filter((slug) => slug === 'shipping')).toHaveLength(3);
    expect(await runsOf(hf, 'broken')).toHaveLength(3);
  }, 90_000);

  it('never lets an error flow loop through a webhook flow of this Hookflow that its request starts', async () => {
    const { port } = hf.api.getHttpServer().address() as { port: number };
    const source = await hf.createFlow(sender('inventory'));
    const relay = await hf.createFlow(sender('relay'));
    // The error flow calls another flow's webhook; that flow fails on every call.
    await hf.createFlow({
      slug: 'relay-errors',
      trigger: { type: 'event', on: ['run.failed'], flows: ['inventory', 'relay'] },
      steps: [
        {
          id: 'call',
          type: 'action',
          connector: 'http',
          with: { url: `http://127.0.0.1:${port}${relay.hookPath}`, json: '{{trigger.body}}' },
          retry: { attempts: 1 },
        },
      ],
    });
    const barrier = await hf.createFlow(sender('barrier-src'));
    await hf.createFlow(listener('barrier', { on: ['run.failed'], flows: ['barrier-src'] }));
    sink.script('/inventory', [503, 503, 503]);
    sink.script('/relay', Array(20).fill(503));
    for (const id of ['i1', 'i2', 'i3']) {
      const res = await hf.http().post(source.hookPath).send({ id }).expect(202);
      await hf.waitForRun(res.body.runId);
    }
    await waitFor(async () => {
      const runs = await runsOf(hf, 'relay');
      return (runs.length >= 3 && runs.every((r) => r.status === 'failed')) || undefined;
    });
    // The relay's failures happened before this one: once it is heard of, they were handed on too.
    sink.script('/barrier-src', [503]);
    await hf.http().post(barrier.hookPath).send({}).expect(202);
    await sink.waitForRequests('/barrier', 1);
    expect(await runsOf(hf, 'relay-errors')).toHaveLength(3);
    expect(await runsOf(hf, 'relay')).toHaveLength(3);
  }, 90_000);

  it('saves many event-triggered flows side by side (the listened-for types are recomputed one save at a time)', async () => {
    const saved = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        hf
          .http()
          .post('/api/flows')
          .set(hf.auth)
          .send(listener(`side-${i}`, { on: ['run.failed', 'run.succeeded'], flows: ['nothing-matches'] })),
      ),
    );
    expect(saved.map((r) => r.status)).toEqual(Array(8).fill(201));
  });

  it('tells of succeeded runs only to a flow that asks, and of refused requests at most once a minute', async () => {
    const quiet = await hf.createFlow(sender('quiet'));
    await hf.createFlow(
      listener('on-success', { on: ['run.succeeded', 'trigger.refused'], flows: ['quiet'] }),
    );
    const ok = await hf.http().post(quiet.hookPath).send({ id: 'q1' }).expect(202);
    expect((await hf.waitForRun(ok.body.runId)).status).toBe('succeeded');
    const [succeeded] = await sink.waitForRequests('/on-success', 1);
    expect(succeeded.json).toMatchObject({
      type: 'run.succeeded',
      flow: { slug: 'quiet' },
      run: { id: ok.body.runId, status: 'succeeded' },
    });
    expect(succeeded.json).not.toHaveProperty('failedSteps');

    // Three refusals (a method the trigger does not take) make one event.
    for (let i = 0; i < 3; i++) await hf.http().put(quiet.hookPath).send({}).expect(405);
    const [, refused] = await sink.waitForRequests('/on-success', 2);
    expect(refused.json).toMatchObject({
      type: 'trigger.refused',
      flow: { slug: 'quiet', version: 1 },
      refusal: { status: 405, code: 'method_not_allowed', method: 'PUT' },
      inspectorUrl: `${PUBLIC_URL}/ui/flows/quiet/events`,
      suppressed: 0,
    });
    // A succeeded run after the refusals: once it is heard of, the refusals were all handed on.
    const later = await hf.http().post(quiet.hookPath).send({ id: 'q2' }).expect(202);
    await hf.waitForRun(later.body.runId);
    await waitFor(async () => {
      const seen = sink.received('/on-success').map((r) => (r.json as any).run?.id);
      return seen.includes(later.body.runId) || undefined;
    });
    expect(sink.received('/on-success').map((r) => (r.json as any).type)).toEqual([
      'run.succeeded',
      'trigger.refused',
      'run.succeeded',
    ]);
  }, 60_000);

  it('runs the Slack example on a failure: a message with the failed step and a link to the run', async () => {
    // The example as shipped, turned on, its Slack URL a secret pointing at the local receiver.
    const example = JSON.parse(
      fs.readFileSync(path.resolve('flows/failures-to-slack.flow.json'), 'utf8'),
    ) as Record<string, any>;
    delete example.$schema;
    example.enabled = true;
    example.trigger.flows = ['checkout'];
    await hf
      .http()
      .put('/api/secrets/OPS_SLACK')
      .set(hf.auth)
      .send({ value: `${sink.url}/slack` })
      .expect(204);
    await hf.createFlow(example);
    const checkout = await hf.createFlow(sender('checkout'));
    sink.script('/checkout', [{ status: 502 }]);
    const res = await hf.http().post(checkout.hookPath).send({ id: 'c1' }).expect(202);
    await hf.waitForRun(res.body.runId);
    const [message] = await sink.waitForRequests('/slack', 1);
    expect(message.json).toEqual({
      text:
        ':rotating_light: *Run of checkout (v1) failed*\n' +
        `• send: HTTP 502 from 127.0.0.1:${new URL(sink.url).port} (1 try)\n` +
        `<${PUBLIC_URL}/ui/runs/${res.body.runId}|Open the run>`,
    });
  }, 60_000);
});
