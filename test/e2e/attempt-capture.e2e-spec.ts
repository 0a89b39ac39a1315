import { freePort } from '../utils/free-port';
import { HookflowHarness } from '../utils/hookflow-harness';
import { SinkServer } from '../utils/sink-server';

/** Every attempt of an action keeps its request and response, masked and bounded (docs/api.md). */
describe('attempt capture (request and response of each attempt)', () => {
  let hf: HookflowHarness;
  let sink: SinkServer;
  const SECRET = 'cap-s3cr3t-value-4242';
  const retry = { attempts: 3, backoff: 'fixed', delay: '10ms' };

  beforeAll(async () => {
    sink = await SinkServer.start();
    hf = await HookflowHarness.start();
    await hf.http().put('/api/secrets/CAPTURE_TOKEN').set(hf.auth).send({ value: SECRET }).expect(204);
  });

  afterAll(async () => {
    await hf?.close();
    await sink?.close();
  });

  async function runOne(slug: string, step: Record<string, unknown>): Promise<Record<string, any>> {
    const { hookPath } = await hf.createFlow({
      slug,
      trigger: { type: 'webhook' },
      steps: [{ id: 'send', type: 'action', connector: 'http', ...step }],
    });
    const { body } = await hf.http().post(hookPath).send({ order: 7 }).expect(202);
    return hf.waitForRun(body.runId);
  }

  it('keeps each attempt of a 503 then 200 with its own request and response', async () => {
    sink.script('/flaky', [{ status: 503, headers: { 'x-state': 'busy' }, body: { busy: true } }, 200]);
    const run = await runOne('capture-flaky', {
      retry,
      with: { url: `${sink.url}/flaky?q=1`, json: { order: '{{input.order}}' } },
    });
    expect(run.status).toBe('succeeded');
    const [first, second] = run.steps[0].attempts;
    expect(run.steps[0].attempts).toHaveLength(2);
    const port = new URL(sink.url).port;
    for (const attempt of [first, second]) {
      expect(attempt.destination).toBe(`127.0.0.1:${port}`);
      expect(attempt.request).toMatchObject({
        method: 'POST',
        url: `${sink.url}/flaky?q=1`,
        body: '{"order":7}',
        bodyBytes: 11,
        bodyTruncated: false,
      });
      expect(attempt.request.headers['content-type']).toBe('application/json');
      expect(attempt.request.headers['idempotency-key']).toEqual(expect.any(String));
    }
    expect(first.outcome).toBe('retrying');
    expect(first.response).toMatchObject({ status: 503, body: '{"busy":true}', bodyTruncated: false });
    expect(first.response.headers['x-state']).toBe('busy');
    expect(first.response.durationMs).toEqual(expect.any(Number));
    expect(second.outcome).toBe('succeeded');
    expect(second.response).toMatchObject({ status: 200, body: '{"ok":true}', bodyBytes: 11 });
    expect(second.response.headers['content-type']).toBe('application/json');
  });

  it('masks a secret used in a header and the body, and echoed back, everywhere in the answer', async () => {
    sink.script('/secret', [{ status: 200, headers: { 'x-echo': SECRET }, body: { youSent: SECRET } }]);
    const run = await runOne('capture-secret', {
      with: {
        url: `${sink.url}/secret`,
        headers: {
          'x-account': "{{secret 'CAPTURE_TOKEN'}}",
          authorization: "Bearer {{secret 'CAPTURE_TOKEN'}}",
        },
        json: { token: "{{secret 'CAPTURE_TOKEN'}}", order: '{{input.order}}' },
      },
    });
    expect(run.status).toBe('succeeded');
    // The receiver got the real value: the masking is of the record only.
    expect(sink.received('/secret')[0].headers['x-account']).toBe(SECRET);
    const [attempt] = run.steps[0].attempts;
    expect(attempt.request.headers['x-account']).toBe('[secret CAPTURE_TOKEN]');
    expect(attempt.request.headers.authorization).toBe('[redacted]');
    expect(JSON.parse(attempt.request.body)).toEqual({ token: '[secret CAPTURE_TOKEN]', order: 7 });
    expect(attempt.request.bodyBytes).toBe(sink.received('/secret')[0].body.length);
    expect(attempt.response.headers['x-echo']).toBe('[secret CAPTURE_TOKEN]');
    expect(attempt.response.body).toBe('{"youSent":"[secret CAPTURE_TOKEN]"}');
    const raw = (await hf.http().get(`/api/runs/${run.id}`).set(hf.auth).expect(200)).text;
    expect(raw).not.toContain(SECRET);
  });

  it('stores a 1 MB response body cut to 16 KiB with the flag', async () => {
    const big = 'é'.repeat(500_000);
    sink.script('/big', [{ status: 200, headers: { 'content-type': 'text/plain' }, body: big }]);
    const run = await runOne('capture-big', { with: { url: `${sink.url}/big`, json: {} } });
    expect(run.status).toBe('succeeded');
    const { response } = run.steps[0].attempts[0];
    expect(response.status).toBe(200);
    expect(response.bodyTruncated).toBe(true);
    expect(response.bodyBytes).toBe(Buffer.byteLength(JSON.stringify(big)));
    const kept = Buffer.byteLength(response.body);
    expect(kept).toBeLessThanOrEqual(16 * 1024);
    expect(kept).toBeGreaterThan(16 * 1024 - 4);
    // Cut between characters: the text is the start of what was sent, with no replacement character.
    expect(JSON.stringify(big).startsWith(response.body)).toBe(true);
  });

  it('keeps the request and a null response of an attempt the guard refused', async () => {
    const run = await runOne('capture-blocked', { retry, with: { url: 'http://127.0.0.2:9/x', json: {} } });
    expect(run.status).toBe('failed');
    const attempts = run.steps[0].attempts;
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({
      outcome: 'failed',
      error: { code: 'blocked', retryable: false },
      destination: '127.0.0.2:9',
      request: { method: 'POST', url: 'http://127.0.0.2:9/x', body: '{}' },
      response: null,
    });
  });

  it('keeps the request and a null response of each attempt whose connection was refused', async () => {
    const port = await freePort();
    const run = await runOne('capture-refused', {
      retry: { attempts: 2, backoff: 'fixed', delay: '10ms' },
      with: { url: `http://127.0.0.1:${port}/x`, json: {} },
    });
    expect(run.status).toBe('failed');
    const attempts = run.steps[0].attempts;
    expect(attempts.map((a: any) => [a.outcome, a.error.code, a.response])).toEqual([
      ['retrying', 'network_error', null],
      ['failed', 'network_error', null],
    ]);
    for (const a of attempts) expect(a.request.url).toBe(`http://127.0.0.1:${port}/x`);
  });

  it('records no exchange for a step that sends nothing, and one for each action of a chain', async () => {
    const { hookPath } = await hf.createFlow({
      slug: 'capture-chain',
      trigger: { type: 'webhook' },
      steps: [
        { id: 't', type: 'transform', expression: '{ "n": order }' },
        {
          id: 'a',
          type: 'action',
          connector: 'http',
          with: { url: `${sink.url}/chain-a`, json: '{{input}}' },
        },
        {
          id: 'b',
          type: 'action',
          connector: 'http',
          with: { url: `${sink.url}/chain-b`, json: '{{input}}' },
        },
      ],
    });
    const { body } = await hf.http().post(hookPath).send({ order: 3 }).expect(202);
    const run = await hf.waitForRun(body.runId);
    expect(run.status).toBe('succeeded');
    expect(run.steps[0].attempts[0]).toMatchObject({ request: null, response: null, destination: null });
    for (const [step, path] of [
      [run.steps[1], '/chain-a'],
      [run.steps[2], '/chain-b'],
    ]) {
      expect(step.attempts[0].request).toMatchObject({ url: `${sink.url}${path}` });
      expect(step.attempts[0].response).toMatchObject({ status: 200 });
    }
  });
});
