import { HookflowHarness } from '../utils/hookflow-harness';

const flowDoc = (slug: string) => ({
  slug,
  trigger: { type: 'webhook' },
  steps: [{ id: 'noop', type: 'transform', expression: '$' }],
});

/** A field no /api endpoint knows is a 400 naming it, never silently ignored. */
describe('unknown fields in request bodies', () => {
  let hf: HookflowHarness;

  beforeAll(async () => {
    hf = await HookflowHarness.start({ worker: false });
    await hf.createFlow(flowDoc('bodies'));
  });

  afterAll(async () => {
    await hf?.close();
  });

  it.each<[string, 'post' | 'put' | 'patch', string, object, string[]]>([
    ['a role on a new key', 'post', '/api/keys', { name: 'ci', role: 'admin' }, ['/role']],
    [
      'a misspelt flag on a flow',
      'patch',
      '/api/flows/bodies',
      { enabled: false, enabeld: true },
      ['/enabeld'],
    ],
    [
      'a second field beside a secret',
      'put',
      '/api/secrets/BODY_TEST',
      { value: 'v', valeu: 'w' },
      ['/valeu'],
    ],
    [
      'misspelt sync options and a field in a file',
      'post',
      '/api/flows/sync',
      { files: [{ path: 'flows/a.flow.json', definition: flowDoc('a'), owner: 'me' }], dryrun: true },
      ['/dryrun', '/files/0/owner'],
    ],
    [
      'a misspelt part of a sample request',
      'post',
      '/api/flows/bodies/test',
      { body: {}, header: {} },
      ['/header'],
    ],
    [
      'a payload beside an unsaved flow',
      'post',
      '/api/flows/test',
      { definition: flowDoc('unsaved'), payload: {} },
      ['/payload'],
    ],
    [
      'a list where one status goes',
      'post',
      '/api/runs/retry',
      { flow: 'bodies', statuses: ['failed'] },
      ['/statuses'],
    ],
    [
      'a body where the endpoint takes none',
      'post',
      '/api/runs/00000000-0000-4000-8000-000000000000/replay',
      { version: 'latest' },
      ['/version'],
    ],
  ])('refuses %s', async (_name, method, path, body, pointers) => {
    const res = await hf.http()[method](path).set(hf.auth).send(body);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
    expect(res.body.details.map((d: { path: string }) => d.path).sort()).toEqual(pointers);
    for (const pointer of pointers) expect(res.body.message).toContain(pointer.slice(1));
  });

  it('changed nothing on the way', async () => {
    const keys = await hf.http().get('/api/keys').set(hf.auth).expect(200);
    expect(keys.body.items).toEqual([]);
    const flow = await hf.http().get('/api/flows/bodies').set(hf.auth).expect(200);
    expect(flow.body.enabled).toBe(true);
    const secrets = await hf.http().get('/api/secrets').set(hf.auth).expect(200);
    expect(secrets.body.items).toEqual([]);
  });

  it('refuses an unknown field in a flow document by the flow schema, naming it', async () => {
    const res = await hf
      .http()
      .post('/api/flows')
      .set(hf.auth)
      .send({ ...flowDoc('coloured'), colour: 'red' });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_flow');
    expect(res.body.details).toEqual([expect.objectContaining({ path: '/colour' })]);
  });

  it('leaves the free-form parts of a body alone', async () => {
    await hf
      .http()
      .post('/api/flows/bodies/test')
      .set(hf.auth)
      .send({ body: { role: 'anything' }, headers: { 'x-any': '1' }, query: { any: 'thing' } })
      .expect(200);
    await hf
      .http()
      .post('/api/runs/00000000-0000-4000-8000-000000000000/retry')
      .set(hf.auth)
      .send({})
      .expect(404);
  });

  it('asks for a key before it says anything about fields', async () => {
    await hf.http().post('/api/keys').send({ name: 'x', role: 'admin' }).expect(401);
  });
});

/** The key is checked before the body is read: without one, nothing of it is parsed. */
describe('request bodies without a key', () => {
  let hf: HookflowHarness;

  beforeAll(async () => {
    hf = await HookflowHarness.start({ worker: false });
  });

  afterAll(async () => {
    await hf?.close();
  });

  it.each([
    ['/api/flows/sync', 'x'.repeat(2 * 1024 * 1024)],
    ['/api/flows', '{ not json'],
    ['/api/keys', '{"name":"\\u0000"}'],
  ])('POST %s answers 401 before its body is looked at', async (url, body) => {
    const res = await hf.http().post(url).set('content-type', 'application/json').send(body);
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ error: 'unauthorized' });
    expect(res.headers['www-authenticate']).toBe('Bearer');
  });

  it('still reads the body of a request with a key', async () => {
    const res = await hf
      .http()
      .post('/api/flows')
      .set(hf.auth)
      .set('content-type', 'application/json')
      .send('{ not json');
    expect(res.status).toBe(400);
  });
});
