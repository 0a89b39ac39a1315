import { HookflowHarness } from '../utils/hookflow-harness';

/** POST /api/flows/:slug/events/:eventId/replay: a refused request, run as if it had been accepted. */
describe('replay of a refused request', () => {
  let hf: HookflowHarness;
  let hookPath: string;

  beforeAll(async () => {
    hf = await HookflowHarness.start();
    // The secret is not in the store: every request fails verification (401 signature_mismatch).
    ({ hookPath } = await hf.createFlow({
      slug: 'signed',
      trigger: { type: 'webhook', verify: { scheme: 'stripe', secret: 'STRIPE_WHSEC' } },
      steps: [{ id: 'echo', type: 'transform', expression: '{ "order": order, "q": $trigger.query.src }' }],
    }));
  });

  afterAll(async () => {
    await hf?.close();
  });

  const refusals = async () =>
    (await hf.http().get('/api/flows/signed/events?accepted=false').set(hf.auth).expect(200)).body.items;
  const replay = (slug: string, eventId: string) =>
    hf.http().post(`/api/flows/${slug}/events/${eventId}/replay`).set(hf.auth);

  it('starts a run of the current version from the stored body, headers and query', async () => {
    await hf
      .http()
      .post(`${hookPath}?src=shop`)
      .set('stripe-signature', 't=1,v1=forged')
      .send({ order: 7 })
      .expect(401);
    const [refused] = await refusals();
    expect(refused).toMatchObject({ accepted: false, reason: 'signature_mismatch', runId: null });

    const res = await replay('signed', refused.id).expect(202);
    expect(res.headers.location).toBe(`/api/runs/${res.body.runId}`);
    const run = await hf.waitForRun(res.body.runId);
    expect(run.status).toBe('succeeded');
    expect(run.steps[0].output).toEqual({ order: 7, q: 'shop' });
    expect(run.event).toMatchObject({ method: 'POST', body: { order: 7 } });
    // The signature header stays redacted, as ingress stored it.
    expect(run.event.headers['stripe-signature']).toBe('[redacted]');
  });

  it('answers 409 saying why for a request whose body was not kept, or that started a run', async () => {
    await hf
      .http()
      .post(hookPath)
      .set('stripe-signature', 't=1,v1=forged')
      .send({ big: 'x'.repeat(5000) })
      .expect(401);
    const [long] = await refusals();
    const tooLong = await replay('signed', long.id).expect(409);
    expect(tooLong.body).toMatchObject({ error: 'conflict' });
    expect(tooLong.body.message).toMatch(/4096 bytes/);

    const { hookPath: openPath } = await hf.createFlow({
      slug: 'open',
      trigger: { type: 'webhook', methods: ['POST'] },
      steps: [{ id: 'noop', type: 'transform', expression: '$' }],
    });
    await hf.http().put(openPath).send({}).expect(405);
    const accepted = await hf.http().post(openPath).send({ a: 1 }).expect(202);
    const events = (await hf.http().get('/api/flows/open/events').set(hf.auth).expect(200)).body.items;
    const head = events.find((e: { reason: string }) => e.reason === 'method_not_allowed');
    expect((await replay('open', head.id).expect(409)).body.message).toMatch(/before its body was read/);
    const started = events.find((e: { accepted: boolean }) => e.accepted);
    const again = await replay('open', started.id).expect(409);
    expect(again.body.message).toContain(`/api/runs/${accepted.body.runId}/replay`);
  });

  it('answers 409 flow_disabled for a disabled flow and 404 for an unknown event or flow', async () => {
    const [refused] = await refusals();
    await hf.http().patch('/api/flows/signed').set(hf.auth).send({ enabled: false }).expect(200);
    expect((await replay('signed', refused.id).expect(409)).body.error).toBe('flow_disabled');
    await hf.http().patch('/api/flows/signed').set(hf.auth).send({ enabled: true }).expect(200);
    await replay('signed', '00000000-0000-4000-8000-000000000000').expect(404);
    await replay('signed', 'not-a-uuid').expect(404);
    await replay('no-such-flow', refused.id).expect(404);
    // Another flow's event is not this flow's.
    await replay('open', refused.id).expect(404);
  });

  it('needs a write key', async () => {
    const { body: key } = await hf
      .http()
      .post('/api/keys')
      .set(hf.auth)
      .send({ name: 'reader', scope: 'read' })
      .expect(201);
    const [refused] = await refusals();
    await hf
      .http()
      .post(`/api/flows/signed/events/${refused.id}/replay`)
      .set({ authorization: `Bearer ${key.key}` })
      .expect(403);
  });
});
