import { hashApiKey, newApiKey } from '@hookflow/store';
import { randomUUID } from 'node:crypto';
import type { Test } from 'supertest';
import { DataSource } from 'typeorm';
import { HookflowHarness } from '../utils/hookflow-harness';

const flowDoc = (slug: string) => ({
  slug,
  trigger: { type: 'webhook' },
  steps: [{ id: 'noop', type: 'transform', expression: '$' }],
});

/** API key scopes: read only GETs, write also changes flows, runs and secrets, admin also manages keys. */
describe('API key scopes', () => {
  let hf: HookflowHarness;
  const keys: Record<'read' | 'write' | 'admin', string> = { read: '', write: '', admin: '' };
  const as = (key: string, req: Test) => req.set('authorization', `Bearer ${key}`);

  async function mint(scope: string | undefined, by = hf.apiKey): Promise<{ status: number; body: any }> {
    const body = scope === undefined ? { name: 'unscoped' } : { name: `${scope} key`, scope };
    const res = await as(by, hf.http().post('/api/keys')).send(body);
    return { status: res.status, body: res.body };
  }

  function expectScopeRefusal(
    res: { status: number; body: any; headers: Record<string, string> },
    needed: string,
  ) {
    expect(res.status).toBe(403);
    expect(res.body).toEqual({
      error: 'insufficient_scope',
      message: expect.stringContaining(`'${needed}' scope`),
      details: [],
    });
    expect(res.headers['www-authenticate']).toBe(`Bearer error="insufficient_scope", scope="${needed}"`);
  }

  beforeAll(async () => {
    hf = await HookflowHarness.start({ worker: false });
    await hf.createFlow(flowDoc('existing'));
    for (const scope of ['read', 'write', 'admin'] as const) {
      const created = await mint(scope);
      expect(created).toMatchObject({ status: 201, body: { scope } });
      keys[scope] = created.body.key;
    }
  });

  afterAll(async () => {
    await hf?.close();
  });

  it('lets a read key GET and nothing else', async () => {
    for (const path of ['/api/flows', '/api/flows/existing', '/api/runs', '/api/secrets']) {
      expect({ path, status: (await as(keys.read, hf.http().get(path))).status }).toEqual({
        path,
        status: 200,
      });
    }
    expectScopeRefusal(await as(keys.read, hf.http().post('/api/flows')).send(flowDoc('by-reader')), 'write');
    expectScopeRefusal(await as(keys.read, hf.http().put('/api/secrets/X')).send({ value: 'v' }), 'write');
    expectScopeRefusal(
      await as(keys.read, hf.http().post('/api/flows/validate')).send(flowDoc('v')),
      'write',
    );
    expectScopeRefusal(await as(keys.read, hf.http().delete('/api/flows/existing')), 'write');
    expectScopeRefusal(await as(keys.read, hf.http().get('/api/keys')), 'admin');
    await hf.http().get('/api/flows/existing').set(hf.auth).expect(200);
  });

  it('lets a write key change flows, runs and secrets, and sync flow files', async () => {
    await as(keys.write, hf.http().post('/api/flows')).send(flowDoc('by-writer')).expect(201);
    await as(keys.write, hf.http().patch('/api/flows/by-writer')).send({ enabled: false }).expect(200);
    await as(keys.write, hf.http().put('/api/secrets/WRITTEN')).send({ value: 'v' }).expect(204);
    await as(keys.write, hf.http().post('/api/flows/sync'))
      .send({ files: [{ path: 'flows/synced.flow.json', definition: flowDoc('synced') }], dryRun: true })
      .expect(200);
    await as(keys.write, hf.http().delete('/api/flows/by-writer')).expect(204);
  });

  it('lets a write key mint no key, of any scope, nor list or delete keys', async () => {
    for (const scope of ['admin', 'write', 'read', undefined]) {
      const res = await as(keys.write, hf.http().post('/api/keys')).send({
        name: 'x',
        ...(scope ? { scope } : {}),
      });
      expectScopeRefusal(res, 'admin');
    }
    expectScopeRefusal(await as(keys.write, hf.http().get('/api/keys')), 'admin');
    expectScopeRefusal(await as(keys.write, hf.http().delete(`/api/keys/${randomUUID()}`)), 'admin');
  });

  it('lets an admin key mint keys of every scope, read by default, and list them with their scope', async () => {
    const made = await Promise.all([
      mint('admin', keys.admin),
      mint('read', keys.admin),
      mint(undefined, keys.admin),
    ]);
    expect(made.map((m) => [m.status, m.body.scope])).toEqual([
      [201, 'admin'],
      [201, 'read'],
      [201, 'read'],
    ]);
    const listed = await as(keys.admin, hf.http().get('/api/keys')).expect(200);
    const scopes = Object.fromEntries(listed.body.items.map((k: any) => [k.id, k.scope]));
    for (const m of made) expect(scopes[m.body.id]).toBe(m.body.scope);
    // A key made by the admin key works with its own scope.
    expectScopeRefusal(
      await as(made[2].body.key, hf.http().post('/api/flows')).send(flowDoc('nope')),
      'write',
    );
    await as(keys.admin, hf.http().delete(`/api/keys/${made[0].body.id}`)).expect(204);
  });

  it('refuses an unknown scope with 400 naming the field', async () => {
    const res = await mint('owner');
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'invalid_request', details: [{ path: '/scope' }] });
  });

  it('answers 401 before any scope question', async () => {
    const res = await hf.http().get('/api/keys').set('authorization', 'Bearer hfk_not-a-key');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
  });

  it('keeps a key made before scopes existed working as admin', async () => {
    // What the previous release inserts: no scope column in its statement.
    const key = newApiKey();
    const ds = hf.api.get(DataSource);
    await ds.query(`INSERT INTO api_keys (id, name, key_hash, created_at) VALUES ($1, 'old', $2, now())`, [
      randomUUID(),
      hashApiKey(key),
    ]);
    const listed = await as(key, hf.http().get('/api/keys')).expect(200);
    expect(listed.body.items.find((k: any) => k.name === 'old')).toMatchObject({ scope: 'admin' });
    expect((await mint('admin', key)).status).toBe(201);
  });
});
