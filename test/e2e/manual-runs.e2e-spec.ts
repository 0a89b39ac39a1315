import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runCli, type CliResult } from '../utils/cli-runner';
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
  describe('hookflow run', () => {
    let work: string;
    let env: Record<string, string>;

    beforeAll(() => {
      const { port } = hf.api.getHttpServer().address() as AddressInfo;
      env = { HOOKFLOW_URL: `http://127.0.0.1:${port}`, HOOKFLOW_API_KEY: hf.apiKey };
      work = mkdtempSync(path.join(tmpdir(), 'hookflow-run-e2e-'));
      writeFileSync(path.join(work, 'order.json'), JSON.stringify({ order: { id: 'C-1' } }));
    });

    afterAll(() => {
      if (work) rmSync(work, { recursive: true, force: true });
    });

    /** The CLI, in this process, against the running API. */
    const cli = (argv: string[], stdin?: string): Promise<CliResult> =>
      runCli(argv, { cwd: work, env, stdin });

    it('starts a run with the payload file as body, --header and --query, and --wait prints it once it ended', async () => {
      await hf.createFlow(echoFlow('by-cli'));
      const result = await cli([
        'run',
        'by-cli',
        '--payload',
        'order.json',
        '--header',
        'X-Shop: south',
        '--query',
        'tag=a',
        '--query',
        'tag=b',
        '--wait',
      ]);
      expect(result.stderr).toMatch(
        /^started run [0-9a-f-]{36} of by-cli; waiting for it to end \(at most 1m 0s\)\n$/,
      );
      expect(result.code).toBe(0);
      const runId = /^run ([0-9a-f-]{36})$/m.exec(result.stdout)?.[1];
      expect(result.stdout).toContain('  status   succeeded');
      expect(result.stdout).toMatch(/^ {2}MANUAL application\/json from 127\.0\.0\.1 at /m);
      expect(result.stdout).toContain('  body  {"order":{"id":"C-1"}}');
      expect(result.stdout).toMatch(/^ {2}send +succeeded +1 attempt/m);
      const [delivered] = await sink.waitForRequests('/by-cli', 1);
      expect(delivered.json).toEqual({
        body: { order: { id: 'C-1' } },
        shop: 'south',
        tags: ['a', 'b'],
        method: 'MANUAL',
      });
      expect((await hf.getRun(runId!)).status).toBe('succeeded');
    });

    it('reads the payload from standard input, and prints the run as JSON with --json', async () => {
      await hf.createFlow(echoFlow('by-pipe'));
      const result = await cli(['run', 'by-pipe', '--payload', '-', '--wait', '--json'], '{ "piped": true }');
      expect(result).toMatchObject({ code: 0, stderr: '' });
      expect(JSON.parse(result.stdout)).toMatchObject({
        flow: 'by-pipe',
        status: 'succeeded',
        event: { method: 'MANUAL', body: { piped: true } },
      });
    });

    it('without --wait, says which run it started and exits 0 at once', async () => {
      await hf.createFlow(echoFlow('fire-and-forget'));
      const result = await cli(['run', 'fire-and-forget']);
      expect(result.code).toBe(0);
      const runId = /^started run ([0-9a-f-]{36}) of fire-and-forget\n$/.exec(result.stdout)?.[1];
      expect(result.stderr).toBe(`follow it with: hookflow runs show ${runId}\n`);
      expect((await hf.waitForRun(runId!)).status).toBe('succeeded');
    });

    it('exits 1 for a run that failed, printing it with the failed attempt', async () => {
      sink.script('/failing', [500]);
      await hf.createFlow({
        slug: 'failing',
        trigger: { type: 'webhook' },
        steps: [
          {
            id: 'send',
            type: 'action',
            connector: 'http',
            with: { url: `${sink.url}/failing`, json: '{{trigger.body}}' },
            retry: { attempts: 1 },
          },
        ],
      });
      const result = await cli(['run', 'failing', '--wait']);
      expect(result.code).toBe(1);
      expect(result.stdout).toContain('  status   failed');
      expect(result.stdout).toContain('    attempt 1: failed HTTP 500');
    });

    it('exits 1 for a run that did not end in time, printing it as it is', async () => {
      await hf.createFlow({
        slug: 'slow',
        trigger: { type: 'webhook' },
        steps: [{ id: 'later', type: 'delay', for: '1h' }],
      });
      const result = await cli(['run', 'slow', '--wait', '--timeout', '1s']);
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/^ {2}later +waiting/m);
      expect(result.stderr).toMatch(
        /hookflow: run [0-9a-f-]{36} did not end within 1\.0s \(it is running\); follow it with: hookflow runs show /,
      );
    });

    it('exits 1 naming an unknown flow, and a refused field', async () => {
      await expect(cli(['run', 'no-such-flow'])).resolves.toEqual({
        code: 1,
        stdout: '',
        stderr: "hookflow: flow 'no-such-flow' not found\n",
      });
      await hf.createFlow(echoFlow('picky'));
      const result = await cli(['run', 'picky', '--header', 'x n: v']);
      expect(result).toMatchObject({ code: 1, stdout: '' });
      expect(result.stderr).toContain('  /headers/x n: is not a header name');
    });
  });
});
