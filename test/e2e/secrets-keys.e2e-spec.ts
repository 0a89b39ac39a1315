import { jest } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import type { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { HookflowHarness } from '../utils/hookflow-harness';
import { SinkServer } from '../utils/sink-server';
import { waitFor } from '../utils/wait-for';

/** Everything the apps print while a test runs: Nest's logger writes to stdout/stderr, libraries to the console. */
class LogCapture {
  private readonly chunks: string[] = [];
  private readonly spies: { mockRestore(): void }[] = [];

  start(): void {
    const keep = (...args: unknown[]) => {
      this.chunks.push(args.map((a) => (Buffer.isBuffer(a) ? a.toString('utf8') : String(a))).join(' '));
      return true;
    };
    for (const stream of [process.stdout, process.stderr]) {
      this.spies.push(jest.spyOn(stream, 'write').mockImplementation(keep as never));
    }
    for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
      this.spies.push(jest.spyOn(console, method).mockImplementation(keep));
    }
  }

  stop(): void {
    for (const spy of this.spies.splice(0)) spy.mockRestore();
  }

  get text(): string {
    return this.chunks.join('\n');
  }
}

const retryFast = { attempts: 2, backoff: 'fixed', delay: '10ms' };

/**
 * The secret store and management API keys: values go in and never come out (API answers,
 * stored rows, queue data, logs), actions still send the real value, and keys work until deleted.
 */
describe('secrets and API keys', () => {
  const TOKEN = `tok-${randomBytes(12).toString('hex')}`;
  // Lower-case letters and digits: it becomes a host name, so it shows up in network error messages.
  const HOST_PART = `h${randomBytes(8).toString('hex')}`;
  const logs = new LogCapture();
  /** Every answer the API gave in this file, to search for the secret values at the end. */
  const answers: string[] = [];
  let hf: HookflowHarness;
  let sink: SinkServer;

  const track = (res: Response): Response => {
    answers.push(JSON.stringify({ headers: res.headers, text: res.text }));
    return res;
  };
  const put = async (name: string, body: unknown) =>
    track(
      await hf
        .http()
        .put(`/api/secrets/${name}`)
        .set(hf.auth)
        .send(body as object),
    );
  const get = async (path: string, auth = hf.auth) => track(await hf.http().get(path).set(auth));

  beforeAll(async () => {
    logs.start();
    sink = await SinkServer.start();
    // Every log line the apps can write, so the search below covers them all.
    hf = await HookflowHarness.start({ env: { LOG_LEVEL: 'verbose' } });
  });

  afterAll(async () => {
    await hf?.close();
    await sink?.close();
    logs.stop();
  });

  describe('secret store', () => {
    it('stores a value and lists names and dates only', async () => {
      expect((await put('TOKEN', { value: TOKEN })).status).toBe(204);
      expect((await put('HOST_PART', { value: 'to be replaced' })).status).toBe(204);
      const first = (await get('/api/secrets')).body.items.find((s: any) => s.name === 'HOST_PART');
      const replaced = await put('HOST_PART', { value: HOST_PART });
      expect(replaced.status).toBe(204);
      expect(replaced.text).toBe('');

      const list = await get('/api/secrets');
      expect(list.status).toBe(200);
      expect(list.body.items.map((s: any) => Object.keys(s).sort())).toEqual([
        ['createdAt', 'name', 'updatedAt'],
        ['createdAt', 'name', 'updatedAt'],
      ]);
      expect(list.body.items.map((s: any) => s.name)).toEqual(['HOST_PART', 'TOKEN']);
      const updated = list.body.items[0];
      expect(updated.createdAt).toBe(first.createdAt);
      expect(Date.parse(updated.updatedAt)).toBeGreaterThan(Date.parse(first.updatedAt));
    });

    it.each([
      ['a name starting with a digit', '1BAD', { value: 'x' }, '/name'],
      ['a name with a dash', 'NOT-OK', { value: 'x' }, '/name'],
      ['a name that is too long', 'A'.repeat(129), { value: 'x' }, '/name'],
      ['no value', 'OK_NAME', {}, '/value'],
      ['a value that is not a string', 'OK_NAME', { value: 42 }, '/value'],
      ['an empty value', 'OK_NAME', { value: '' }, '/value'],
      ['a value over 64 KiB', 'OK_NAME', { value: 'x'.repeat(64 * 1024 + 1) }, '/value'],
    ])('refuses %s with 400 naming the field', async (_, name, body, field) => {
      const res = await put(name, body);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ error: 'invalid_request', details: [{ path: field }] });
      expect(res.body.message).toContain(field.slice(1));
    });

    it('deletes a secret, 404 for an unknown one, 401 without a key', async () => {
      await put('SHORT_LIVED', { value: 'short-lived-value' });
      const longest = `L${'_'.repeat(127)}`;
      expect((await put(longest, { value: 'v' })).status).toBe(204);
      expect((await hf.http().delete(`/api/secrets/${longest}`).set(hf.auth)).status).toBe(204);
      expect((await track(await hf.http().delete('/api/secrets/SHORT_LIVED').set(hf.auth))).status).toBe(204);
      const again = await hf.http().delete('/api/secrets/SHORT_LIVED').set(hf.auth);
      expect(again.status).toBe(404);
      expect(again.body.error).toBe('not_found');
      expect((await get('/api/secrets')).body.items.map((s: any) => s.name)).toEqual(['HOST_PART', 'TOKEN']);
      await hf.http().get('/api/secrets').expect(401);
      await hf.http().put('/api/secrets/X').send({ value: 'v' }).expect(401);
      await hf.http().delete('/api/secrets/TOKEN').expect(401);
    });
  });

  describe('secrets in flows', () => {
    it('sends the real value, and stores what the receiver echoes back redacted', async () => {
      sink.script('/secured', [{ status: 200, body: { echoed: `you sent ${TOKEN}` } }]);
      const { hookPath, flow } = await hf.createFlow({
        slug: 'with-secret',
        trigger: { type: 'webhook' },
        steps: [
          {
            id: 'send',
            type: 'action',
            connector: 'http',
            with: {
              url: `${sink.url}/secured`,
              headers: { Authorization: "Bearer {{secret 'TOKEN'}}" },
              json: { order: '{{trigger.body.id}}', token: "{{secret 'TOKEN'}}" },
            },
          },
          // Reads the echo: it sees the redacted text, never the value.
          { id: 'after', type: 'transform', expression: '{ "seen": body.echoed }' },
        ],
      });
      expect(JSON.stringify(flow)).not.toContain(TOKEN);
      const accepted = track(await hf.http().post(hookPath).send({ id: 'A-1' }));
      expect(accepted.status).toBe(202);

      const [received] = await sink.waitForRequests('/secured', 1);
      expect(received.headers.authorization).toBe(`Bearer ${TOKEN}`);
      expect(received.json).toEqual({ order: 'A-1', token: TOKEN });

      const run = await hf.waitForRun(accepted.body.runId);
      track(await get(`/api/runs/${accepted.body.runId}`));
      expect(run.status).toBe('succeeded');
      expect(run.steps[0].output.body).toEqual({ echoed: 'you sent [secret TOKEN]' });
      expect(run.steps[1].output).toEqual({ seen: 'you sent [secret TOKEN]' });
      track(await get('/api/flows/with-secret'));
      track(await get(`/api/runs?flow=with-secret`));
    });

    it('redacts failed attempts, the failed step and its error message', async () => {
      sink.script('/echo-fail', [
        { status: 500, body: { echoed: TOKEN } },
        { status: 400, body: { echoed: TOKEN } },
      ]);
      const { hookPath } = await hf.createFlow({
        slug: 'failing-with-secret',
        trigger: { type: 'webhook' },
        steps: [
          {
            id: 'echo',
            type: 'action',
            connector: 'http',
            retry: retryFast,
            with: { url: `${sink.url}/echo-fail`, headers: { 'x-token': "{{secret 'TOKEN'}}" } },
          },
        ],
      });
      const res = track(await hf.http().post(hookPath).send({}));
      const run = await hf.waitForRun(res.body.runId);
      track(await get(`/api/runs/${res.body.runId}`));
      expect(run.status).toBe('failed');
      expect(run.steps[0].attempts.map((a: any) => a.outcome)).toEqual(['retrying', 'failed']);
      expect(run.steps[0].output.body).toEqual({ echoed: '[secret TOKEN]' });

      // A secret in the host name reaches the network error message of every attempt.
      const { hookPath: unreachable } = await hf.createFlow({
        slug: 'secret-host',
        trigger: { type: 'webhook' },
        steps: [
          {
            id: 'call',
            type: 'action',
            connector: 'http',
            retry: retryFast,
            timeout: '3s',
            with: { url: "http://{{secret 'HOST_PART'}}.invalid/hook" },
          },
        ],
      });
      const second = track(await hf.http().post(unreachable).send({}));
      const failed = await hf.waitForRun(second.body.runId);
      track(await get(`/api/runs/${second.body.runId}`));
      expect(failed.status).toBe('failed');
      const step = failed.steps[0];
      expect(step.attempts).toHaveLength(2);
      expect(step.error.message).toContain('[secret HOST_PART].invalid');
      for (const attempt of step.attempts) expect(attempt.error.message).toContain('[secret HOST_PART]');
    });

    it('fails a step that uses an unknown secret, naming it', async () => {
      const { hookPath } = await hf.createFlow({
        slug: 'missing-secret',
        trigger: { type: 'webhook' },
        steps: [
          {
            id: 'send',
            type: 'action',
            connector: 'http',
            with: { url: `${sink.url}/never`, headers: { Authorization: "Bearer {{secret 'NOT_STORED'}}" } },
          },
        ],
      });
      const res = track(await hf.http().post(hookPath).send({}));
      const run = await hf.waitForRun(res.body.runId);
      expect(run.status).toBe('failed');
      expect(run.steps[0].error).toMatchObject({ code: 'template_error', retryable: false });
      expect(run.steps[0].error.message).toContain("secret 'NOT_STORED' is not defined");
      expect(sink.received('/never')).toHaveLength(0);
    });

    it('masks secrets in dry runs of saved and unsaved flows', async () => {
      const saved = track(
        await hf
          .http()
          .post('/api/flows/with-secret/test')
          .set(hf.auth)
          .send({ body: { id: 'D' } }),
      );
      expect(saved.status).toBe(200);
      expect(saved.body.steps[0].request.headers).toEqual({ Authorization: 'Bearer [secret TOKEN]' });
      const definition = {
        slug: 'unsaved-secret',
        trigger: { type: 'webhook' },
        steps: [
          {
            id: 'send',
            type: 'action',
            connector: 'http',
            with: { url: `${sink.url}/dry`, query: { key: "{{secret 'TOKEN'}}" } },
          },
        ],
      };
      const unsaved = track(
        await hf.http().post('/api/flows/test').set(hf.auth).send({ definition, body: {} }),
      );
      expect(unsaved.status).toBe(200);
      expect(unsaved.body.steps[0].request.query).toEqual({ key: '[secret TOKEN]' });
      expect(sink.received('/dry')).toHaveLength(0);
    });
  });

  describe('API keys', () => {
    it('creates a key shown once, lists it without the key, and refuses it once deleted', async () => {
      const created = track(
        await hf.http().post('/api/keys').set(hf.auth).send({ name: 'ci deploys', scope: 'admin' }),
      );
      expect(created.status).toBe(201);
      expect(created.body).toEqual({
        id: expect.any(String),
        name: 'ci deploys',
        scope: 'admin',
        key: expect.stringMatching(/^hfk_[A-Za-z0-9_-]{43}$/),
        createdAt: expect.any(String),
      });
      const { id, key } = created.body;
      const bearer = { authorization: `Bearer ${key}` };

      expect((await get('/api/flows', bearer)).status).toBe(200);
      // An admin key can manage keys too, like the bootstrap one.
      const listed = await waitFor(
        async () => {
          const res = await get('/api/keys', bearer);
          const item = res.body.items.find((k: any) => k.id === id);
          return item?.lastUsedAt ? res : undefined;
        },
        { what: 'the key to be listed with its last use' },
      );
      expect(listed.body.items).toEqual([
        {
          id,
          name: 'ci deploys',
          scope: 'admin',
          createdAt: created.body.createdAt,
          lastUsedAt: expect.any(String),
        },
      ]);
      expect(listed.text).not.toContain(key);

      expect((await track(await hf.http().delete(`/api/keys/${id}`).set(hf.auth))).status).toBe(204);
      // At once: the positive cache of this replica is dropped with the key.
      const refused = await get('/api/flows', bearer);
      expect(refused.status).toBe(401);
      expect(refused.headers['www-authenticate']).toBe('Bearer');
      expect((await hf.http().delete(`/api/keys/${id}`).set(hf.auth)).status).toBe(404);
      expect((await hf.http().delete('/api/keys/not-a-uuid').set(hf.auth)).status).toBe(404);
      expect((await get('/api/keys')).body.items).toEqual([]);
    });

    it('keeps the bootstrap key working and refuses look-alikes', async () => {
      expect((await get('/api/keys')).status).toBe(200);
      const created = track(await hf.http().post('/api/keys').set(hf.auth).send({ name: 'other' }));
      const key: string = created.body.key;
      const changed = key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A');
      for (const wrong of [
        changed,
        key.slice(0, -1),
        `${key}x`,
        key.slice(4),
        'hfk_',
        `hfk_${'A'.repeat(43)}`,
      ]) {
        expect((await get('/api/flows', { authorization: `Bearer ${wrong}` })).status).toBe(401);
      }
      expect((await get('/api/flows', { authorization: key })).status).toBe(401);
      expect((await get('/api/flows', { authorization: `Bearer ${key}` })).status).toBe(200);
      await hf.http().delete(`/api/keys/${created.body.id}`).set(hf.auth).expect(204);
    });

    it.each([
      ['no name', {}],
      ['an empty name', { name: '  ' }],
      ['a name that is not a string', { name: 7 }],
    ])('refuses %s with 400 naming the field', async (_, body) => {
      const res = await hf.http().post('/api/keys').set(hf.auth).send(body);
      expect(res.status).toBe(400);
      expect(res.body.details).toEqual([{ path: '/name', message: expect.any(String) }]);
    });

    it('needs a key to manage keys', async () => {
      await hf.http().get('/api/keys').expect(401);
      await hf.http().post('/api/keys').send({ name: 'x' }).expect(401);
    });
  });

  describe('where secret values must never be', () => {
    const values = () => [TOKEN, HOST_PART];

    it('is in no API answer', () => {
      expect(answers.length).toBeGreaterThan(20);
      const all = answers.join('\n');
      for (const value of values()) expect(all).not.toContain(value);
    });

    it('is in no stored row of any table', async () => {
      const ds = hf.api.get(DataSource);
      const tables: { table_name: string }[] = await ds.query(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE'`,
        [hf.id],
      );
      const names = tables.map((t) => t.table_name);
      expect(names).toEqual(
        expect.arrayContaining(['events', 'runs', 'step_runs', 'step_attempts', 'secrets', 'api_keys']),
      );
      for (const table of names) {
        const rows: Record<string, unknown>[] = await ds.query(`SELECT * FROM "${hf.id}"."${table}"`);
        // bytea columns come back as Buffers: searched as raw bytes too.
        const text = JSON.stringify(rows, (_, v) =>
          v && v.type === 'Buffer' && Array.isArray(v.data) ? Buffer.from(v.data).toString('latin1') : v,
        );
        for (const value of values())
          expect({ table, found: text.includes(value) }).toEqual({ table, found: false });
      }
      const secrets: { name: string; iv: Buffer; auth_tag: Buffer }[] = await ds.query(
        `SELECT name, iv, auth_tag FROM "${hf.id}".secrets ORDER BY name`,
      );
      expect(secrets.map((s) => [s.name, s.iv.length, s.auth_tag.length])).toEqual([
        ['HOST_PART', 12, 16],
        ['TOKEN', 12, 16],
      ]);
    });

    it('is in no queue entry (failed-attempt reasons included)', async () => {
      const redis = new Redis(hf.config.redisUrl!);
      try {
        const keys = await redis.keys(`${hf.id}:*`);
        expect(keys.length).toBeGreaterThan(0);
        const dump: string[] = [];
        for (const key of keys) {
          const type = await redis.type(key);
          if (type === 'hash') dump.push(JSON.stringify(await redis.hgetall(key)));
          else if (type === 'string') dump.push((await redis.get(key)) ?? '');
          else if (type === 'list') dump.push(JSON.stringify(await redis.lrange(key, 0, -1)));
          else if (type === 'zset') dump.push(JSON.stringify(await redis.zrange(key, 0, -1)));
          else if (type === 'set') dump.push(JSON.stringify(await redis.smembers(key)));
          else if (type === 'stream') dump.push(JSON.stringify(await redis.xrange(key, '-', '+')));
        }
        const all = dump.join('\n');
        expect(all).toContain('[secret HOST_PART]');
        for (const value of values()) expect(all).not.toContain(value);
      } finally {
        redis.disconnect();
      }
    });

    it('is in no log line', () => {
      const text = logs.text;
      // The capture works: the worker logged the failures above, redacted.
      expect(text).toContain('NOT_STORED');
      expect(text).toContain('[secret HOST_PART]');
      for (const value of values()) expect(text).not.toContain(value);
    });
  });
});

describe('secrets without HOOKFLOW_MASTER_KEY', () => {
  let hf: HookflowHarness;
  let sink: SinkServer;

  beforeAll(async () => {
    sink = await SinkServer.start();
    hf = await HookflowHarness.start({ env: { HOOKFLOW_MASTER_KEY: '' } });
  });

  afterAll(async () => {
    await hf?.close();
    await sink?.close();
  });

  it('answers 503 on the secrets endpoints, naming the variable', async () => {
    for (const req of [
      hf.http().put('/api/secrets/TOKEN').set(hf.auth).send({ value: 'v' }),
      hf.http().get('/api/secrets').set(hf.auth),
      hf.http().delete('/api/secrets/TOKEN').set(hf.auth),
    ]) {
      const res = await req;
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({
        error: 'unavailable',
        message: expect.stringContaining('HOOKFLOW_MASTER_KEY'),
      });
    }
  });

  it('fails a step that needs a secret, clearly, and runs flows that need none', async () => {
    const { hookPath } = await hf.createFlow({
      slug: 'needs-secret',
      trigger: { type: 'webhook' },
      steps: [
        { id: 'plain', type: 'action', connector: 'http', with: { url: `${sink.url}/plain` } },
        {
          id: 'secret',
          type: 'action',
          connector: 'http',
          with: { url: `${sink.url}/secret`, headers: { 'x-token': "{{secret 'TOKEN'}}" } },
        },
      ],
    });
    const res = await hf.http().post(hookPath).send({}).expect(202);
    const run = await hf.waitForRun(res.body.runId);
    expect(run.steps.map((s: any) => s.status)).toEqual(['succeeded', 'failed']);
    expect(run.steps[1].error).toMatchObject({ code: 'invalid_config', retryable: false });
    expect(run.steps[1].error.message).toMatch(/'TOKEN'.*HOOKFLOW_MASTER_KEY/);
    expect(sink.received('/secret')).toHaveLength(0);
  });
});
