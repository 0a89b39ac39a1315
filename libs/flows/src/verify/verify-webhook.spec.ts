import { createHmac, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import * as path from 'node:path';
import { sign as githubSign, verify as githubVerify } from '@octokit/webhooks-methods';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { validateFlow } from '../validation/validate-flow';
import type { VerifyConfig, VerifyRequest, VerifyResult } from './verify-config';
import { verifyWebhook } from './verify-webhook';

// Signatures come from the senders' own libraries where one exists (stripe, standardwebhooks,
// @octokit/webhooks-methods); Slack, Shopify and the generic HMAC follow their published algorithms.

const NOW_MS = 1_766_000_000_000;
const NOW_S = NOW_MS / 1000;
const TOLERANCE_S = 300;

type Headers = Record<string, string | string[]>;
interface Signed {
  headers: Headers;
  query?: Record<string, unknown>;
}

/** A real GitHub push delivery from @octokit/webhooks-examples (a branch push with commits). */
function githubPushPayload(): string {
  const file = path.resolve(
    process.cwd(),
    'node_modules/@octokit/webhooks-examples/api.github.com/index.json',
  );
  const events = JSON.parse(fs.readFileSync(file, 'utf8')) as { name: string; examples: unknown[] }[];
  const push = events.find((event) => event.name === 'push');
  const example = push?.examples.find((e) => (e as { ref?: string }).ref === 'refs/heads/master');
  if (!example) throw new Error('no push example in @octokit/webhooks-examples');
  return JSON.stringify(example);
}

const STRIPE_SECRET = 'whsec_test_9c2d4b7e1f0a8c6d5e4f3a2b1c0d9e8f';
const STANDARD_SECRET = `whsec_${randomBytes(24).toString('base64')}`;
const GITHUB_SECRET = "It's a Secret to Everybody";
const SHOPIFY_SECRET = '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';
const SLACK_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const TOKEN_SECRET = 'tok_5b1f0e2d9c8b7a6f';
const HMAC_SECRET = 'generic-hmac-key';

const stripeBody = JSON.stringify({
  id: 'evt_1QabcDEFghiJKL',
  object: 'event',
  type: 'payment_intent.succeeded',
  data: { object: { id: 'pi_123', amount: 4200, currency: 'eur' } },
});
const standardBody = JSON.stringify({
  type: 'invoice.paid',
  timestamp: '2025-12-17T19:33:20Z',
  data: { id: 42 },
});
const githubBody = githubPushPayload();
const shopifyBody = JSON.stringify({
  id: 820982911946154500,
  email: 'jon@example.com',
  total_price: '59.00',
});
const slackBody =
  'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&command=%2Fweather&text=94070&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2F1234%2F5678';
const genericBody = JSON.stringify({ event: 'ping', n: 1 });

function stripeHeader(body: string, secret: string, timestamp: number): string {
  return Stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp });
}

function standardSignature(body: string, secret: string, id: string, timestamp: number): string {
  return new Webhook(secret).sign(id, new Date(timestamp * 1000), body);
}

function shopifySignature(body: string, secret: string): string {
  return createHmac('sha256', secret).update(body, 'utf8').digest('base64');
}

function slackSignature(body: string, secret: string, timestamp: number): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`, 'utf8').digest('hex')}`;
}

/** One scheme under the shared table of checks. */
interface SchemeCase {
  name: string;
  verify: VerifyConfig;
  secret: string;
  body: string;
  /** Headers (and query) a genuine sender would send for `body` at `timestamp`, signed with `secret`. */
  sign(body: string, secret: string, timestamp: number): Promise<Signed>;
  /** Headers whose removal leaves the request without its signature. */
  signatureHeaders: string[];
  timestamped: boolean;
}

const schemes: SchemeCase[] = [
  {
    name: 'stripe (stripe.webhooks.generateTestHeaderString)',
    verify: { scheme: 'stripe', secret: 'STRIPE_WHSEC' },
    secret: STRIPE_SECRET,
    body: stripeBody,
    sign: async (body, secret, ts) => ({ headers: { 'stripe-signature': stripeHeader(body, secret, ts) } }),
    signatureHeaders: ['stripe-signature'],
    timestamped: true,
  },
  {
    name: 'standard-webhooks (standardwebhooks Webhook#sign)',
    verify: { scheme: 'standard-webhooks', secret: 'SW' },
    secret: STANDARD_SECRET,
    body: standardBody,
    sign: async (body, secret, ts) => ({
      headers: {
        'webhook-id': 'msg_2Lq0nFQ7Yk4cXo',
        'webhook-timestamp': String(ts),
        'webhook-signature': standardSignature(body, secret, 'msg_2Lq0nFQ7Yk4cXo', ts),
      },
    }),
    signatureHeaders: ['webhook-signature'],
    timestamped: true,
  },
  {
    name: 'svix headers (standardwebhooks Webhook#sign)',
    verify: { scheme: 'standard-webhooks', secret: 'SVIX' },
    secret: STANDARD_SECRET,
    body: standardBody,
    sign: async (body, secret, ts) => ({
      headers: {
        'svix-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
        'svix-timestamp': String(ts),
        'svix-signature': standardSignature(body, secret, 'msg_p5jXN8AQM9LWM0D4loKWxJek', ts),
      },
    }),
    signatureHeaders: ['svix-signature'],
    timestamped: true,
  },
  {
    name: 'github (@octokit/webhooks-methods sign, push example)',
    verify: { scheme: 'github', secret: 'GH' },
    secret: GITHUB_SECRET,
    body: githubBody,
    sign: async (body, secret) => ({
      headers: { 'x-github-event': 'push', 'x-hub-signature-256': await githubSign(secret, body) },
    }),
    signatureHeaders: ['x-hub-signature-256'],
    timestamped: false,
  },
  {
    name: 'shopify (published algorithm)',
    verify: { scheme: 'shopify', secret: 'SHOPIFY' },
    secret: SHOPIFY_SECRET,
    body: shopifyBody,
    sign: async (body, secret) => ({ headers: { 'x-shopify-hmac-sha256': shopifySignature(body, secret) } }),
    signatureHeaders: ['x-shopify-hmac-sha256'],
    timestamped: false,
  },
  {
    name: 'slack (published algorithm)',
    verify: { scheme: 'slack', secret: 'SLACK' },
    secret: SLACK_SECRET,
    body: slackBody,
    sign: async (body, secret, ts) => ({
      headers: {
        'x-slack-request-timestamp': String(ts),
        'x-slack-signature': slackSignature(body, secret, ts),
      },
    }),
    signatureHeaders: ['x-slack-signature'],
    timestamped: true,
  },
  {
    name: 'token in Authorization: Bearer',
    verify: { scheme: 'token', secret: 'TOKEN' },
    secret: TOKEN_SECRET,
    body: genericBody,
    sign: async (_body, secret) => ({ headers: { authorization: `Bearer ${secret}` } }),
    signatureHeaders: ['authorization'],
    timestamped: false,
  },
  {
    name: 'token in a named header',
    verify: { scheme: 'token', secret: 'TOKEN', header: 'X-Webhook-Token' },
    secret: TOKEN_SECRET,
    body: genericBody,
    sign: async (_body, secret) => ({ headers: { 'x-webhook-token': secret } }),
    signatureHeaders: ['x-webhook-token'],
    timestamped: false,
  },
  {
    name: 'generic hmac sha256 hex with prefix',
    verify: { scheme: 'hmac', secret: 'K', header: 'X-Signature', prefix: 'sha256=' },
    secret: HMAC_SECRET,
    body: genericBody,
    sign: async (body, secret) => ({
      headers: { 'x-signature': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}` },
    }),
    signatureHeaders: ['x-signature'],
    timestamped: false,
  },
  {
    name: 'generic hmac sha512 base64',
    verify: { scheme: 'hmac', secret: 'K', header: 'X-Sig', algorithm: 'sha512', encoding: 'base64' },
    secret: HMAC_SECRET,
    body: genericBody,
    sign: async (body, secret) => ({
      headers: { 'x-sig': createHmac('sha512', secret).update(body).digest('base64') },
    }),
    signatureHeaders: ['x-sig'],
    timestamped: false,
  },
  {
    name: 'generic hmac sha1 hex with a timestamp pattern',
    verify: {
      scheme: 'hmac',
      secret: 'K',
      header: 'X-Sig',
      algorithm: 'sha1',
      timestampHeader: 'X-Timestamp',
      signedContent: 'v1:{timestamp}:{body}',
      tolerance: '5m',
    },
    secret: HMAC_SECRET,
    body: genericBody,
    sign: async (body, secret, ts) => ({
      headers: {
        'x-timestamp': String(ts),
        'x-sig': createHmac('sha1', secret).update(`v1:${ts}:${body}`).digest('hex'),
      },
    }),
    signatureHeaders: ['x-sig'],
    timestamped: true,
  },
];

function request(body: string | Buffer, signed: Signed): VerifyRequest {
  return {
    rawBody: Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'),
    headers: signed.headers,
    query: signed.query ?? {},
  };
}

function withoutHeaders(headers: Headers, names: string[]): Headers {
  return Object.fromEntries(Object.entries(headers).filter(([key]) => !names.includes(key)));
}

/** Changes one byte in the middle of the body. */
function tamper(body: string): Buffer {
  const bytes = Buffer.from(body, 'utf8');
  const i = Math.floor(bytes.length / 2);
  bytes[i] = bytes[i] === 0x41 ? 0x42 : 0x41;
  return bytes;
}

function failure(reason: string): VerifyResult {
  return { ok: false, reason, message: expect.any(String) } as VerifyResult;
}

describe.each(schemes)('verifyWebhook: $name', (c) => {
  // Not a default parameter: an explicit `undefined` secret must reach verifyWebhook as such.
  const verify = (
    body: string | Buffer,
    signed: Signed,
    ...rest: [secret?: string | undefined, now?: number]
  ) =>
    verifyWebhook(c.verify, request(body, signed), rest.length > 0 ? rest[0] : c.secret, rest[1] ?? NOW_MS);

  it('accepts a genuine request', async () => {
    expect(verify(c.body, await c.sign(c.body, c.secret, NOW_S))).toEqual({ ok: true });
  });

  it('accepts header names in any case', async () => {
    const signed = await c.sign(c.body, c.secret, NOW_S);
    const upper = Object.fromEntries(Object.entries(signed.headers).map(([k, v]) => [k.toUpperCase(), v]));
    expect(verify(c.body, { headers: upper })).toEqual({ ok: true });
  });

  it('rejects a body with one byte changed as signature_mismatch', async () => {
    const signed = await c.sign(c.body, c.secret, NOW_S);
    const expected = c.verify.scheme === 'token' ? { ok: true } : failure('signature_mismatch');
    // A token does not cover the body, so only the signing schemes notice.
    expect(verify(tamper(c.body), signed)).toEqual(expected);
  });

  it('rejects a signature made with another secret as signature_mismatch', async () => {
    const other =
      c.verify.scheme === 'standard-webhooks' ? `whsec_${randomBytes(24).toString('base64')}` : 'nope';
    expect(verify(c.body, await c.sign(c.body, other, NOW_S))).toEqual(failure('signature_mismatch'));
  });

  it('rejects a request without its signature header as signature_missing', async () => {
    const signed = await c.sign(c.body, c.secret, NOW_S);
    expect(verify(c.body, { headers: withoutHeaders(signed.headers, c.signatureHeaders) })).toEqual(
      failure('signature_missing'),
    );
  });

  it.each([
    ['undefined', undefined],
    ['empty', ''],
  ])('answers secret_missing when the secret is %s', async (_label, secret) => {
    expect(verify(c.body, await c.sign(c.body, c.secret, NOW_S), secret)).toEqual(failure('secret_missing'));
  });

  it('never puts the secret or a signature in a failure message', async () => {
    const signed = await c.sign(c.body, c.secret, NOW_S);
    const results = [
      verify(tamper(c.body), signed),
      verify(c.body, signed, undefined),
      verify(c.body, signed, c.secret, NOW_MS + 3_600_000),
      verify(c.body, await c.sign(c.body, 'nope', NOW_S)),
    ];
    const signatureTexts = Object.values(signed.headers)
      .flat()
      .flatMap((v) => v.split(/[\s,=]+/))
      .filter((piece) => piece.length >= 16);
    for (const result of results) {
      if (result.ok) continue;
      expect(result.message).not.toContain(c.secret);
      for (const text of signatureTexts) expect(result.message).not.toContain(text);
    }
  });

  if (c.timestamped) {
    it.each([
      ['stale', NOW_S - TOLERANCE_S - 1],
      ['an hour old', NOW_S - 3600],
      ['in the future', NOW_S + TOLERANCE_S + 1],
      ['a day in the future', NOW_S + 86_400],
    ])(
      'rejects a genuine signature over a timestamp %s as timestamp_out_of_tolerance',
      async (_label, ts) => {
        expect(verify(c.body, await c.sign(c.body, c.secret, ts))).toEqual(
          failure('timestamp_out_of_tolerance'),
        );
      },
    );

    it.each([
      ['at the past edge', NOW_S - TOLERANCE_S],
      ['at the future edge', NOW_S + TOLERANCE_S],
    ])('accepts a timestamp %s of the tolerance', async (_label, ts) => {
      expect(verify(c.body, await c.sign(c.body, c.secret, ts))).toEqual({ ok: true });
    });
  }
});

describe('verifyWebhook: signature lists (key rotation)', () => {
  it('stripe accepts a header with several v1 signatures when one matches', () => {
    const old = stripeHeader(stripeBody, 'whsec_old_rotated_secret', NOW_S);
    const current = stripeHeader(stripeBody, STRIPE_SECRET, NOW_S);
    const header = `${old},${current.split(',')[1]},v0=${'0'.repeat(64)}`;
    expect(header.match(/v1=/g)).toHaveLength(2);
    const req = request(stripeBody, { headers: { 'stripe-signature': header } });
    expect(verifyWebhook({ scheme: 'stripe', secret: 'S' }, req, STRIPE_SECRET, NOW_MS)).toEqual({
      ok: true,
    });
  });

  it('stripe rejects a header whose v1 signatures all fail', () => {
    const a = stripeHeader(stripeBody, 'whsec_a', NOW_S);
    const b = stripeHeader(stripeBody, 'whsec_b', NOW_S);
    const req = request(stripeBody, { headers: { 'stripe-signature': `${a},${b.split(',')[1]}` } });
    expect(verifyWebhook({ scheme: 'stripe', secret: 'S' }, req, STRIPE_SECRET, NOW_MS)).toEqual(
      failure('signature_mismatch'),
    );
  });

  it('stripe rejects a header without a t= timestamp', () => {
    const header = stripeHeader(stripeBody, STRIPE_SECRET, NOW_S).replace(/^t=\d+,/, '');
    const req = request(stripeBody, { headers: { 'stripe-signature': header } });
    expect(verifyWebhook({ scheme: 'stripe', secret: 'S' }, req, STRIPE_SECRET, NOW_MS)).toEqual(
      failure('signature_mismatch'),
    );
  });

  it.each(['webhook', 'svix'])('standard-webhooks accepts a %s-signature list when one matches', (prefix) => {
    const id = 'msg_rotation';
    const old = standardSignature(standardBody, `whsec_${randomBytes(24).toString('base64')}`, id, NOW_S);
    const current = standardSignature(standardBody, STANDARD_SECRET, id, NOW_S);
    const req = request(standardBody, {
      headers: {
        [`${prefix}-id`]: id,
        [`${prefix}-timestamp`]: String(NOW_S),
        [`${prefix}-signature`]: `${old} v1a,${randomBytes(64).toString('base64')} ${current}`,
      },
    });
    const result = verifyWebhook({ scheme: 'standard-webhooks', secret: 'S' }, req, STANDARD_SECRET, NOW_MS);
    expect(result).toEqual({ ok: true });
  });

  it('standard-webhooks agrees with the standardwebhooks library on a rotated list (real clock)', () => {
    const id = 'msg_oracle';
    const now = new Date();
    const ts = Math.floor(now.getTime() / 1000);
    const old = new Webhook(`whsec_${randomBytes(24).toString('base64')}`).sign(id, now, standardBody);
    const headers = {
      'webhook-id': id,
      'webhook-timestamp': String(ts),
      'webhook-signature': `${old} ${new Webhook(STANDARD_SECRET).sign(id, now, standardBody)}`,
    };
    expect(() => new Webhook(STANDARD_SECRET).verify(standardBody, headers)).not.toThrow();
    const req = request(standardBody, { headers });
    expect(verifyWebhook({ scheme: 'standard-webhooks', secret: 'S' }, req, STANDARD_SECRET)).toEqual({
      ok: true,
    });
  });

  it('standard-webhooks rejects a list with no v1 entry', () => {
    const req = request(standardBody, {
      headers: { 'webhook-id': 'm', 'webhook-timestamp': String(NOW_S), 'webhook-signature': 'v2,abc' },
    });
    expect(verifyWebhook({ scheme: 'standard-webhooks', secret: 'S' }, req, STANDARD_SECRET, NOW_MS)).toEqual(
      failure('signature_mismatch'),
    );
  });

  it('standard-webhooks answers signature_missing without webhook-id or webhook-timestamp', () => {
    const sig = standardSignature(standardBody, STANDARD_SECRET, 'm', NOW_S);
    for (const headers of <Headers[]>[
      { 'webhook-timestamp': String(NOW_S), 'webhook-signature': sig },
      { 'webhook-id': 'm', 'webhook-signature': sig },
    ]) {
      const req = request(standardBody, { headers });
      expect(
        verifyWebhook({ scheme: 'standard-webhooks', secret: 'S' }, req, STANDARD_SECRET, NOW_MS),
      ).toEqual(failure('signature_missing'));
    }
  });

  it('standard-webhooks accepts a secret given without the whsec_ prefix', () => {
    const req = request(standardBody, {
      headers: {
        'webhook-id': 'm',
        'webhook-timestamp': String(NOW_S),
        'webhook-signature': standardSignature(standardBody, STANDARD_SECRET, 'm', NOW_S),
      },
    });
    const bare = STANDARD_SECRET.slice('whsec_'.length);
    expect(verifyWebhook({ scheme: 'standard-webhooks', secret: 'S' }, req, bare, NOW_MS)).toEqual({
      ok: true,
    });
  });

  it('github accepts when one of repeated signature headers matches', async () => {
    const headers = {
      'x-hub-signature-256': [`sha256=${'ab'.repeat(32)}`, await githubSign(GITHUB_SECRET, githubBody)],
    };
    const req = request(githubBody, { headers });
    expect(verifyWebhook({ scheme: 'github', secret: 'GH' }, req, GITHUB_SECRET, NOW_MS)).toEqual({
      ok: true,
    });
  });
});

describe('verifyWebhook: github with the sender library as the oracle', () => {
  it('agrees with @octokit/webhooks-methods verify on genuine and tampered payloads', async () => {
    const signature = await githubSign(GITHUB_SECRET, githubBody);
    const tampered = tamper(githubBody).toString('utf8');
    for (const body of [githubBody, tampered]) {
      const ours = verifyWebhook(
        { scheme: 'github', secret: 'GH' },
        request(body, { headers: { 'x-hub-signature-256': signature } }),
        GITHUB_SECRET,
      );
      expect(ours.ok).toBe(await githubVerify(GITHUB_SECRET, body, signature));
    }
  });

  it('rejects the legacy sha1 header alone as signature_missing', () => {
    const sha1 = `sha1=${createHmac('sha1', GITHUB_SECRET).update(githubBody).digest('hex')}`;
    const req = request(githubBody, { headers: { 'x-hub-signature': sha1 } });
    expect(verifyWebhook({ scheme: 'github', secret: 'GH' }, req, GITHUB_SECRET)).toEqual(
      failure('signature_missing'),
    );
  });
});

describe('verifyWebhook: token', () => {
  const cfg = (extra: Partial<VerifyConfig> = {}) =>
    ({ scheme: 'token', secret: 'T', ...extra }) as VerifyConfig;

  it.each<[string, VerifyConfig, Signed, VerifyResult]>([
    [
      'query parameter',
      cfg({ query: 'token' }),
      { headers: {}, query: { token: TOKEN_SECRET } },
      { ok: true },
    ],
    [
      'wrong query parameter',
      cfg({ query: 'token' }),
      { headers: {}, query: { token: `${TOKEN_SECRET}x` } },
      failure('signature_mismatch'),
    ],
    [
      'missing query parameter',
      cfg({ query: 'token' }),
      { headers: {}, query: {} },
      failure('signature_missing'),
    ],
    [
      'empty query parameter',
      cfg({ query: 'token' }),
      { headers: {}, query: { token: '' } },
      failure('signature_missing'),
    ],
    [
      'a query parameter that is not text',
      cfg({ query: 'token' }),
      { headers: {}, query: { token: { nested: TOKEN_SECRET } } },
      failure('signature_mismatch'),
    ],
    [
      'repeated query parameter',
      cfg({ query: 'token' }),
      { headers: {}, query: { token: [TOKEN_SECRET, 'x'] } },
      failure('signature_mismatch'),
    ],
    [
      'query token ignored when the header is configured',
      cfg({ header: 'x-token' }),
      { headers: {}, query: { token: TOKEN_SECRET } },
      failure('signature_missing'),
    ],
    [
      'header token ignored when the query is configured',
      cfg({ query: 'token' }),
      { headers: { authorization: `Bearer ${TOKEN_SECRET}` }, query: {} },
      failure('signature_missing'),
    ],
    [
      'bearer scheme in lower case',
      cfg(),
      { headers: { authorization: `bearer ${TOKEN_SECRET}` } },
      { ok: true },
    ],
    [
      'basic auth instead of bearer',
      cfg(),
      { headers: { authorization: `Basic ${Buffer.from(`u:${TOKEN_SECRET}`).toString('base64')}` } },
      failure('signature_mismatch'),
    ],
    [
      'a prefix of the token',
      cfg(),
      { headers: { authorization: `Bearer ${TOKEN_SECRET.slice(0, -1)}` } },
      failure('signature_mismatch'),
    ],
    [
      'the token plus a byte',
      cfg(),
      { headers: { authorization: `Bearer ${TOKEN_SECRET}0` } },
      failure('signature_mismatch'),
    ],
    [
      'a named header with the Bearer prefix',
      cfg({ header: 'X-Token' }),
      { headers: { 'x-token': `Bearer ${TOKEN_SECRET}` } },
      failure('signature_mismatch'),
    ],
    [
      'a repeated named header',
      cfg({ header: 'X-Token' }),
      { headers: { 'x-token': [TOKEN_SECRET, TOKEN_SECRET] } },
      failure('signature_mismatch'),
    ],
  ])('%s', (_name, verify, signed, expected) => {
    expect(verifyWebhook(verify, request(genericBody, signed), TOKEN_SECRET, NOW_MS)).toEqual(expected);
  });
});

describe('verifyWebhook: generic hmac', () => {
  const binaryBody = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x7f, 0x0a, 0xc3, 0x28]);
  const hex = (algorithm: string, content: string | Buffer) =>
    createHmac(algorithm, HMAC_SECRET).update(content).digest('hex');

  it.each<[string, VerifyConfig, Signed, string | Buffer, VerifyResult]>([
    [
      'signs the raw bytes of a body that is not UTF-8',
      { scheme: 'hmac', secret: 'K', header: 'x-sig' },
      { headers: { 'x-sig': hex('sha256', binaryBody) } },
      binaryBody,
      { ok: true },
    ],
    [
      'accepts upper-case hex',
      { scheme: 'hmac', secret: 'K', header: 'x-sig' },
      { headers: { 'x-sig': hex('sha256', genericBody).toUpperCase() } },
      genericBody,
      { ok: true },
    ],
    [
      'rejects a signature without the configured prefix',
      { scheme: 'hmac', secret: 'K', header: 'x-sig', prefix: 'sha256=' },
      { headers: { 'x-sig': hex('sha256', genericBody) } },
      genericBody,
      failure('signature_mismatch'),
    ],
    [
      'rejects the right hex followed by junk',
      { scheme: 'hmac', secret: 'K', header: 'x-sig' },
      { headers: { 'x-sig': `${hex('sha256', genericBody)}zz` } },
      genericBody,
      failure('signature_mismatch'),
    ],
    [
      'rejects a signature of the wrong algorithm',
      { scheme: 'hmac', secret: 'K', header: 'x-sig', algorithm: 'sha512' },
      { headers: { 'x-sig': hex('sha256', genericBody) } },
      genericBody,
      failure('signature_mismatch'),
    ],
    [
      'accepts URL-safe base64 without padding',
      { scheme: 'hmac', secret: 'K', header: 'x-sig', encoding: 'base64' },
      { headers: { 'x-sig': createHmac('sha256', HMAC_SECRET).update(genericBody).digest('base64url') } },
      genericBody,
      { ok: true },
    ],
    [
      'defaults the signed content to {timestamp}.{body} with a timestamp header',
      { scheme: 'hmac', secret: 'K', header: 'x-sig', timestampHeader: 'x-ts' },
      { headers: { 'x-ts': String(NOW_S), 'x-sig': hex('sha256', `${NOW_S}.${genericBody}`) } },
      genericBody,
      { ok: true },
    ],
    [
      'rejects a body-only signature when the timestamp is signed too',
      { scheme: 'hmac', secret: 'K', header: 'x-sig', timestampHeader: 'x-ts' },
      { headers: { 'x-ts': String(NOW_S), 'x-sig': hex('sha256', genericBody) } },
      genericBody,
      failure('signature_mismatch'),
    ],
    [
      'answers signature_missing without the timestamp header',
      { scheme: 'hmac', secret: 'K', header: 'x-sig', timestampHeader: 'x-ts' },
      { headers: { 'x-sig': hex('sha256', `${NOW_S}.${genericBody}`) } },
      genericBody,
      failure('signature_missing'),
    ],
    [
      'applies a custom tolerance',
      { scheme: 'hmac', secret: 'K', header: 'x-sig', timestampHeader: 'x-ts', tolerance: '10s' },
      { headers: { 'x-ts': String(NOW_S - 11), 'x-sig': hex('sha256', `${NOW_S - 11}.${genericBody}`) } },
      genericBody,
      failure('timestamp_out_of_tolerance'),
    ],
    [
      'rejects a timestamp that is not Unix seconds',
      { scheme: 'hmac', secret: 'K', header: 'x-sig', timestampHeader: 'x-ts' },
      { headers: { 'x-ts': '2025-12-17', 'x-sig': hex('sha256', `2025-12-17.${genericBody}`) } },
      genericBody,
      failure('timestamp_out_of_tolerance'),
    ],
    [
      'ignores the timestamp header in a body-only pattern',
      { scheme: 'hmac', secret: 'K', header: 'x-sig', signedContent: '{body}' },
      { headers: { 'x-ts': '1', 'x-sig': hex('sha256', genericBody) } },
      genericBody,
      { ok: true },
    ],
  ])('%s', (_name, verify, signed, body, expected) => {
    expect(verifyWebhook(verify, request(body, signed), HMAC_SECRET, NOW_MS)).toEqual(expected);
  });

  it('throws on a {timestamp} pattern without a timestamp header (the schema rules it out)', () => {
    const req = request(genericBody, { headers: { 'x-sig': 'ab' } });
    expect(() =>
      verifyWebhook(
        { scheme: 'hmac', secret: 'K', header: 'x-sig', signedContent: '{timestamp}.{body}' },
        req,
        'k',
      ),
    ).toThrow(/timestampHeader/);
  });

  it('the flow schema requires timestampHeader when signedContent uses {timestamp}', () => {
    const flow = (verify: Record<string, unknown>) => ({
      slug: 'f',
      trigger: { type: 'webhook', verify },
      steps: [{ id: 'a', type: 'transform', expression: '$' }],
    });
    const bad = validateFlow(
      flow({ scheme: 'hmac', secret: 'K', header: 'x', signedContent: '{timestamp}.{body}' }),
    );
    expect(bad).toMatchObject({
      valid: false,
      errors: [{ path: '/trigger/verify/timestampHeader', message: 'is required' }],
    });
    const good = flow({
      scheme: 'hmac',
      secret: 'K',
      header: 'x',
      signedContent: '{timestamp}.{body}',
      timestampHeader: 'x-ts',
    });
    expect(validateFlow(good)).toMatchObject({ valid: true });
  });
});

describe('verifyWebhook: configuration', () => {
  it('throws on an unknown scheme rather than letting the request through', () => {
    const req = request(genericBody, { headers: {} });
    expect(() => verifyWebhook({ scheme: 'md5', secret: 'x' } as unknown as VerifyConfig, req, 's')).toThrow(
      /unknown verify scheme/,
    );
  });

  it("takes node's IncomingHttpHeaders as they come (lower-case names, string arrays)", () => {
    const headers: IncomingHttpHeaders = {
      'x-shopify-hmac-sha256': shopifySignature(shopifyBody, SHOPIFY_SECRET),
      'set-cookie': ['a=1', 'b=2'],
    };
    const req: VerifyRequest = { rawBody: Buffer.from(shopifyBody), headers, query: {} };
    expect(verifyWebhook({ scheme: 'shopify', secret: 'S' }, req, SHOPIFY_SECRET)).toEqual({ ok: true });
  });

  it('defaults nowMs to the current time', () => {
    const ts = Math.floor(Date.now() / 1000);
    const req = request(stripeBody, {
      headers: { 'stripe-signature': stripeHeader(stripeBody, STRIPE_SECRET, ts) },
    });
    expect(verifyWebhook({ scheme: 'stripe', secret: 'S' }, req, STRIPE_SECRET)).toEqual({ ok: true });
  });
});

describe('weak standard-webhooks secrets are refused, not used as a guessable key', () => {
  it.each(['whsec_', 'a', '!!!!', 'whsec_!!!!', 'whsec_c2hvcnQ='])('%s -> secret_missing', (secret) => {
    const body = Buffer.from('{"forged":true}');
    const ts = String(Math.floor(Date.now() / 1000));
    // What a forger would send if the key decoded to nothing: an HMAC with an empty key.
    const sig = createHmac('sha256', Buffer.alloc(0)).update(`msg_1.${ts}.`).update(body).digest('base64');
    const result = verifyWebhook(
      { scheme: 'standard-webhooks', secret: 'S' },
      {
        rawBody: body,
        headers: { 'webhook-id': 'msg_1', 'webhook-timestamp': ts, 'webhook-signature': `v1,${sig}` },
        query: {},
      },
      secret,
    );
    expect(result).toMatchObject({ ok: false, reason: 'secret_missing' });
  });
});
