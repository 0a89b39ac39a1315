import { HookflowHarness } from '../utils/hookflow-harness';
import { SinkServer } from '../utils/sink-server';

const MAX_BODY_BYTES = 64 * 1024;

/** `POST /api/flows/:slug/run`: a real run started by hand, against the real API, worker and a receiver. */
describe('manual runs', () => {
  let hf: HookflowHarness;
  let sink: SinkServer;

  beforeAll(async () => {
    sink = await SinkServer.start();
    hf = await HookflowHarness.start({ env: { MAX_BODY_BYTES: String(MAX_BODY_BYTES) } });
  });

  afterAll(async () => {
    await hf?.close();
    await sink?.close();
  });

  /** A flow whose action sends the receiver what its steps saw of the request. */
  const echoFlow = (slug: string) => ({
    slug,
    trigger: { type: 'webhook', methods: ['PUT'] },
    steps: [
      {
        id: 'seen',
        type: 'transform',
        expression:
          "{ 'body': $trigger.body, 'shop': $trigger.headers.`x-shop`, 'auth': $trigger.headers.authorization, " +
          "'tags': $trigger.query.tag, 'method': $trigger.method }",
      },
      {
        id: 'send',
        type: 'action',
        connector: 'http',
        with: { method: 'POST', url: `${sink.url}/${slug}`, json: '{{steps.seen}}' },
        retry: { attempts: 1 },
      },
    ],
  });

  const run = (slug: string, body?: object) => {
    const req = hf.http().post(`/api/flows/${slug}/run`).set(hf.auth);
    return body === undefined ? req : req.send(body);
  };

  it('runs the flow on the given body, headers and query, which its steps see, and records where it came from', async () => {
    await hf.createFlow(echoFlow('by-hand'));
    const started = await run('by-hand', {
      body: { order: { id: 'A-7' } },
      headers: { 'X-Shop': 'north', Authorization: 'Bearer not-for-steps' },
      query: { tag: ['a', 'b'] },
    }).expect(202);
    expect(started.body).toEqual({ runId: expect.any(String), eventId: expect.any(String) });
    expect(started.headers.location).toBe(`/api/runs/${started.body.runId}`);

    const [delivered] = await sink.waitForRequests('/by-hand', 1);
    expect(delivered.json).toEqual({
      body: { order: { id: 'A-7' } },
      shop: 'north',
      auth: '[redacted]',
      tags: ['a', 'b'],
      method: 'MANUAL',
    });
    const done = await hf.waitForRun(started.body.runId);
    expect(done).toMatchObject({
      flow: 'by-hand',
      version: 1,
      status: 'succeeded',
      event: {
        id: started.body.eventId,
        method: 'MANUAL',
        headers: { 'x-shop': 'north', authorization: '[redacted]' },
        query: { tag: ['a', 'b'] },
        body: { order: { id: 'A-7' } },
        contentType: 'application/json',
        sourceIp: '127.0.0.1',
      },
    });
    expect(done.steps.map((s: { id: string; status: string }) => [s.id, s.status])).toEqual([
      ['seen', 'succeeded'],
      ['send', 'succeeded'],
    ]);

    const inspected = await hf.http().get('/api/flows/by-hand/events').set(hf.auth).expect(200);
    expect(inspected.body.items).toEqual([
      expect.objectContaining({
        id: started.body.eventId,
        method: 'MANUAL',
        accepted: true,
        statusCode: 202,
        runId: started.body.runId,
        bodyPreview: '{"order":{"id":"A-7"}}',
        contentType: 'application/json',
      }),
    ]);
    const metrics = await hf.http().get('/metrics').expect(200);
    expect(metrics.text).toContain('hookflow_manual_runs_total{flow="by-hand"} 1');
    expect(metrics.text).not.toContain('hookflow_webhooks_received_total{flow="by-hand"');
  });

  it('runs a disabled flow, whose trigger refuses webhooks, on a request without body', async () => {
    const { hookPath } = await hf.createFlow(echoFlow('switched-off'));
    await hf.http().patch('/api/flows/switched-off').set(hf.auth).send({ enabled: false }).expect(200);
    await hf.http().put(hookPath).send({}).expect(409);

    const started = await run('switched-off').expect(202);
    const done = await hf.waitForRun(started.body.runId);
    expect(done.status).toBe('succeeded');
    expect(done.event).toMatchObject({
      method: 'MANUAL',
      body: null,
      headers: {},
      query: {},
      contentType: null,
    });
    const [delivered] = await sink.waitForRequests('/switched-off', 1);
    expect(delivered.json).toEqual({ body: null, method: 'MANUAL' });
  });

  it('runs the current version: a run never sees a definition saved after it started', async () => {
    const first = echoFlow('changing');
    await hf.createFlow(first);
    const changed = {
      ...first,
      steps: [{ id: 'seen', type: 'transform', expression: "{ 'version': 2 }" }, first.steps[1]],
    };
    await hf.http().put('/api/flows/changing').set(hf.auth).send(changed).expect(200);
    const started = await run('changing', { body: {} }).expect(202);
    expect((await hf.waitForRun(started.body.runId)).version).toBe(2);
    expect((await sink.waitForRequests('/changing', 1))[0].json).toEqual({ version: 2 });
  });

  describe('bad input', () => {
    beforeAll(async () => {
      await hf.createFlow(echoFlow('refuses'));
    });

    it.each<[string, object | string, number, string, string]>([
      ['a field it does not know', { body: {}, method: 'POST' }, 400, 'invalid_request', '/method'],
      ['a request that is not an object', '[1]', 400, 'invalid_request', ''],
      ['a header value that is not text', { headers: { 'x-n': 1 } }, 400, 'invalid_request', '/headers/x-n'],
      ['a header name with a space', { headers: { 'x n': 'v' } }, 400, 'invalid_request', '/headers/x n'],
      [
        'a line break in a header',
        { headers: { 'x-a': 'v\r\nx-b: w' } },
        400,
        'invalid_request',
        '/headers/x-a',
      ],
      ['a query value that is a number', { query: { n: 1 } }, 400, 'invalid_request', '/query/n'],
      ['a NUL in the body', { body: { note: 'a\u0000b' } }, 400, 'invalid_request', '/body/note'],
      [
        'a body nested too deep',
        { body: JSON.parse(`${'['.repeat(65)}${']'.repeat(65)}`) },
        400,
        'invalid_request',
        '/body',
      ],
      ['a body over MAX_BODY_BYTES', { body: 'x'.repeat(MAX_BODY_BYTES) }, 413, 'payload_too_large', '/body'],
    ])('answers %s with a JSON error naming the field', async (_name, body, status, error, path) => {
      const res = await run('refuses')
        .type('json')
        .send(typeof body === 'string' ? body : JSON.stringify(body));
      expect({
        status: res.status,
        error: res.body.error,
        paths: res.body.details.map((d: any) => d.path),
      }).toEqual({ status, error, paths: [path] });
    });

    it('started no run for any of them', async () => {
      const runs = await hf.http().get('/api/runs?flow=refuses').set(hf.auth).expect(200);
      expect(runs.body.items).toEqual([]);
    });
  });

  it('answers a body that is not JSON, or larger than the route takes, without a field', async () => {
    await hf.createFlow(echoFlow('malformed'));
    await expect(run('malformed').type('json').send('{ nope')).resolves.toMatchObject({
      status: 400,
      body: { error: 'invalid_body' },
    });
    const huge = JSON.stringify({ body: 'x'.repeat(4 * MAX_BODY_BYTES) });
    await expect(run('malformed').type('json').send(huge)).resolves.toMatchObject({
      status: 413,
      body: { error: 'payload_too_large' },
    });
  });

  it('answers 404 for a flow that does not exist or was deleted', async () => {
    await expect(run('no-such-flow', {})).resolves.toMatchObject({
      status: 404,
      body: { error: 'not_found' },
    });
    await hf.createFlow(echoFlow('gone'));
    await hf.http().delete('/api/flows/gone').set(hf.auth).expect(204);
    await expect(run('gone', {})).resolves.toMatchObject({
      status: 404,
      body: { error: 'not_found', message: "flow 'gone' not found" },
    });
  });

  it('needs a write key: a read key gets 403, and no key 401', async () => {
    await hf.createFlow(echoFlow('scoped'));
    const keyOf = async (scope: string) =>
      (await hf.http().post('/api/keys').set(hf.auth).send({ name: scope, scope }).expect(201)).body.key;
    const [reader, writer] = [await keyOf('read'), await keyOf('write')];
    const as = (key: string) =>
      hf
        .http()
        .post('/api/flows/scoped/run')
        .set('authorization', `Bearer ${key}`)
        .send({ body: { by: key } });
    await expect(as(reader)).resolves.toMatchObject({
      status: 403,
      body: { error: 'insufficient_scope', message: expect.stringContaining("'write' scope") },
    });
    await expect(hf.http().post('/api/flows/scoped/run').send({})).resolves.toMatchObject({ status: 401 });
    const started = await as(writer).expect(202);
    expect((await hf.waitForRun(started.body.runId)).status).toBe('succeeded');
    expect(await sink.waitForRequests('/scoped', 1)).toHaveLength(1);
  });
});
