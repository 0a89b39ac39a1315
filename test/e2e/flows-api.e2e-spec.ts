import { HookflowHarness } from '../utils/hookflow-harness';

const flow = (slug: string, expression = '$') => ({
  slug,
  name: `Flow ${slug}`,
  trigger: { type: 'webhook' },
  steps: [{ id: 'shape', type: 'transform', expression }],
});

/** The management API: auth, validation errors with JSON pointers, versions, runs listing. */
describe('management API', () => {
  let hf: HookflowHarness;

  beforeAll(async () => {
    hf = await HookflowHarness.start({ worker: false });
  });

  afterAll(async () => {
    await hf?.close();
  });

  it('needs the API key', async () => {
    expect((await hf.http().get('/api/flows').expect(401)).body.error).toBe('unauthorized');
    await hf.http().get('/api/flows').set('authorization', 'Bearer wrong-key-0123456789').expect(401);
    await hf.http().get('/api/runs').set('authorization', hf.apiKey).expect(401);
    await hf.http().get('/api/flows').set(hf.auth).expect(200);
  });

  it('answers health checks without a key', async () => {
    expect((await hf.http().get('/health/live').expect(200)).body).toEqual({ status: 'ok' });
    expect((await hf.http().get('/health/ready').expect(200)).body).toMatchObject({
      database: 'ok',
      queue: 'ok',
    });
  });

  it('creates a flow with an unguessable trigger URL', async () => {
    const res = await hf.http().post('/api/flows').set(hf.auth).send(flow('created')).expect(201);
    expect(res.body).toMatchObject({
      slug: 'created',
      version: 1,
      enabled: true,
      source: 'api',
      name: 'Flow created',
    });
    const key = new URL(res.body.triggerUrl).pathname.split('/').pop()!;
    expect(Buffer.from(key, 'base64url').length).toBeGreaterThanOrEqual(16);
    expect(
      (await hf.http().post('/api/flows').set(hf.auth).send(flow('created')).expect(409)).body.error,
    ).toBe('conflict');
  });

  it.each([
    ['a bad slug', { ...flow('x'), slug: 'Bad Slug' }, '/slug'],
    [
      'a step without its expression',
      { ...flow('y'), steps: [{ id: 'a', type: 'transform' }] },
      '/steps/0/expression',
    ],
    [
      'needs naming an unknown step',
      { ...flow('z'), steps: [{ id: 'a', type: 'transform', expression: '$', needs: ['nope'] }] },
      '/steps/0/needs/0',
    ],
    ['a JSONata syntax error', flow('w', '{ unclosed'), '/steps/0/expression'],
    [
      'an unknown connector',
      { ...flow('v'), steps: [{ id: 'a', type: 'action', connector: 'carrier-pigeon', with: {} }] },
      '/steps/0/connector',
    ],
  ])('refuses %s with 400 invalid_flow and the JSON pointer', async (_what, doc, path) => {
    const res = await hf.http().post('/api/flows').set(hf.auth).send(doc).expect(400);
    expect(res.body.error).toBe('invalid_flow');
    expect(res.body.details).toEqual(expect.arrayContaining([expect.objectContaining({ path })]));
    const validated = await hf.http().post('/api/flows/validate').set(hf.auth).send(doc).expect(400);
    expect(validated.body.details).toEqual(res.body.details);
  });

  it('validates without saving', async () => {
    expect(
      (await hf.http().post('/api/flows/validate').set(hf.auth).send(flow('dry')).expect(200)).body.valid,
    ).toBe(true);
    await hf.http().get('/api/flows/dry').set(hf.auth).expect(404);
  });

  it('makes a new immutable version on change, and none when nothing changed', async () => {
    const created = await hf.http().post('/api/flows').set(hf.auth).send(flow('versioned', '$')).expect(201);
    const { hookPath } = { hookPath: new URL(created.body.triggerUrl).pathname };
    const first = await hf.http().post(hookPath).send({}).expect(202);

    const v2 = await hf
      .http()
      .put('/api/flows/versioned')
      .set(hf.auth)
      .send(flow('versioned', "{ 'v': 2 }"))
      .expect(200);
    expect(v2.body.version).toBe(2);
    const same = await hf
      .http()
      .put('/api/flows/versioned')
      .set(hf.auth)
      .send(flow('versioned', "{ 'v': 2 }"))
      .expect(200);
    expect(same.body.version).toBe(2);
    const second = await hf.http().post(hookPath).send({}).expect(202);

    const versions = await hf.http().get('/api/flows/versioned/versions').set(hf.auth).expect(200);
    expect(versions.body.items.map((v: any) => v.version)).toEqual([2, 1]);
    const v1 = await hf.http().get('/api/flows/versioned/versions/1').set(hf.auth).expect(200);
    expect(v1.body.definition.steps[0].expression).toBe('$');
    expect((await hf.getRun(first.body.runId)).version).toBe(1);
    expect((await hf.getRun(second.body.runId)).version).toBe(2);

    const mismatch = await hf.http().put('/api/flows/versioned').set(hf.auth).send(flow('other')).expect(400);
    expect(mismatch.body.details[0].path).toBe('/slug');
  });

  it('pages flows and runs with cursors and filters runs', async () => {
    for (const slug of ['page-a', 'page-b', 'page-c'])
      await hf.http().post('/api/flows').set(hf.auth).send(flow(slug)).expect(201);
    const flows: string[] = [];
    let cursor: string | null = null;
    do {
      const res: any = await hf
        .http()
        .get('/api/flows')
        .query({ limit: 2, ...(cursor ? { cursor } : {}) })
        .set(hf.auth)
        .expect(200);
      flows.push(...res.body.items.map((f: any) => f.slug));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(flows).toEqual([...flows].sort());
    expect(flows).toEqual(expect.arrayContaining(['page-a', 'page-b', 'page-c']));

    const { body } = await hf.http().get('/api/flows/page-a').set(hf.auth).expect(200);
    const hookPath = new URL(body.triggerUrl).pathname;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await hf.http().post(hookPath).send({ i }).expect(202)).body.runId);

    const seen: string[] = [];
    cursor = null;
    do {
      const res: any = await hf
        .http()
        .get('/api/runs')
        .query({ flow: 'page-a', limit: 2, ...(cursor ? { cursor } : {}) })
        .set(hf.auth)
        .expect(200);
      seen.push(...res.body.items.map((r: any) => r.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());

    const queued = await hf
      .http()
      .get('/api/runs')
      .query({ flow: 'page-a', status: 'queued' })
      .set(hf.auth)
      .expect(200);
    expect(queued.body.items).toHaveLength(5);
    const none = await hf
      .http()
      .get('/api/runs')
      .query({ flow: 'page-a', status: 'failed' })
      .set(hf.auth)
      .expect(200);
    expect(none.body.items).toHaveLength(0);
    expect(
      (await hf.http().get('/api/runs?status=bogus').set(hf.auth).expect(400)).body.details[0].path,
    ).toBe('/status');
    await hf.http().get('/api/runs?cursor=garbage').set(hf.auth).expect(400);
    await hf.http().get('/api/flows?cursor=Z2FyYmFnZSE').set(hf.auth).expect(400);
    await hf.http().get('/api/runs?limit=0').set(hf.auth).expect(400);
    await hf.http().get('/api/runs/00000000-0000-4000-8000-000000000000').set(hf.auth).expect(404);
  });

  it('answers a body that is not JSON with 400', async () => {
    const res = await hf
      .http()
      .post('/api/flows')
      .set(hf.auth)
      .set('content-type', 'application/json')
      .send('{oops')
      .expect(400);
    expect(res.body).toMatchObject({ error: 'invalid_body' });
  });
});
