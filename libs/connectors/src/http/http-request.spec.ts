import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { ConnectorError } from '@hookflow/flows';
import { buildHttpRequest } from './http-request';
import { signWebhook } from './webhook-signature';

const defaults = { idempotencyKey: 'run-1:step', userAgent: 'Hookflow/test' };
const KEY = Buffer.from('0123456789abcdef0123456789abcdef');
const SECRET = `whsec_${KEY.toString('base64')}`;

describe('buildHttpRequest', () => {
  it('lower-cases header names and adds the defaults', () => {
    const request = buildHttpRequest(
      { url: 'https://example.com/a#frag', headers: { 'X-Trace': 't' }, json: null },
      defaults,
    );
    expect(request.method).toBe('POST');
    expect(request.url.href).toBe('https://example.com/a');
    expect({ ...request.headers }).toEqual({
      'x-trace': 't',
      'content-type': 'application/json',
      'idempotency-key': 'run-1:step',
      'user-agent': 'Hookflow/test',
    });
    expect(request.body).toBe('null');
  });

  it('lets the user override user-agent', () => {
    const request = buildHttpRequest({ url: 'http://h/', headers: { 'User-Agent': 'acme' } }, defaults);
    expect(request.headers['user-agent']).toBe('acme');
    expect(request.body).toBeUndefined();
  });

  it('keeps a header named __proto__ as a header', () => {
    const request = buildHttpRequest(
      { url: 'http://h/', headers: JSON.parse('{"__proto__":"x"}') },
      defaults,
    );
    expect(Object.keys(request.headers)).toContain('__proto__');
  });

  it.each<[string, unknown, string]>([
    ['not an object', 'https://example.com', 'with must be an object'],
    ['missing url', {}, 'with.url is required and must be a string'],
    ['url not a string', { url: 42 }, 'with.url is required and must be a string'],
    ['relative url', { url: '/a' }, 'with.url is not an absolute URL'],
    ['ftp url', { url: 'ftp://h/f' }, 'with.url uses ftp: but only http: and https: are allowed'],
    ['file url', { url: 'file:///etc/passwd' }, 'with.url uses file: but only http: and https: are allowed'],
    [
      'credentials in url',
      { url: 'https://user:pw@h/' },
      'with.url must not contain credentials; send them in with.headers (authorization)',
    ],
    [
      'bad method',
      { url: 'http://h/', method: 'TRACE' },
      'with.method must be one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS',
    ],
    [
      'method not a string',
      { url: 'http://h/', method: 1 },
      'with.method must be one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS',
    ],
    [
      'json and body',
      { url: 'http://h/', json: {}, body: '' },
      'with.json and with.body are mutually exclusive',
    ],
    ['body not a string', { url: 'http://h/', body: { a: 1 } }, 'with.body must be a string'],
    ['headers not an object', { url: 'http://h/', headers: ['a'] }, 'with.headers must be an object'],
    [
      'header value not a string',
      { url: 'http://h/', headers: { 'x-n': 1 } },
      'with.headers.x-n must be a string',
    ],
    [
      'header name invalid',
      { url: 'http://h/', headers: { 'a b': 'v' } },
      'with.headers has an invalid header name "a b"',
    ],
    [
      'header value with CRLF',
      { url: 'http://h/', headers: { 'x-a': 'secret\r\nx-b: 1' } },
      'with.headers.x-a contains a line break or NUL character',
    ],
    [
      'header set twice',
      { url: 'http://h/', headers: { 'X-A': '1', 'x-a': '2' } },
      'with.headers sets x-a more than once',
    ],
    ['query not an object', { url: 'http://h/', query: 'a=1' }, 'with.query must be an object'],
    [
      'query object value',
      { url: 'http://h/', query: { a: { b: 1 } } },
      'with.query.a must be a string, number, boolean or an array of them',
    ],
    [
      'query null in array',
      { url: 'http://h/', query: { a: ['x', null] } },
      'with.query.a must be a string, number, boolean or an array of them',
    ],
    [
      'unknown option',
      { url: 'http://h/', signature: { secret: 'S' } },
      'with.signature is not an option of the http connector',
    ],
    ['sign not an object', { url: 'http://h/', sign: 'S' }, 'with.sign must be an object'],
    [
      'sign without a secret',
      { url: 'http://h/', sign: {} },
      'with.sign.secret is required and must be a string',
    ],
    [
      'sign with an unknown option',
      { url: 'http://h/', sign: { secret: SECRET, algorithm: 'sha1' } },
      'with.sign.algorithm is not an option of with.sign',
    ],
    [
      'sign with a secret that is not base64',
      { url: 'http://h/', sign: { secret: 'whsec_not base64!' } },
      'with.sign.secret must be a Standard Webhooks secret: whsec_ followed by base64',
    ],
    [
      'sign with a key shorter than 16 bytes',
      { url: 'http://h/', sign: { secret: `whsec_${Buffer.alloc(15, 1).toString('base64')}` } },
      'with.sign.secret decodes to 15 bytes; at least 16 are required',
    ],
    [
      'sign with a webhook header set by hand',
      { url: 'http://h/', headers: { 'Webhook-Id': 'mine' }, sign: { secret: SECRET } },
      'with.headers sets webhook-id, which with.sign computes',
    ],
  ])('%s is a final invalid_config', (_name, input, message) => {
    let thrown: unknown;
    try {
      buildHttpRequest(input, defaults);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConnectorError);
    expect(thrown).toMatchObject({ code: 'invalid_config', retryable: false, message });
  });

  describe('sign', () => {
    const nowMs = Date.parse('2026-01-02T03:04:05.678Z');

    it('adds Standard Webhooks headers over the exact body, verifiable by the reference library', () => {
      const request = buildHttpRequest(
        { url: 'https://h/x', json: { amount: 12.5, note: 'caf\u00e9 \u{1F600}' }, sign: { secret: SECRET } },
        { ...defaults, nowMs },
      );
      const id = request.headers['webhook-id'];
      expect(id).toMatch(/^msg_[A-Za-z0-9_-]{32}$/);
      expect(request.headers['webhook-timestamp']).toBe(String(Math.floor(nowMs / 1000)));
      const expected = createHmac('sha256', KEY)
        .update(`${id}.${Math.floor(nowMs / 1000)}.${request.body}`)
        .digest('base64');
      expect(request.headers['webhook-signature']).toBe(`v1,${expected}`);
      const verified = new Webhook(SECRET).verify(request.body!, {
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
        'webhook-signature': signWebhook(KEY, id, Date.now() / 1000, request.body!)['webhook-signature'],
      });
      expect(verified).toEqual({ amount: 12.5, note: 'caf\u00e9 \u{1F600}' });
    });

    it('keeps webhook-id across attempts (it follows the idempotency key) but not the timestamp', () => {
      const first = buildHttpRequest(
        { url: 'https://h/', json: 1, sign: { secret: SECRET } },
        { ...defaults, nowMs },
      );
      const second = buildHttpRequest(
        { url: 'https://h/', json: 1, sign: { secret: SECRET } },
        { ...defaults, nowMs: nowMs + 5000 },
      );
      const other = buildHttpRequest(
        { url: 'https://h/', json: 1, sign: { secret: SECRET } },
        { ...defaults, idempotencyKey: 'run-2:step', nowMs },
      );
      expect(second.headers['webhook-id']).toBe(first.headers['webhook-id']);
      expect(other.headers['webhook-id']).not.toBe(first.headers['webhook-id']);
      expect(Number(second.headers['webhook-timestamp']) - Number(first.headers['webhook-timestamp'])).toBe(
        5,
      );
    });

    it('accepts a secret without the whsec_ prefix and signs an empty body', () => {
      const request = buildHttpRequest(
        { url: 'https://h/', method: 'GET', sign: { secret: KEY.toString('base64') } },
        { ...defaults, nowMs },
      );
      const ts = String(Math.floor(nowMs / 1000));
      const expected = createHmac('sha256', KEY)
        .update(`${request.headers['webhook-id']}.${ts}.`)
        .digest('base64');
      expect(request.body).toBeUndefined();
      expect(request.headers['webhook-signature']).toBe(`v1,${expected}`);
    });

    it('never echoes the secret in its errors', () => {
      const secret = 'whsec_c2hvcnQ=';
      expect(() => buildHttpRequest({ url: 'https://h/', sign: { secret } }, defaults)).toThrow(
        expect.objectContaining({ message: expect.not.stringContaining('c2hvcnQ') }),
      );
    });
  });
});
