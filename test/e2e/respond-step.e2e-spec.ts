import { HookflowHarness } from '../utils/hookflow-harness';
import { SinkServer } from '../utils/sink-server';
import { waitFor } from '../utils/wait-for';

/** What every respond answer carries unless its step sets them: no page from the request runs on the API's origin. */
const GUARDS = { 'x-content-type-options': 'nosniff', 'content-security-policy': 'sandbox' };

/** Far below the 10 s respondTimeout these flows keep: an answer this fast did not come from the timeout. */
const NOT_THE_TIMEOUT_MS = 3_000;

/** A lookup (transform), the respond step answering with its result, and an action the sender does not wait for. */
function lookupFlow(slug: string, sinkUrl: string, extra: Record<string, unknown> = {}) {
  return {
    slug,
    trigger: { type: 'webhook', ...extra },
    steps: [
      {
        id: 'lookup',
        type: 'transform',
        expression:
          "{ 'user': user_name, 'total': $sum(items.(price * qty)), 'big': $sum(items.(price * qty)) > 10 }",
      },
      { id: 'check', type: 'filter', condition: 'big' },
      {
        id: 'reply',
        type: 'respond',
        status: 200,
        headers: { 'X-Run': '{{run.id}}' },
        json: {
          text: 'Hi {{steps.lookup.user}}',
          total: '{{steps.lookup.total}}',
          lookup: '{{steps.lookup}}',
        },
      },
      {
        id: 'notify',
        type: 'action',
        connector: 'http',
        with: { url: `${sinkUrl}/${slug}/after`, json: '{{steps.lookup}}' },
      },
    ],
  };
}

const order = (user: string, qty = 2) => ({ user_name: user, items: [{ price: 12.5, qty }] });

/** Sends a webhook and times its answer. */
async function timed(hf: HookflowHarness, hookPath: string, body: unknown) {
  const started = performance.now();
  const res = await hf
    .http()
    .post(hookPath)
    .send(body as object);
  return { res, ms: performance.now() - started };
}

function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${wanted}} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

describe('respond step (API + worker, PostgreSQL + Redis)', () => {
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

  it('answers with what a transform computed within milliseconds, and delivers the action after it later', async () => {
    const { hookPath } = await hf.createFlow(lookupFlow('lookup', sink.url));
    // The action after the respond step hangs: the sender is answered all the same.
    const release = sink.hold('/lookup/after');
    try {
      const times: number[] = [];
      for (const user of ['ada', 'grace', 'edsger', 'barbara', 'ken', 'dennis']) {
        const { res, ms } = await timed(hf, hookPath, order(user));
        times.push(ms);
        expect(res.status).toBe(200);
        expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
        expect(res.headers['x-run']).toMatch(/^[0-9a-f-]{36}$/);
        expect(res.headers).toMatchObject(GUARDS);
        expect(res.body).toEqual({
          text: `Hi ${user}`,
          total: 25,
          lookup: { user, total: 25, big: true },
        });
      }
      console.log(
        `respond step: request to response ${times.map((t) => t.toFixed(1)).join(', ')} ms (first includes the flow's compile)`,
      );
      expect(Math.max(...times)).toBeLessThan(NOT_THE_TIMEOUT_MS);
      // The actions are still held at the receiver: the answers did not wait for them.
      await sink.waitForRequests('/lookup/after', 1);
    } finally {
      release();
    }
    const received = await sink.waitForRequests('/lookup/after', 6);
    expect(received.map((r) => (r.json as { user: string }).user).sort()).toEqual(
      ['ada', 'barbara', 'dennis', 'edsger', 'grace', 'ken'].sort(),
    );
  });

  it('records the answer as the respond step output, and the run goes on to its end', async () => {
    const { hookPath } = await hf.createFlow(lookupFlow('recorded', sink.url));
    const { res } = await timed(hf, hookPath, order('ada'));
    const run = await hf.waitForRun(res.headers['x-run']);
    expect(run.status).toBe('succeeded');
    const reply = run.steps.find((s: any) => s.id === 'reply');
    expect(reply).toMatchObject({ status: 'succeeded' });
    expect(reply.output).toEqual({
      status: 200,
      headers: { 'x-run': run.id, 'content-type': 'application/json; charset=utf-8', ...GUARDS },
      body: JSON.stringify(res.body),
    });
  });

  it('answers the default at once when a filter stops the run before the respond step, not at the timeout', async () => {
    const { hookPath } = await hf.createFlow(lookupFlow('filtered', sink.url));
    const { res, ms } = await timed(hf, hookPath, order('tiny', 0));
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ runId: expect.any(String), eventId: expect.any(String) });
    expect(ms).toBeLessThan(NOT_THE_TIMEOUT_MS);
    expect((await hf.waitForRun(res.body.runId)).status).toBe('filtered');
  });

  it("answers the trigger's own respond as the default, and at once when the respond step fails", async () => {
    const { hookPath } = await hf.createFlow({
      ...lookupFlow('failing', sink.url, { respond: { status: 200, body: 'OK' } }),
      steps: [{ id: 'reply', type: 'respond', headers: { 'X-User': '{{input.user_name}}' }, body: 'Hi' }],
    });
    // A value HTTP refuses in a header fails the step (a line break from the request never splits it).
    const { res, ms } = await timed(hf, hookPath, { user_name: 'ada\r\nSet-Cookie: evil=1' });
    expect(res.status).toBe(200);
    expect(res.text).toBe('OK');
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(ms).toBeLessThan(NOT_THE_TIMEOUT_MS);
    const run = await waitFor(async () => {
      const runs = await hf.http().get('/api/runs?flow=failing').set(hf.auth).expect(200);
      return runs.body.items[0]?.status === 'failed' ? runs.body.items[0] : undefined;
    });
    expect((await hf.getRun(run.id)).steps[0].error.code).toBe('template_error');
  });

  it('answers 202 at respondTimeout when the respond step comes too late, and records the answer later', async () => {
    const { hookPath } = await hf.createFlow({
      slug: 'slow',
      trigger: { type: 'webhook', respondTimeout: '1s' },
      steps: [
        { id: 'wait', type: 'delay', for: '2s' },
        { id: 'reply', type: 'respond', json: { late: true } },
      ],
    });
    const { res, ms } = await timed(hf, hookPath, {});
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ runId: expect.any(String), eventId: expect.any(String) });
    expect(ms).toBeGreaterThanOrEqual(950);
    expect(ms).toBeLessThan(NOT_THE_TIMEOUT_MS);
    const run = await hf.waitForRun(res.body.runId);
    expect(run.steps[1]).toMatchObject({
      status: 'succeeded',
      output: { status: 200, body: '{"late":true}' },
    });
  });

  it('only records the answer of a run started by hand, whose caller waits for nothing', async () => {
    await hf.createFlow(lookupFlow('by-hand', sink.url));
    const started = await hf
      .http()
      .post('/api/flows/by-hand/run')
      .set(hf.auth)
      .send({ body: order('ada') })
      .expect(202);
    expect(started.body).toEqual({ runId: expect.any(String), eventId: expect.any(String) });
    const run = await hf.waitForRun(started.body.runId);
    expect(run.steps.find((s: any) => s.id === 'reply')).toMatchObject({
      status: 'succeeded',
      output: {
        status: 200,
        body: JSON.stringify({ text: 'Hi ada', total: 25, lookup: { user: 'ada', total: 25, big: true } }),
      },
    });
  });

  it('carries an answer too large for a message through the store', async () => {
    const { hookPath } = await hf.createFlow({
      slug: 'large',
      trigger: { type: 'webhook' },
      steps: [{ id: 'reply', type: 'respond', body: '{{input.text}}' }],
    });
    const text = 'abcdefghij'.repeat(3_000);
    const { res, ms } = await timed(hf, hookPath, { text });
    expect(res.status).toBe(200);
    expect(res.text.length).toBe(text.length);
    expect(res.text === text).toBe(true);
    expect(ms).toBeLessThan(NOT_THE_TIMEOUT_MS);
  });

  it('counts answers by outcome, and shows the answer in a dry run', async () => {
    const metrics = await hf.http().get('/metrics').expect(200);
    expect(
      sample(metrics.text, 'hookflow_respond_answers_total', { flow: 'lookup', outcome: 'answered' }),
    ).toBe(6);
    expect(
      sample(metrics.text, 'hookflow_respond_answers_total', { flow: 'filtered', outcome: 'ended' }),
    ).toBe(1);
    expect(sample(metrics.text, 'hookflow_respond_answers_total', { flow: 'slow', outcome: 'timeout' })).toBe(
      1,
    );
    expect(metrics.text).toContain('hookflow_respond_waiting 0');

    const dry = await hf
      .http()
      .post('/api/flows/lookup/test')
      .set(hf.auth)
      .send({ body: order('ada') })
      .expect(200);
    expect(dry.body.response).toEqual({
      status: 200,
      headers: {
        'x-run': expect.stringMatching(/^test-/),
        'content-type': 'application/json; charset=utf-8',
        ...GUARDS,
      },
      body: JSON.stringify({ text: 'Hi ada', total: 25, lookup: { user: 'ada', total: 25, big: true } }),
    });
  });
});

describe('respond step with the queue on PostgreSQL (no Redis): LISTEN/NOTIFY', () => {
  let hf: HookflowHarness;
  let sink: SinkServer;

  beforeAll(async () => {
    sink = await SinkServer.start();
    hf = await HookflowHarness.start({ queue: 'postgres' });
  });

  afterAll(async () => {
    await hf?.close();
    await sink?.close();
  });

  it('answers with the transformed data, small or read from the store, and answers a filtered run at once', async () => {
    const { hookPath } = await hf.createFlow(lookupFlow('pg-lookup', sink.url));
    const small = await timed(hf, hookPath, order('ada'));
    expect(small.res.status).toBe(200);
    expect(small.res.body).toMatchObject({ text: 'Hi ada', total: 25 });
    const filtered = await timed(hf, hookPath, order('tiny', 0));
    expect(filtered.res.status).toBe(202);
    console.log(
      `respond step (PostgreSQL queue): answered in ${small.ms.toFixed(1)} ms, filtered run in ${filtered.ms.toFixed(1)} ms`,
    );
    expect(Math.max(small.ms, filtered.ms)).toBeLessThan(NOT_THE_TIMEOUT_MS);

    const { hookPath: largePath } = await hf.createFlow({
      slug: 'pg-large',
      trigger: { type: 'webhook' },
      steps: [{ id: 'reply', type: 'respond', json: { echo: '{{input.text}}' } }],
    });
    const text = 'x'.repeat(10_000);
    const large = await timed(hf, largePath, { text });
    expect(large.res.status).toBe(200);
    expect(large.res.body.echo?.length).toBe(text.length);
    expect(large.res.body.echo === text).toBe(true);
    expect(large.ms).toBeLessThan(NOT_THE_TIMEOUT_MS);
    await sink.waitForRequests('/pg-lookup/after', 1);
  });
});
