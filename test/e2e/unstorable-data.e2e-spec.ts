import { jest } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { MAX_REQUEUES } from '../../apps/worker/src/maintenance/reconciler';
import { HookflowHarness, TEST_DATABASE_URL } from '../utils/hookflow-harness';
import { SinkServer } from '../utils/sink-server';
import { waitFor } from '../utils/wait-for';

/** Runs SQL in the harness's own schema. */
async function sql<T = Record<string, unknown>>(hf: HookflowHarness, text: string, values: unknown[] = []) {
  const client = new Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(`SET search_path TO "${hf.id}"`);
    return (await client.query(text, values)).rows as T[];
  } finally {
    await client.end();
  }
}

/**
 * PostgreSQL refuses NUL characters and lone UTF-16 surrogates in text and jsonb. What a sender,
 * a receiver or an expression produces is stored (sanitised, raw bytes kept); what a person
 * writes into the management API is refused with a 400 naming where; nothing answers 500, and a
 * step whose outcome cannot be stored fails visibly instead of leaving its run queued.
 */
describe('data PostgreSQL cannot store', () => {
  let hf: HookflowHarness;
  let sink: SinkServer;

  beforeAll(async () => {
    sink = await SinkServer.start();
    hf = await HookflowHarness.start({ env: { RECONCILE_INTERVAL_MS: '100', RECONCILE_STALE_MS: '100' } });
  });

  afterAll(async () => {
    await hf?.close();
    await sink?.close();
  });

  const deliver = (slug: string, steps: object[] = []) =>
    hf.createFlow({
      slug,
      trigger: { type: 'webhook' },
      steps: [
        ...steps,
        {
          id: 'deliver',
          type: 'action',
          connector: 'http',
          with: { url: `${sink.url}/${slug}`, json: '{{input}}' },
        },
      ],
    });

  it('accepts a JSON body with lone surrogates, keeps its raw bytes and delivers it sanitised', async () => {
    const { hookPath } = await deliver('lone-body');
    const raw = '{"a":"\\ud800","b":"x\\udc00y","\\ud83d":"key","ok":"\\ud83d\\ude00","text":"\\\\ud800"}';
    const res = await hf.http().post(hookPath).set('content-type', 'application/json').send(raw);
    expect(res.status).toBe(202);

    const run = await hf.waitForRun(res.body.runId);
    expect(run.status).toBe('succeeded');
    const sanitised = { a: '\ufffd', b: 'x\ufffdy', '\ufffd': 'key', ok: '😀', text: '\\ud800' };
    expect(run.event.body).toEqual(sanitised);
    expect(sink.received('/lone-body')[0].json).toEqual(sanitised);
    const [event] = await sql<{ raw_body: Buffer }>(hf, `SELECT raw_body FROM events WHERE id = $1`, [
      res.body.eventId,
    ]);
    expect(event.raw_body.equals(Buffer.from(raw))).toBe(true);
  });

  it('stores a query with NUL characters and a header with the UTF-8 bytes of a surrogate', async () => {
    const { hookPath } = await deliver('query-header');
    // Sent byte for byte (HTTP clients re-encode header text): ED A0 80 would be U+D800 in UTF-8.
    const port = (hf.api.getHttpServer().address() as AddressInfo).port;
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () =>
        socket.write(
          Buffer.concat([
            Buffer.from(
              `POST ${hookPath}?q=%00&%00k=v&s=%ED%A0%80 HTTP/1.1\r\nhost: x\r\nconnection: close\r\n`,
            ),
            Buffer.from([...Buffer.from('x-odd: a'), 0xed, 0xa0, 0x80, ...Buffer.from('b\r\n')]),
            Buffer.from('content-type: application/json\r\ncontent-length: 2\r\n\r\n{}'),
          ]),
        ),
      );
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString('utf8')));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 202 /);
    const { runId } = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { runId: string };

    const run = await hf.waitForRun(runId);
    expect(run.status).toBe('succeeded');
    expect(run.event.query).toEqual({ q: '\ufffd', '\ufffdk': 'v', s: '%ED%A0%80' });
    // Header values are read as latin1: those bytes are three ordinary characters, kept as they came.
    expect(run.event.headers['x-odd']).toBe('a\u00ed\u00a0\u0080b');
  });

  it('keys a dedupe expression whose value holds a NUL (hashed) instead of answering 500', async () => {
    const { hookPath } = await hf.createFlow({
      slug: 'dedupe-nul',
      trigger: { type: 'webhook', dedupe: { expression: 'body.id' } },
      steps: [{ id: 'keep', type: 'transform', expression: '$' }],
    });
    const send = () =>
      hf.http().post(hookPath).set('content-type', 'application/json').send('{"id":"a\\u0000"}');
    const first = await send();
    expect(first.status).toBe(202);
    const again = await send();
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ runId: first.body.runId, duplicate: true });
  });

  it('finishes a transform whose output holds a lone surrogate instead of leaving it queued', async () => {
    const { hookPath } = await deliver('lone-output', [
      { id: 'first', type: 'transform', expression: '{ "initial": $split(name, "")[0], "name": name }' },
    ]);
    const res = await hf.http().post(hookPath).send({ name: '😀 Ada' }).expect(202);

    const run = await hf.waitForRun(res.body.runId);
    expect(run.status).toBe('succeeded');
    expect(run.steps[0].output).toEqual({ initial: '\ufffd', name: '😀 Ada' });
    expect(sink.received('/lone-output')[0].json).toEqual({ initial: '\ufffd', name: '😀 Ada' });
  });

  it('fails a step whose outcome PostgreSQL refuses, saying why, and moves the run on', async () => {
    // A check constraint of this test's own schema makes PostgreSQL refuse the step's success, as
    // it would refuse an outcome too large to store; its failure it lets through.
    await sql(
      hf,
      `ALTER TABLE step_runs ADD CONSTRAINT test_refuses_success
         CHECK (step_id <> 'refused' OR status <> 'succeeded') NOT VALID`,
    );
    const { hookPath } = await deliver('refused-outcome', [
      { id: 'refused', type: 'transform', expression: '$' },
    ]);
    const res = await hf.http().post(hookPath).send({ a: 1 }).expect(202);

    const run = await hf.waitForRun(res.body.runId);
    expect(run.status).toBe('failed');
    const [refused, deliverStep] = run.steps;
    expect(refused).toMatchObject({ status: 'failed', input: null, output: null });
    expect(refused.error).toEqual({
      code: 'outcome_unstorable',
      message: expect.stringMatching(
        /^the step ran, but its outcome could not be stored: .*test_refuses_success/,
      ),
      retryable: false,
    });
    expect(refused.attempts).toEqual([expect.objectContaining({ outcome: 'failed', error: refused.error })]);
    expect(deliverStep.status).toBe('skipped');
  });

  it('gives a step up after its re-enqueues run out, and says so in the run and the log', async () => {
    // Nothing but the reconciler's give-up may end this step: each job of it ends without an outcome.
    await sql(
      hf,
      `ALTER TABLE step_runs ADD CONSTRAINT test_only_requeue_limit
         CHECK (step_id <> 'stuck' OR status IN ('pending', 'running', 'retrying')
                OR coalesce(error->>'code', '') = 'requeue_limit') NOT VALID`,
    );
    const { hookPath } = await deliver('requeue-limit', [
      { id: 'stuck', type: 'transform', expression: '$' },
    ]);
    const lines: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation(((chunk: unknown) => {
      lines.push(String(chunk));
      return true;
    }) as never);
    let run: Record<string, any>;
    try {
      const res = await hf.http().post(hookPath).send({ a: 1 }).expect(202);
      run = await hf.waitForRun(res.body.runId, 30_000);
    } finally {
      spy.mockRestore();
    }

    expect(run.status).toBe('failed');
    const [stuck, deliverStep] = run.steps;
    expect(stuck.status).toBe('failed');
    expect(stuck.error).toEqual({
      code: 'requeue_limit',
      message: `re-enqueued ${MAX_REQUEUES} times without an outcome being recorded; given up`,
      retryable: false,
    });
    expect(deliverStep.status).toBe('skipped');
    const [row] = await sql<{ requeues: number }>(
      hf,
      `SELECT requeues FROM step_runs WHERE run_id = $1 AND step_id = 'stuck'`,
      [run.id],
    );
    expect(row.requeues).toBe(MAX_REQUEUES);
    const records = lines
      .join('')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records).toContainEqual(
      expect.objectContaining({
        level: 'error',
        context: 'Reconciler',
        runId: run.id,
        step: 'stuck',
        code: 'requeue_limit',
      }),
    );
    // Each attempt's refusal was logged too, so the loop was never silent.
    expect(records).toContainEqual(
      expect.objectContaining({
        context: 'StepRunner',
        runId: run.id,
        step: 'stuck',
        code: 'outcome_unstorable',
      }),
    );
  });

  describe('management API', () => {
    beforeAll(async () => {
      await deliver('managed');
    });

    it.each([
      ['get', '/api/flows/%00', 400, '/slug'],
      ['get', '/api/flows/%00/versions', 400, '/slug'],
      ['delete', '/api/flows/%00', 400, '/slug'],
      ['get', '/api/flows?cursor=%00', 400, '/cursor'],
      ['get', '/api/flows?limit=1&limit=2', 400, '/limit'],
      ['get', '/api/flows/managed/events?accepted=%00', 400, '/accepted'],
      ['get', '/api/flows/managed/versions/%00', 400, '/version'],
      ['get', '/api/flows/managed/versions/one', 400, '/version'],
      ['get', '/api/runs?flow=%00', 400, '/flow'],
      ['get', '/api/runs?flow=a&flow=b', 400, '/flow'],
      ['get', '/api/runs?cursor=<1001 characters>', 400, '/cursor'],
      ['get', '/api/runs/%00', 400, '/id'],
      ['post', '/api/runs/%00/cancel', 400, '/id'],
      ['put', '/api/secrets/%00', 400, '/name'],
      ['delete', '/api/keys/%00', 400, '/id'],
      ['get', '/api/flows/%ED%A0%80', 400, ''],
      ['get', '/api/flows/<201 characters>', 414, ''],
    ])('%s %s answers %i naming %j', async (method, url, status, where) => {
      const long = url.replace(/<(\d+) characters>/, (_: string, n: string) => 'x'.repeat(Number(n)));
      // Only the secret's PUT takes a body; the others would be refused for it (unknown fields).
      const req = (hf.http() as any)[method](long).set(hf.auth);
      const res = await (method === 'put' ? req.send({ value: 'x' }) : req);
      expect({ status: res.status, details: res.body.details }).toEqual({
        status,
        details: [{ path: where, message: expect.any(String) }],
      });
    });

    it.each([
      ['/api/flows/managed/versions/99999999999'],
      ['/api/flows/managed/versions/0'],
      ['/api/runs/not-a-uuid'],
    ])('GET %s answers 404', async (url) => {
      const res = await hf.http().get(url).set(hf.auth);
      expect({ status: res.status, error: res.body.error }).toEqual({ status: 404, error: 'not_found' });
    });

    it('answers 404 for a trigger URL whose key cannot be one', async () => {
      const res = await hf.http().post('/hooks/%00').send({});
      expect({ status: res.status, error: res.body.error }).toEqual({ status: 404, error: 'not_found' });
    });

    const flow = (extra: object) => ({
      slug: 'refused',
      trigger: { type: 'webhook' },
      steps: [{ id: 't', type: 'transform', expression: '$' }],
      ...extra,
    });
    it.each([
      [
        'post',
        '/api/flows',
        '/steps/0/expression',
        flow({ steps: [{ id: 't', type: 'transform', expression: '"a\u0000"' }] }),
      ],
      ['post', '/api/flows', '/name', flow({ name: 'x\ud800' })],
      ['post', '/api/flows/validate', '/description', flow({ description: '\udc00' })],
      ['put', '/api/flows/managed', '/name', flow({ slug: 'managed', name: 'a\u0000' })],
      [
        'post',
        '/api/flows/sync',
        '/files/0/definition/name',
        { files: [{ path: 'a.flow.json', definition: flow({ name: '\u0000' }) }] },
      ],
      ['post', '/api/keys', '/name', { name: 'ci\ud800' }],
      ['put', '/api/secrets/TOKEN', '/value', { value: 'a\u0000' }],
      ['post', '/api/runs/retry', '/flow', { flow: 'a\u0000' }],
      ['post', '/api/flows', '/k\ufffd', { ...flow({}), ['k\u0000']: 1 }],
    ])('%s %s refuses NUL or a lone surrogate at %j', async (method, url, where, body) => {
      // JSON.stringify writes both as \u escapes, as any JSON client would.
      const res = await (hf.http() as any)
        [method](url)
        .set(hf.auth)
        .set('content-type', 'application/json')
        .send(JSON.stringify(body));
      expect({ status: res.status, error: res.body.error, details: res.body.details }).toEqual({
        status: 400,
        error: 'invalid_request',
        details: [
          {
            path: where,
            message: expect.stringMatching(/^must not contain (the NUL character|a lone UTF-16 surrogate)/),
          },
        ],
      });
    });

    it('still accepts surrogate pairs and escaped backslashes', async () => {
      const res = await hf
        .http()
        .post('/api/keys')
        .set(hf.auth)
        .set('content-type', 'application/json')
        .send(JSON.stringify({ name: 'ci 😀 \\u0000' }));
      expect(res.status).toBe(201);
      expect(res.body.name).toBe('ci 😀 \\u0000');
    });

    it('runs a dry run whose sample request holds NUL and lone surrogates, as a webhook would be taken', async () => {
      const res = await hf
        .http()
        .post('/api/flows/test')
        .set(hf.auth)
        .set('content-type', 'application/json')
        .send(
          JSON.stringify({
            definition: flow({ steps: [{ id: 't', type: 'transform', expression: 'name & "!"' }] }),
            body: { name: 'a\u0000\ud800' },
            query: { q: '\udc00' },
          }),
        );
      expect(res.status).toBe(200);
      expect(res.body.steps[0]).toMatchObject({ status: 'succeeded', output: 'a\u0000\ud800!' });
    });
  });
});

describe('flow files PostgreSQL cannot store', () => {
  let hf: HookflowHarness;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'hookflow-unstorable-'));
    const file = (slug: string, expression: string) =>
      JSON.stringify({
        slug,
        trigger: { type: 'webhook' },
        steps: [{ id: 't', type: 'transform', expression }],
      });
    await writeFile(path.join(dir, 'good.flow.json'), file('good', '$'));
    await writeFile(path.join(dir, 'nul.flow.json'), file('nul', '"\u0000"'));
    hf = await HookflowHarness.start({ worker: false, env: { FLOWS_DIR: dir } });
  });

  afterAll(async () => {
    await hf?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('skips a file with a NUL as a file with errors, and loads the others', async () => {
    await waitFor(async () => (await hf.http().get('/api/flows/good').set(hf.auth)).status === 200, {
      what: 'the good flow file to load',
    });
    expect((await hf.http().get('/api/flows/nul').set(hf.auth)).status).toBe(404);
  });
});
