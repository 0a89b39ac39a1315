import { createHmac } from 'node:crypto';
import { DataSource } from 'typeorm';
import { HookflowHarness } from '../utils/hookflow-harness';

const noop = [{ id: 'noop', type: 'transform', expression: '$' }];
const SECRET = 'order-e2e-signing-secret-0123456789';

/** `X-Signature: sha256=<hex>` over the raw body, as the trigger's generic HMAC verification expects. */
const sign = (body: string, secret = SECRET) =>
  `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
const verify = { scheme: 'hmac', secret: 'ORDER_SECRET', header: 'X-Signature', prefix: 'sha256=' };

/**
 * The order of ingress checks as an attacker meets it: forged requests never spend a trigger's
 * rate limit, failed verifications have a limit of their own per source address, and repeated
 * deliveries answer what the trigger is configured to answer.
 */
describe('ingress order', () => {
  let hf: HookflowHarness;
  let ds: DataSource;

  beforeAll(async () => {
    // Behind a proxy at 127.0.0.1: X-Forwarded-For names the sender, so tests can play several.
    hf = await HookflowHarness.start({
      worker: false,
      env: { TRUST_PROXY: '127.0.0.1', VERIFY_FAILURE_LIMIT: '5/1h' },
    });
    ds = hf.api.get(DataSource);
    await hf.http().put('/api/secrets/ORDER_SECRET').set(hf.auth).send({ value: SECRET }).expect(204);
  });

  afterAll(async () => {
    await hf?.close();
  });

  const post = (hookPath: string, body: string, from: string, signature?: string) => {
    const req = hf.http().post(hookPath).set('content-type', 'application/json').set('x-forwarded-for', from);
    return (signature === undefined ? req : req.set('x-signature', signature)).send(body);
  };

  async function windowCount(slug: string): Promise<number> {
    const [row] = await ds.query(
      `SELECT coalesce(sum(w.count), 0)::int AS n FROM rate_limit_windows w
         JOIN flows f ON f.id = w.flow_id WHERE f.slug = $1`,
      [slug],
    );
    return row.n;
  }

  describe('rate limit and signatures', () => {
    it('lets the genuine request through after ten forged ones spent nothing of the limit', async () => {
      const { hookPath } = await hf.createFlow({
        slug: 'forged-then-genuine',
        trigger: { type: 'webhook', verify, rateLimit: { limit: 1, per: '1h' } },
        steps: noop,
      });
      const body = JSON.stringify({ id: 'evt_1' });
      // Ten forgers at ten addresses (the failure limit is per address): all refused as forged.
      for (let i = 0; i < 10; i++) {
        const res = await post(hookPath, body, `198.51.100.${i + 1}`, sign(body, 'guessed-secret'));
        expect({ i, status: res.status, error: res.body.error }).toEqual({
          i,
          status: 401,
          error: 'signature_mismatch',
        });
      }
      expect(await windowCount('forged-then-genuine')).toBe(0);

      const genuine = await post(hookPath, body, '203.0.113.10', sign(body)).expect(202);
      expect(genuine.body.runId).toEqual(expect.any(String));
      expect(await windowCount('forged-then-genuine')).toBe(1);

      // The limit itself still holds for genuine requests: refused before the body is verified.
      const over = await post(hookPath, body, '203.0.113.10', sign(body)).expect(429);
      expect(over.body.error).toBe('rate_limited');
      expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
      expect(await windowCount('forged-then-genuine')).toBe(1);
    });

    it('counts a request without a signature as forged too', async () => {
      const { hookPath } = await hf.createFlow({
        slug: 'unsigned-then-genuine',
        trigger: { type: 'webhook', verify, rateLimit: { limit: 2, per: '1h' } },
        steps: noop,
      });
      const body = '{"n":1}';
      for (let i = 0; i < 4; i++) {
        const res = await post(hookPath, body, `198.51.100.${50 + i}`);
        expect(res.status).toBe(401);
        expect(res.body.error).toBe('signature_missing');
      }
      await post(hookPath, body, '203.0.113.11', sign(body)).expect(202);
      await post(hookPath, body, '203.0.113.11', sign(body)).expect(202);
      await post(hookPath, body, '203.0.113.11', sign(body)).expect(429);
    });
  });

  describe('the limit on failed verifications', () => {
    it('answers a forger 429 past its failures without recording them, and never refuses a genuine request', async () => {
      const { hookPath } = await hf.createFlow({
        slug: 'failure-limit',
        trigger: { type: 'webhook', verify },
        steps: noop,
      });
      const body = '{"id":"evt_f"}';
      const forger = '198.51.100.200';
      for (let i = 0; i < 5; i++) {
        await post(hookPath, body, forger, sign(body, 'nope')).expect(401);
      }
      for (let i = 0; i < 3; i++) {
        const limited = await post(hookPath, body, forger, sign(body, 'nope')).expect(429);
        expect(limited.body).toMatchObject({ error: 'rate_limited' });
        expect(limited.body.message).toContain('failed');
        expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      }
      // A genuine request from that very address (a proxy shared with the forger) still passes.
      await post(hookPath, body, forger, sign(body)).expect(202);
      // Another address of the same IPv6 /64 shares the forger's budget; another /64 does not.
      for (let i = 0; i < 5; i++) {
        await post(hookPath, body, `2001:db8:1:2::${i + 1}`, sign(body, 'nope')).expect(401);
      }
      await post(hookPath, body, '2001:db8:1:2:ffff::1', sign(body, 'nope')).expect(429);
      await post(hookPath, body, '2001:db8:1:3::1', sign(body, 'nope')).expect(401);
      await post(hookPath, body, '2001:db8:1:2:ffff::1', sign(body)).expect(202);

      const refused = await hf
        .http()
        .get('/api/flows/failure-limit/events?accepted=false&limit=100')
        .set(hf.auth)
        .expect(200);
      const reasons = refused.body.items.map((e: { reason: string }) => e.reason);
      // The failures within budget are recorded (5 + 5 + 1); those past it are not.
      expect(reasons.filter((r: string) => r === 'signature_mismatch')).toHaveLength(11);
      expect(reasons).not.toContain('rate_limited');
    });

    it('leaves triggers without verification alone', async () => {
      const { hookPath } = await hf.createFlow({
        slug: 'no-verify',
        trigger: { type: 'webhook' },
        steps: noop,
      });
      for (let i = 0; i < 8; i++) await post(hookPath, '{}', '198.51.100.201').expect(202);
    });
  });

  describe('repeated deliveries', () => {
    const deliver = (hookPath: string, id: string) =>
      hf.http().post(hookPath).set('webhook-id', id).send({ n: 1 });

    it.each<[string, Record<string, unknown>, number, string, string, string]>([
      [
        'a text body with its content type',
        { status: 200, body: 'OK', headers: { 'Content-Type': 'text/plain', 'X-Ack': 'yes' } },
        200,
        'text/plain',
        'OK',
        'yes',
      ],
      ['a text body without headers', { body: 'accepted' }, 202, 'text/plain; charset=utf-8', 'accepted', ''],
      [
        'a JSON object',
        { status: 201, body: { ok: true }, headers: { 'x-ack': 'yes' } },
        201,
        'application/json; charset=utf-8',
        '{"ok":true}',
        'yes',
      ],
      ['a JSON array', { body: [1, 'two'] }, 202, 'application/json; charset=utf-8', '[1,"two"]', ''],
      ['a number', { status: 200, body: 42 }, 200, 'application/json; charset=utf-8', '42', ''],
      [
        'XML text',
        { body: '<ok/>', headers: { 'content-type': 'application/xml' } },
        202,
        'application/xml',
        '<ok/>',
        '',
      ],
    ])(
      'answers %s the same to the first delivery and to its repeats',
      async (name, respond, status, type, text, ack) => {
        const slug = `respond-${name.toLowerCase().replace(/\W+/g, '-')}`;
        const { hookPath } = await hf.createFlow({
          slug,
          trigger: { type: 'webhook', dedupe: { header: 'webhook-id' }, respond },
          steps: noop,
        });
        for (const attempt of ['first', 'repeat', 'repeat again']) {
          const res = await deliver(hookPath, 'evt_same');
          expect({ attempt, status: res.status, type: res.headers['content-type'], text: res.text }).toEqual({
            attempt,
            status,
            type,
            text,
          });
          expect(res.headers['x-ack'] ?? '').toBe(ack);
        }
        const [row] = await ds.query(
          `SELECT count(*)::int AS n FROM runs r JOIN flows f ON f.id = r.flow_id WHERE f.slug = $1`,
          [slug],
        );
        expect(row.n).toBe(1);
        const inspected = await hf
          .http()
          .get(`/api/flows/${slug}/events?accepted=false`)
          .set(hf.auth)
          .expect(200);
        expect(
          inspected.body.items.map((e: { reason: string; statusCode: number }) => [e.reason, e.statusCode]),
        ).toEqual([
          ['duplicate', status],
          ['duplicate', status],
        ]);
      },
    );

    it('answers 204 without a body, first and repeated', async () => {
      const { hookPath } = await hf.createFlow({
        slug: 'respond-204',
        trigger: {
          type: 'webhook',
          dedupe: { header: 'webhook-id' },
          respond: { status: 204, body: 'ignored' },
        },
        steps: noop,
      });
      for (let i = 0; i < 2; i++) {
        const res = await deliver(hookPath, 'evt_204');
        expect(res.status).toBe(204);
        expect(res.text ?? '').toBe('');
      }
    });

    it('keeps the JSON answer naming the first run for a trigger without a respond body', async () => {
      const { hookPath } = await hf.createFlow({
        slug: 'respond-headers-only',
        trigger: {
          type: 'webhook',
          dedupe: { header: 'webhook-id' },
          respond: { headers: { 'x-ack': 'yes', 'content-type': 'text/plain' } },
        },
        steps: noop,
      });
      const first = await deliver(hookPath, 'evt_plain').expect(202);
      expect(JSON.parse(first.text)).toEqual({ runId: expect.any(String), eventId: expect.any(String) });
      const repeat = await deliver(hookPath, 'evt_plain').expect(200);
      expect(JSON.parse(repeat.text)).toEqual({ runId: JSON.parse(first.text).runId, duplicate: true });
      expect(repeat.headers['x-ack']).toBe('yes');
    });
  });
});
