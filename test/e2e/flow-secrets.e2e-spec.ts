import { randomBytes } from 'node:crypto';
import { HookflowHarness } from '../utils/hookflow-harness';

/** What the secret store tells when a flow is saved: missing secrets warn, a malformed signing secret is refused. */
describe('secrets checked when a flow is saved', () => {
  let hf: HookflowHarness;

  beforeAll(async () => {
    hf = await HookflowHarness.start({ worker: false });
    await hf
      .http()
      .put('/api/secrets/SAVE_BAD_SIGN')
      .set(hf.auth)
      .send({ value: 'not-a-signing-secret' })
      .expect(204);
    const good = `whsec_${randomBytes(32).toString('base64')}`;
    await hf.http().put('/api/secrets/SAVE_GOOD_SIGN').set(hf.auth).send({ value: good }).expect(204);
  });

  afterAll(async () => {
    await hf?.close();
  });

  const flow = (slug: string, sign: string, token = 'SAVE_GOOD_SIGN') => ({
    slug,
    trigger: { type: 'webhook' },
    steps: [
      {
        id: 'send',
        type: 'action',
        connector: 'http',
        with: {
          url: 'https://hooks.example.com/in',
          headers: { authorization: `Bearer {{secret "${token}"}}` },
          sign: { secret: sign },
        },
      },
    ],
  });

  it('refuses a stored signing secret that is not a Standard Webhooks secret, naming where', async () => {
    const res = await hf
      .http()
      .post('/api/flows')
      .set(hf.auth)
      .send(flow('bad-sign', 'SAVE_BAD_SIGN'))
      .expect(400);
    expect(res.body).toMatchObject({
      error: 'invalid_flow',
      details: [
        {
          path: '/steps/0/with/sign/secret',
          message: "the secret 'SAVE_BAD_SIGN' is not a Standard Webhooks secret (whsec_ followed by base64)",
        },
      ],
    });
    await hf.http().get('/api/flows/bad-sign').set(hf.auth).expect(404);
    const check = await hf
      .http()
      .post('/api/flows/validate')
      .set(hf.auth)
      .send(flow('bad-sign', 'SAVE_BAD_SIGN'));
    expect(check.status).toBe(400);
  });

  it('saves a flow that names secrets not stored yet, with a warning for each', async () => {
    const res = await hf
      .http()
      .post('/api/flows')
      .set(hf.auth)
      .send(flow('missing-secrets', 'SAVE_NOT_YET', 'SAVE_TOKEN_NOT_YET'))
      .expect(201);
    expect(res.body.warnings).toEqual([
      {
        path: '/steps/0/with/sign/secret',
        message:
          "names the secret 'SAVE_NOT_YET', which is not in the secret store: add it before the flow runs",
      },
      {
        path: '/steps/0/with',
        message:
          "names the secret 'SAVE_TOKEN_NOT_YET', which is not in the secret store: add it before the flow runs",
      },
    ]);
    const check = await hf
      .http()
      .post('/api/flows/validate')
      .set(hf.auth)
      .send(flow('missing-secrets', 'SAVE_NOT_YET', 'SAVE_TOKEN_NOT_YET'))
      .expect(200);
    expect(check.body.warnings).toHaveLength(2);
  });

  it('says nothing of secrets that are stored and well formed', async () => {
    const res = await hf
      .http()
      .post('/api/flows')
      .set(hf.auth)
      .send(flow('good-sign', 'SAVE_GOOD_SIGN'))
      .expect(201);
    expect(res.body.warnings).toEqual([]);
  });
});
