import http from 'node:http';
import Stripe from 'stripe';
import { DataSource } from 'typeorm';
import { EventRepository, REFUSED_PER_SECOND } from '@hookflow/store';
import { HookflowHarness } from '../utils/hookflow-harness';
import { waitFor } from '../utils/wait-for';

const noop = [{ id: 'noop', type: 'transform', expression: '$' }];

interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** Body bytes the client had written when the answer came. */
  sent: number;
}

/**
 * Streams up to `totalBytes` in `chunkBytes` pieces (chunked when `contentLength` is left out),
 * a little at a time, and stops as soon as the server answers.
 */
function streamUpload(
  server: http.Server,
  path: string,
  opts: { totalBytes: number; chunkBytes: number; contentLength?: number },
): Promise<RawAnswer> {
  const { port } = server.address() as { port: number };
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/json' };
    if (opts.contentLength !== undefined) headers['content-length'] = opts.contentLength;
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', headers }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
          sent,
        }),
      );
      res.on('error', reject);
    });
    // The server closes the connection after refusing: writes after that fail, which is expected.
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    const chunk = Buffer.alloc(opts.chunkBytes, 'a');
    const writeMore = (): void => {
      if (answered || req.destroyed) return;
      if (sent >= opts.totalBytes) {
        req.end();
        return;
      }
      sent += chunk.length;
      req.write(chunk);
      setTimeout(writeMore, 2);
    };
    req.flushHeaders();
    writeMore();
  });
}

/** Dedupe, limits and verification at the trigger URL, each with the process still healthy after. */
describe('ingress limits and dedupe', () => {
  let hf: HookflowHarness;
  let ds: DataSource;

  beforeAll(async () => {
    hf = await HookflowHarness.start({ worker: false });
    ds = hf.api.get(DataSource);
  });

  afterAll(async () => {
    await hf?.close();
  });

  async function flowId(slug: string): Promise<string> {
    const [row] = await ds.query(`SELECT id FROM flows WHERE slug = $1 AND deleted_at IS NULL`, [slug]);
    return row.id;
  }

  async function runCount(slug: string): Promise<number> {
    const [row] = await ds.query(`SELECT count(*)::int AS n FROM runs WHERE flow_id = $1`, [
      await flowId(slug),
    ]);
    return row.n;
  }

  async function refusals(slug: string): Promise<Record<string, any>[]> {
    const res = await hf
      .http()
      .get(`/api/flows/${slug}/events?accepted=false&limit=100`)
      .set(hf.auth)
      .expect(200);
    return res.body.items;
  }

  async function expectHealthy(hookPath: string): Promise<void> {
    await hf.http().get('/health/live').expect(200);
    await hf.http().post(hookPath).send({ still: 'fine' }).expect(202);
  }

  describe('dedupe', () => {
    let headerHook: string;
    let expressionHook: string;

    beforeAll(async () => {
      ({ hookPath: headerHook } = await hf.createFlow({
        slug: 'dedupe-header',
        trigger: { type: 'webhook', dedupe: { header: 'Webhook-Id' } },
        steps: noop,
      }));
      ({ hookPath: expressionHook } = await hf.createFlow({
        slug: 'dedupe-expression',
        trigger: {
          type: 'webhook',
          dedupe: { expression: "body.order.id ? body.order.id & ':' & body.type" },
        },
        steps: noop,
      }));
    });

    it('starts exactly one run for 20 concurrent copies and names it in the 19 others', async () => {
      const answers = await Promise.all(
        Array.from({ length: 20 }, () =>
          hf.http().post(headerHook).set('webhook-id', 'evt_concurrent').send({ n: 1 }),
        ),
      );
      const accepted = answers.filter((a) => a.status === 202);
      const duplicates = answers.filter((a) => a.status === 200);
      expect(accepted).toHaveLength(1);
      expect(duplicates).toHaveLength(19);
      const runId = accepted[0].body.runId;
      for (const d of duplicates) expect(d.body).toEqual({ runId, duplicate: true });
      expect(await runCount('dedupe-header')).toBe(1);

      // A later repeat is a duplicate too, and shows in the inspector naming the first run.
      const again = await hf.http().post(headerHook).set('webhook-id', 'evt_concurrent').send({}).expect(200);
      expect(again.body).toEqual({ runId, duplicate: true });
      const seen = await refusals('dedupe-header');
      expect(seen.length).toBeGreaterThanOrEqual(20);
      expect(seen[0]).toMatchObject({ reason: 'duplicate', statusCode: 200, runId });
    });

    it('keys on the header; without it there is no dedupe', async () => {
      const before = await runCount('dedupe-header');
      await hf.http().post(headerHook).set('webhook-id', 'evt_other').send({}).expect(202);
      await hf.http().post(headerHook).send({}).expect(202);
      await hf.http().post(headerHook).send({}).expect(202);
      expect(await runCount('dedupe-header')).toBe(before + 3);
    });

    it('keys on a JSONata expression over the request', async () => {
      const first = await hf
        .http()
        .post(expressionHook)
        .send({ type: 'paid', order: { id: 'A-1' } })
        .expect(202);
      const repeat = await hf
        .http()
        .post(expressionHook)
        .send({ type: 'paid', order: { id: 'A-1' }, resent: true })
        .expect(200);
      expect(repeat.body).toEqual({ runId: first.body.runId, duplicate: true });
      await hf
        .http()
        .post(expressionHook)
        .send({ type: 'refunded', order: { id: 'A-1' } })
        .expect(202);
      // No order id: the expression yields nothing, so no dedupe.
      await hf.http().post(expressionHook).send({ type: 'ping' }).expect(202);
      await hf.http().post(expressionHook).send({ type: 'ping' }).expect(202);
      expect(await runCount('dedupe-expression')).toBe(4);
    });

    it('lets a key older than the window start a new run', async () => {
      const first = await hf.http().post(headerHook).set('webhook-id', 'evt_old').send({}).expect(202);
      await ds.query(`UPDATE event_dedupe SET created_at = now() - interval '8 days' WHERE key = 'evt_old'`);
      const later = await hf.http().post(headerHook).set('webhook-id', 'evt_old').send({}).expect(202);
      expect(later.body.runId).not.toBe(first.body.runId);
      const repeat = await hf.http().post(headerHook).set('webhook-id', 'evt_old').send({}).expect(200);
      expect(repeat.body.runId).toBe(later.body.runId);
    });
  });

  describe('body size', () => {
    let hookPath: string;

    beforeAll(async () => {
      ({ hookPath } = await hf.createFlow({
        slug: 'small-body',
        trigger: { type: 'webhook', maxBodyBytes: 1024 },
        steps: noop,
      }));
    });

    it('refuses a chunked body (no Content-Length) with 413 long before it ends', async () => {
      const answer = await streamUpload(hf.api.getHttpServer(), hookPath, {
        totalBytes: 64 * 1024 * 1024,
        chunkBytes: 512,
      });
      expect(answer.status).toBe(413);
      expect(JSON.parse(answer.body)).toMatchObject({ error: 'payload_too_large' });
      expect(answer.sent).toBeLessThan(1024 * 1024);
      await expectHealthy(hookPath);
      await waitFor(
        async () => (await refusals('small-body')).find((e) => e.reason === 'payload_too_large'),
        {
          what: 'the 413 in the inspector',
        },
      );
    });

    it('refuses a declared Content-Length over the limit before reading the body', async () => {
      const answer = await streamUpload(hf.api.getHttpServer(), hookPath, {
        totalBytes: 64 * 1024 * 1024,
        chunkBytes: 512,
        contentLength: 64 * 1024 * 1024,
      });
      expect(answer.status).toBe(413);
      expect(answer.headers.connection).toBe('close');
      expect(answer.sent).toBeLessThan(1024 * 1024);
      await expectHealthy(hookPath);
    });

    it('accepts a chunked body under the limit', async () => {
      const answer = await streamUpload(hf.api.getHttpServer(), hookPath, {
        totalBytes: 1000,
        chunkBytes: 100,
      });
      // 1000 bytes of 'a' is not JSON: parsed after the size check, so 400 proves the body was read whole.
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.body).error).toBe('invalid_body');
    });
  });

  describe('source addresses', () => {
    it('refuses addresses outside allowIps with 403 and ignores X-Forwarded-For without TRUST_PROXY', async () => {
      const { hookPath: outside } = await hf.createFlow({
        slug: 'ip-outside',
        trigger: { type: 'webhook', allowIps: ['203.0.113.0/24', '2001:db8::/32'] },
        steps: noop,
      });
      const res = await hf
        .http()
        .post(outside)
        .set('x-forwarded-for', '203.0.113.7')
        .set('authorization', 'Bearer sender-secret')
        .send({})
        .expect(403);
      expect(res.body).toMatchObject({ error: 'forbidden' });
      const [refused] = await refusals('ip-outside');
      expect(refused).toMatchObject({ reason: 'forbidden', statusCode: 403, sourceIp: '127.0.0.1' });
      expect(refused.headers.authorization).toBe('[redacted]');

      const { hookPath: inside } = await hf.createFlow({
        slug: 'ip-inside',
        trigger: { type: 'webhook', allowIps: ['127.0.0.0/8'] },
        steps: noop,
      });
      await hf.http().post(inside).send({}).expect(202);
    });

    describe('behind a trusted proxy (TRUST_PROXY=true)', () => {
      let proxied: HookflowHarness;
      let hookPath: string;

      beforeAll(async () => {
        proxied = await HookflowHarness.start({ worker: false, env: { TRUST_PROXY: 'true' } });
        ({ hookPath } = await proxied.createFlow({
          slug: 'ip-proxied',
          trigger: { type: 'webhook', allowIps: ['10.0.0.0/8', '2001:db8::/32'] },
          steps: noop,
        }));
      });

      afterAll(async () => {
        await proxied?.close();
      });

      it.each([
        ['10.1.2.3', 202],
        ['11.1.2.3', 403],
        ['::ffff:10.9.8.7', 202],
        ['2001:db8:1::5', 202],
        ['2001:db9::5', 403],
        ['not-an-address', 403],
      ])('X-Forwarded-For %s -> %i', async (address, status) => {
        const res = await proxied.http().post(hookPath).set('x-forwarded-for', address).send({});
        expect(res.status).toBe(status);
        if (status === 403) expect(res.body.error).toBe('forbidden');
      });

      it('refuses the loopback peer itself when no forwarded address is allowed', async () => {
        await proxied.http().post(hookPath).send({}).expect(403);
      });
    });
  });

  describe('behind a proxy named by address (TRUST_PROXY=127.0.0.1): the client cannot name itself', () => {
    let proxied: HookflowHarness;
    let hookPath: string;

    beforeAll(async () => {
      proxied = await HookflowHarness.start({ worker: false, env: { TRUST_PROXY: '127.0.0.1' } });
      ({ hookPath } = await proxied.createFlow({
        slug: 'ip-one-hop',
        trigger: { type: 'webhook', allowIps: ['10.0.0.0/8'] },
        steps: noop,
      }));
    });

    afterAll(async () => {
      await proxied?.close();
    });

    it.each([
      // The proxy appends the real client last; whatever the client wrote before it does not count.
      ['10.1.2.3, 11.1.2.3', 403],
      ['11.1.2.3, 10.1.2.3', 202],
    ])('X-Forwarded-For %s -> %i', async (forwarded, status) => {
      expect((await proxied.http().post(hookPath).set('x-forwarded-for', forwarded).send({})).status).toBe(
        status,
      );
    });
  });

  it('records a flood of refusals only up to a per-second bound, not one write per request', async () => {
    const { hookPath } = await hf.createFlow({
      slug: 'refusal-flood',
      trigger: { type: 'webhook', methods: ['POST'] },
      steps: noop,
    });
    const events = hf.api.get(EventRepository);
    const droppedBefore = events.droppedRefusals;
    // Bursts of refusals until some went unrecorded: however slow the machine, the bound was reached.
    let sent = 0;
    await waitFor(
      async () => {
        await Promise.all(Array.from({ length: 30 }, () => hf.http().get(hookPath).expect(405)));
        sent += 30;
        return events.droppedRefusals > droppedBefore;
      },
      { timeoutMs: 30_000, what: 'refusals past the per-second bound' },
    );
    const stored: { received_at: Date }[] = await ds.query(
      `SELECT received_at FROM events WHERE flow_id = $1 AND NOT accepted`,
      [await flowId('refusal-flood')],
    );
    // Each refusal stored or counted as dropped, and no second holds more than the bound.
    expect(stored.length + events.droppedRefusals - droppedBefore).toBe(sent);
    const perSecond = new Map<number, number>();
    for (const { received_at } of stored) {
      const second = Math.floor(received_at.getTime() / 1000);
      perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
    }
    expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(REFUSED_PER_SECOND);
  });

  describe('rate limit', () => {
    it('answers 429 with Retry-After past the limit, and the next window accepts again', async () => {
      const { hookPath } = await hf.createFlow({
        slug: 'limited',
        trigger: { type: 'webhook', rateLimit: { limit: 3, per: '1s' } },
        steps: noop,
      });
      // Bursts of 12 until some are refused: however slow the machine, a window filled up.
      const answers: { status: number; body: any; headers: Record<string, string> }[] = [];
      await waitFor(
        async () => {
          answers.push(
            ...(await Promise.all(Array.from({ length: 12 }, () => hf.http().post(hookPath).send({})))),
          );
          return answers.some((a) => a.status === 429);
        },
        { what: 'a full rate-limit window' },
      );
      const limited = answers.filter((a) => a.status === 429);
      // Per fixed window, the first 3 requests were accepted and the rest refused.
      const windows: { count: number }[] = await ds.query(
        `SELECT count FROM rate_limit_windows WHERE flow_id = $1 AND window_ms = 1000`,
        [await flowId('limited')],
      );
      expect(windows.reduce((n, w) => n + w.count, 0)).toBe(answers.length);
      expect(answers.filter((a) => a.status === 202).length).toBe(
        windows.reduce((n, w) => n + Math.min(w.count, 3), 0),
      );
      for (const a of limited) {
        expect(a.body.error).toBe('rate_limited');
        expect(a.headers['retry-after']).toBe('1');
      }
      await waitFor(async () => (await hf.http().post(hookPath).send({})).status === 202, {
        what: 'a new rate-limit window',
      });
      expect((await refusals('limited')).some((e) => e.reason === 'rate_limited')).toBe(true);
    });

    it('checks the address before the rate limit (a refused address spends no quota)', async () => {
      const { hookPath } = await hf.createFlow({
        slug: 'limited-forbidden',
        trigger: { type: 'webhook', allowIps: ['10.0.0.0/8'], rateLimit: { limit: 1, per: '1h' } },
        steps: noop,
      });
      for (let i = 0; i < 3; i++) await hf.http().post(hookPath).send({}).expect(403);
      const [row] = await ds.query(`SELECT count(*)::int AS n FROM rate_limit_windows WHERE flow_id = $1`, [
        await flowId('limited-forbidden'),
      ]);
      expect(row.n).toBe(0);
    });
  });

  describe('headers and nesting', () => {
    let hookPath: string;

    beforeAll(async () => {
      ({ hookPath } = await hf.createFlow({ slug: 'parsing', trigger: { type: 'webhook' }, steps: noop }));
    });

    it('refuses a header flood with 431', async () => {
      let req = hf.http().post(hookPath);
      for (let i = 0; i < 500; i++) req = req.set(`x-flood-${i}`, 'v');
      const res = await req.send({}).expect(431);
      expect(res.body.error).toBe('headers_too_large');
      expect((await refusals('parsing'))[0]).toMatchObject({ reason: 'headers_too_large', statusCode: 431 });
      await expectHealthy(hookPath);
    });

    it('refuses oversized headers with 431 (in JSON below the hard cap, by Node above it)', async () => {
      const big = await hf
        .http()
        .post(hookPath)
        .set('x-big', 'b'.repeat(13 * 1024))
        .send({})
        .expect(431);
      expect(big.body.error).toBe('headers_too_large');
      await hf
        .http()
        .post(hookPath)
        .set('x-huge', 'h'.repeat(40 * 1024))
        .send({})
        .then(
          (res) => expect(res.status).toBe(431),
          // Node may close the connection instead of answering a request it cannot read.
          (err: Error) => expect(err.message).toMatch(/socket hang up|ECONNRESET|EPIPE/),
        );
      await expectHealthy(hookPath);
    });

    it('refuses 10k-deep JSON with 400 and stays healthy', async () => {
      const deep = '['.repeat(10_000) + ']'.repeat(10_000);
      const res = await hf
        .http()
        .post(hookPath)
        .set('content-type', 'application/json')
        .send(deep)
        .expect(400);
      expect(res.body).toMatchObject({ error: 'invalid_body', message: expect.stringContaining('nested') });
      const nested = '{"a":'.repeat(60) + '1' + '}'.repeat(60);
      await hf.http().post(hookPath).set('content-type', 'application/json').send(nested).expect(202);
      await expectHealthy(hookPath);
    });

    it('does not expand an XML billion-laughs and refuses deep XML', async () => {
      const lol = Array.from(
        { length: 9 },
        (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i};`.repeat(10)}">`,
      ).join('');
      const bomb = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol0 "lol">${lol}]><lolz>&lol9;</lolz>`;
      const res = await hf.http().post(hookPath).set('content-type', 'application/xml').send(bomb);
      expect([202, 400]).toContain(res.status);
      if (res.status === 202) {
        const run = await hf.getRun(res.body.runId);
        expect(JSON.stringify(run.event.body).length).toBeLessThan(bomb.length + 100);
        expect(JSON.stringify(run.event.body)).not.toContain('lollol');
      }
      const deep = '<a>'.repeat(10_000) + '</a>'.repeat(10_000);
      const refused = await hf.http().post(hookPath).set('content-type', 'text/xml').send(deep).expect(400);
      expect(refused.body).toMatchObject({
        error: 'invalid_body',
        message: expect.stringContaining('nested'),
      });
      await expectHealthy(hookPath);
    });
  });

  describe('signature verification', () => {
    const secret = 'whsec_e2e_' + 'k'.repeat(24);

    it('accepts a real Stripe signature (202) and refuses one changed byte (401)', async () => {
      await hf.http().put('/api/secrets/STRIPE_E2E').set(hf.auth).send({ value: secret }).expect(204);
      const { hookPath } = await hf.createFlow({
        slug: 'stripe-verified',
        trigger: { type: 'webhook', verify: { scheme: 'stripe', secret: 'STRIPE_E2E' } },
        steps: noop,
      });
      const payload = JSON.stringify({
        id: 'evt_1',
        type: 'invoice.paid',
        data: { object: { amount: 4200 } },
      });
      const signature = Stripe.webhooks.generateTestHeaderString({ payload, secret });
      const send = (body: string, sig?: string) => {
        const req = hf.http().post(hookPath).set('content-type', 'application/json');
        return (sig === undefined ? req : req.set('stripe-signature', sig)).send(body);
      };

      const ok = await send(payload, signature).expect(202);
      const run = await hf.getRun(ok.body.runId);
      expect(run.event.headers['stripe-signature']).toBe('[redacted]');

      const tampered = await send(payload.replace('4200', '4201'), signature).expect(401);
      expect(tampered.body.error).toBe('signature_mismatch');
      const missing = await send(payload).expect(401);
      expect(missing.body.error).toBe('signature_missing');
      const stale = Stripe.webhooks.generateTestHeaderString({
        payload,
        secret,
        timestamp: Math.floor(Date.now() / 1000) - 3600,
      });
      expect((await send(payload, stale).expect(401)).body.error).toBe('timestamp_out_of_tolerance');

      for (const answer of [tampered, missing]) expect(JSON.stringify(answer.body)).not.toContain(secret);
      const seen = await refusals('stripe-verified');
      expect(seen.map((e) => e.reason)).toEqual(
        expect.arrayContaining(['signature_mismatch', 'signature_missing', 'timestamp_out_of_tolerance']),
      );
      expect(JSON.stringify(seen)).not.toContain(signature.split('v1=')[1]);
    });

    it('never stores a token credential, in a custom header or in the query string', async () => {
      const token = 'tok_' + 'z'.repeat(30);
      await hf.http().put('/api/secrets/HOOK_TOKEN').set(hf.auth).send({ value: token }).expect(204);
      const byHeader = await hf.createFlow({
        slug: 'token-header',
        trigger: { type: 'webhook', verify: { scheme: 'token', secret: 'HOOK_TOKEN', header: 'X-Hook-Key' } },
        steps: noop,
      });
      const byQuery = await hf.createFlow({
        slug: 'token-query',
        trigger: { type: 'webhook', verify: { scheme: 'token', secret: 'HOOK_TOKEN', query: 't' } },
        steps: noop,
      });
      const a = await hf.http().post(byHeader.hookPath).set('x-hook-key', token).send({ n: 1 }).expect(202);
      const b = await hf.http().post(`${byQuery.hookPath}?t=${token}&keep=1`).send({ n: 2 }).expect(202);
      await hf.http().put(`${byQuery.hookPath}?t=${token}`).send({}).expect(405);
      await hf.http().post(`${byQuery.hookPath}?t=wrong`).send({}).expect(401);

      const runA = await hf.getRun(a.body.runId);
      const runB = await hf.getRun(b.body.runId);
      expect(runA.event.headers['x-hook-key']).toBe('[redacted]');
      expect(runB.event.query).toEqual({ t: '[redacted]', keep: '1' });
      const inspected = await hf.http().get('/api/flows/token-query/events').set(hf.auth).expect(200);
      expect(JSON.stringify([runA, runB, inspected.body])).not.toContain(token);
    });
  });
});
