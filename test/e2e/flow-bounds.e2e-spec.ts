import { HookflowHarness } from '../utils/hookflow-harness';

/** Bounds of a flow, refused at save time with the JSON pointer (issue 15, item 4). */
describe('flow bounds over the management API', () => {
  let hf: HookflowHarness;

  beforeAll(async () => {
    // Webhooks may be large here; the flow endpoints keep their own limit all the same.
    hf = await HookflowHarness.start({ worker: false, env: { MAX_BODY_BYTES: String(32 * 1024 * 1024) } });
  });

  afterAll(async () => {
    await hf?.close();
  });

  const flow = (step: Record<string, unknown>) => ({
    slug: 'bounded',
    trigger: { type: 'webhook' },
    steps: [{ id: 'a', type: 'transform', expression: '$', ...step }],
  });

  it.each([
    ['a timeout of 999d', { timeout: '999d' }, '/steps/0/timeout', 'must be at most 1h'],
    [
      'a delay of 99999999d',
      { type: 'delay', expression: undefined, for: '99999999d' },
      '/steps/0/for',
      'must be at most 365d',
    ],
    ['101 attempts', { retry: { attempts: 101 } }, '/steps/0/retry/attempts', 'must be at most 100'],
  ])('refuses %s on create, replace and validate', async (_name, step, path, message) => {
    const doc = flow(step);
    for (const call of [
      hf.http().post('/api/flows').set(hf.auth).send(doc),
      hf.http().post('/api/flows/validate').set(hf.auth).send(doc),
      hf.http().put('/api/flows/bounded').set(hf.auth).send(doc),
    ]) {
      const res = await call.expect(400);
      expect(res.body).toMatchObject({ error: 'invalid_flow', details: [{ path, message }] });
    }
  });

  it('refuses 15,000 steps with one error naming the limit', async () => {
    const steps = Array.from({ length: 15_000 }, (_, i) => ({
      id: `s${i}`,
      type: 'transform',
      expression: '$',
    }));
    const res = await hf
      .http()
      .post('/api/flows/validate')
      .set(hf.auth)
      .send({ slug: 'huge', trigger: { type: 'webhook' }, steps })
      .expect(400);
    expect(res.body.details).toEqual([
      { path: '/steps', message: 'has 15000 steps; a flow may have at most 500' },
    ]);
  });

  it('refuses a definition body over 4 MiB with 413, whatever MAX_BODY_BYTES allows webhooks', async () => {
    const doc = { ...flow({}), description: 'x'.repeat(4 * 1024 * 1024) };
    const res = await hf.http().post('/api/flows').set(hf.auth).send(doc).expect(413);
    expect(res.body).toMatchObject({
      error: 'payload_too_large',
      message: 'request body is larger than the 4194304 bytes this endpoint accepts',
    });
  });

  it('refuses a definition over 1 MiB of JSON that fits the body limit, naming the limit', async () => {
    const doc = { ...flow({}), description: 'x'.repeat(1024 * 1024) };
    const res = await hf.http().post('/api/flows/validate').set(hf.auth).send(doc).expect(400);
    expect(res.body.details).toEqual([{ path: '', message: 'is larger than 1 MiB as JSON' }]);
  });
});
