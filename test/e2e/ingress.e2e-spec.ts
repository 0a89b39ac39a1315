import { DataSource } from 'typeorm';
import { HookflowHarness } from '../utils/hookflow-harness';
import { waitFor } from '../utils/wait-for';

/** What the trigger URL refuses, and that a refusal starts nothing. */
describe('trigger ingress', () => {
  let hf: HookflowHarness;
  let hookPath: string;

  beforeAll(async () => {
    hf = await HookflowHarness.start({ worker: false });
    ({ hookPath } = await hf.createFlow({
      slug: 'ingress',
      trigger: { type: 'webhook', methods: ['POST', 'PUT'], maxBodyBytes: 1024 },
      steps: [{ id: 'noop', type: 'transform', expression: '$' }],
    }));
  });

  afterAll(async () => {
    await hf?.close();
  });

  async function runCount(): Promise<number> {
    const res = await hf.http().get('/api/runs?flow=ingress&limit=200').set(hf.auth).expect(200);
    return res.body.items.length;
  }

  it('answers 202 with the run and event ids once both are stored', async () => {
    const res = await hf.http().put(hookPath).send({ a: 1 }).expect(202);
    expect(res.body).toEqual({ runId: expect.any(String), eventId: expect.any(String) });
    const run = await hf.getRun(res.body.runId);
    expect(run).toMatchObject({ status: 'queued', flow: 'ingress', version: 1 });
    expect(run.event).toMatchObject({ id: res.body.eventId, method: 'PUT', body: { a: 1 } });
  });

  it('refuses malformed JSON with 400 and stores no run', async () => {
    const before = await runCount();
    const res = await hf
      .http()
      .post(hookPath)
      .set('content-type', 'application/json')
      .send('{"a": ')
      .expect(400);
    expect(res.body).toMatchObject({ error: 'invalid_body', message: expect.stringContaining('JSON') });
    expect(await runCount()).toBe(before);
  });

  it('refuses malformed XML with 400', async () => {
    const res = await hf.http().post(hookPath).set('content-type', 'text/xml').send('<a><b></a>').expect(400);
    expect(res.body.error).toBe('invalid_body');
  });

  it("stores an XML body with the trigger's xmlArrays elements as arrays, even alone", async () => {
    const { hookPath: xmlPath } = await hf.createFlow({
      slug: 'xml-arrays',
      trigger: { type: 'webhook', xmlArrays: ['item'] },
      steps: [{ id: 'noop', type: 'transform', expression: '$' }],
    });
    const res = await hf
      .http()
      .post(xmlPath)
      .set('content-type', 'application/xml')
      .send('<order><item sku="X">2</item><note>n</note></order>')
      .expect(202);
    const run = await hf.getRun(res.body.runId);
    expect(run.event.body).toEqual({ order: { item: [{ '#text': '2', '@_sku': 'X' }], note: 'n' } });
  });

  it('answers 404 for an unknown key and 405 for a method the trigger does not take', async () => {
    const unknown = await hf.http().post('/hooks/not-a-real-key').send({}).expect(404);
    expect(unknown.body).toMatchObject({ error: 'not_found' });
    const wrong = await hf.http().delete(hookPath).expect(405);
    expect(wrong.body.error).toBe('method_not_allowed');
    expect(wrong.headers.allow).toBe('POST, PUT');
  });

  it('answers 413 over the trigger body limit', async () => {
    const res = await hf
      .http()
      .post(hookPath)
      .send({ big: 'x'.repeat(2048) })
      .expect(413);
    expect(res.body.error).toBe('payload_too_large');
  });

  it('keeps the raw bytes, the query and the headers, with credentials redacted', async () => {
    const raw = '{"b":2,   "a":1}';
    const res = await hf
      .http()
      .post(`${hookPath}?source=test`)
      .set('content-type', 'application/json')
      .set('authorization', 'Bearer sender-secret')
      .set('x-api-key', 'sender-api-key')
      .set('stripe-signature', 't=1,v1=abc')
      .set('x-custom', 'kept')
      .send(raw)
      .expect(202);
    const stored = await waitFor(() => hf.getRun(res.body.runId));
    expect(stored.event.query).toEqual({ source: 'test' });
    expect(stored.event.headers['x-custom']).toBe('kept');
    for (const name of ['authorization', 'x-api-key', 'stripe-signature']) {
      expect(stored.event.headers[name]).toBe('[redacted]');
    }
    expect(JSON.stringify(stored)).not.toMatch(/sender-secret|sender-api-key|v1=abc/);
    const ds = hf.api.get(DataSource);
    const [row] = await ds.query(`SELECT raw_body FROM events WHERE id = $1`, [res.body.eventId]);
    expect(row.raw_body.toString()).toBe(raw);
  });

  it('answers 409 while the flow is disabled and 404 once it is deleted', async () => {
    const { hookPath: path } = await hf.createFlow({
      slug: 'toggle',
      trigger: { type: 'webhook' },
      steps: [{ id: 'noop', type: 'transform', expression: '$' }],
    });
    await hf.http().patch('/api/flows/toggle').set(hf.auth).send({ enabled: false }).expect(200);
    expect((await hf.http().post(path).send({}).expect(409)).body.error).toBe('flow_disabled');
    await hf.http().patch('/api/flows/toggle').set(hf.auth).send({ enabled: true }).expect(200);
    await hf.http().post(path).send({}).expect(202);
    await hf.http().delete('/api/flows/toggle').set(hf.auth).expect(204);
    await hf.http().post(path).send({}).expect(404);
  });

  it('fails closed (401, no hint) for a trigger whose verification secret is not in the store', async () => {
    const { hookPath: path } = await hf.createFlow({
      slug: 'verified',
      trigger: { type: 'webhook', verify: { scheme: 'stripe', secret: 'STRIPE_WHSEC' } },
      steps: [{ id: 'noop', type: 'transform', expression: '$' }],
    });
    const res = await hf.http().post(path).set('stripe-signature', 't=1,v1=forged').send({}).expect(401);
    expect(res.body).toMatchObject({ error: 'signature_mismatch' });
    expect(JSON.stringify(res.body)).not.toMatch(/STRIPE_WHSEC|secret/i);
    const runs = await hf.http().get('/api/runs?flow=verified').set(hf.auth).expect(200);
    expect(runs.body.items).toHaveLength(0);
  });

  it('uses the trigger respond settings', async () => {
    const { hookPath: path } = await hf.createFlow({
      slug: 'custom-respond',
      trigger: {
        type: 'webhook',
        respond: { status: 200, body: { ok: true }, headers: { 'x-hookflow': 'yes' } },
      },
      steps: [{ id: 'noop', type: 'transform', expression: '$' }],
    });
    const res = await hf.http().post(path).send({}).expect(200);
    expect(res.body).toEqual({ ok: true });
    expect(res.headers['x-hookflow']).toBe('yes');
  });
});
