import type { Exchange } from '@hookflow/flows';
import {
  captureExchange,
  cutUtf8,
  decodeCut,
  destinationOf,
  EXCHANGE_SCAN_BYTES,
  MASKED,
  MAX_EXCHANGE_BODY_BYTES,
  MAX_EXCHANGE_HEADER_CHARS,
  MAX_EXCHANGE_HEADERS,
  MAX_EXCHANGE_URL_CHARS,
  rawRequest,
  rawResponse,
} from './exchange';

const SECRET = 'sk_live_0123456789abcdef';
const redact = <T>(value: T): T =>
  (typeof value === 'string' ? value.replaceAll(SECRET, '[secret token]') : value) as T;

function exchange(overrides: Partial<Exchange> = {}): Exchange {
  return {
    destination: 'api.example.com:443',
    request: {
      method: 'POST',
      url: 'https://api.example.com/hook',
      headers: {},
      body: null,
      bodyBytes: 0,
      bodyTruncated: false,
    },
    response: null,
    ...overrides,
  };
}

describe('captureExchange', () => {
  it('replaces secret values in the URL, header values and both bodies', () => {
    const out = captureExchange(
      exchange({
        request: {
          method: 'POST',
          url: `https://api.example.com/hook?key=${SECRET}`,
          headers: { 'x-custom': `Bearer ${SECRET}` },
          body: `{"token":"${SECRET}"}`,
          bodyBytes: 40,
          bodyTruncated: false,
        },
        response: {
          status: 200,
          headers: { 'x-echo': SECRET },
          body: `you sent ${SECRET}`,
          bodyBytes: 33,
          bodyTruncated: false,
          durationMs: 5,
        },
      }),
      redact,
    );
    expect(JSON.stringify(out)).not.toContain(SECRET);
    expect(out.request.url).toBe('https://api.example.com/hook?key=[secret token]');
    expect(out.request.headers['x-custom']).toBe('Bearer [secret token]');
    expect(out.request.body).toBe('{"token":"[secret token]"}');
    expect(out.response?.headers['x-echo']).toBe('[secret token]');
    expect(out.response?.body).toBe('you sent [secret token]');
  });

  it.each([
    'authorization',
    'proxy-authorization',
    'cookie',
    'set-cookie',
    'x-api-key',
    'webhook-signature',
    'x-hub-signature-256',
    'X-Auth-Token',
  ])('masks the %s header whatever its value, keeping its name', (name) => {
    const out = captureExchange(
      exchange({
        request: { ...exchange().request, headers: { [name]: 'anything', accept: 'application/json' } },
      }),
    );
    expect(out.request.headers[name.toLowerCase()]).toBe(MASKED);
    expect(out.request.headers.accept).toBe('application/json');
  });

  it('replaces a secret in the destination, which a host name may hold', () => {
    const out = captureExchange(exchange({ destination: `${SECRET}.example.com:443` }), redact);
    expect(out.destination).toBe('[secret token].example.com:443');
  });

  it('masks URL userinfo', () => {
    const out = captureExchange(
      exchange({ request: { ...exchange().request, url: 'https://user:pw@api.example.com/x' } }),
    );
    expect(out.request.url).toBe(`https://${MASKED}@api.example.com/x`);
  });

  it('keeps a small body whole and unflagged', () => {
    const out = captureExchange(exchange({ request: { ...exchange().request, body: 'hi', bodyBytes: 2 } }));
    expect(out.request).toMatchObject({ body: 'hi', bodyBytes: 2, bodyTruncated: false });
  });

  it('cuts a long body to MAX_EXCHANGE_BODY_BYTES on a character boundary and flags it', () => {
    const body = 'é'.repeat(MAX_EXCHANGE_BODY_BYTES); // 2 bytes each
    const out = captureExchange(
      exchange({
        response: {
          status: 200,
          headers: {},
          body,
          bodyBytes: body.length * 2,
          bodyTruncated: false,
          durationMs: 1,
        },
      }),
    );
    expect(out.response?.bodyTruncated).toBe(true);
    expect(out.response?.bodyBytes).toBe(body.length * 2);
    expect(Buffer.byteLength(out.response!.body!)).toBeLessThanOrEqual(MAX_EXCHANGE_BODY_BYTES);
    expect(out.response!.body!).toBe('é'.repeat(MAX_EXCHANGE_BODY_BYTES / 2));
  });

  it('masks a secret that straddles the cut before cutting, so no part of it is kept', () => {
    const body = `${'a'.repeat(MAX_EXCHANGE_BODY_BYTES - 5)}${SECRET}${'b'.repeat(100)}`;
    const out = captureExchange(
      exchange({ request: { ...exchange().request, body, bodyBytes: body.length } }),
      redact,
    );
    expect(out.request.bodyTruncated).toBe(true);
    expect(out.request.body).not.toContain(SECRET.slice(0, 5));
    expect(out.request.body!.endsWith('[secr')).toBe(true);
  });

  it('bounds the number of headers and the length of each value', () => {
    const headers = Object.fromEntries(
      Array.from({ length: MAX_EXCHANGE_HEADERS + 10 }, (_, i) => [`x-h${i}`, 'v'.repeat(5000)]),
    );
    const out = captureExchange(exchange({ request: { ...exchange().request, headers } }));
    expect(Object.keys(out.request.headers)).toHaveLength(MAX_EXCHANGE_HEADERS);
    expect(out.request.headers['x-h0']).toHaveLength(MAX_EXCHANGE_HEADER_CHARS);
  });

  it('masks a secret that straddles the cut of a header value before cutting it', () => {
    const value = `${'a'.repeat(MAX_EXCHANGE_HEADER_CHARS - 5)}${SECRET}`;
    const out = captureExchange(
      exchange({ request: { ...exchange().request, headers: { 'x-h': value } } }),
      redact,
    );
    expect(out.request.headers['x-h']).not.toContain(SECRET.slice(0, 5));
    expect(out.request.headers['x-h']).toHaveLength(MAX_EXCHANGE_HEADER_CHARS);
  });

  it('bounds the URL, after masking it', () => {
    const url = `https://api.example.com/?a=${'x'.repeat(MAX_EXCHANGE_URL_CHARS - 30)}${SECRET}${'y'.repeat(1_000_000)}`;
    const out = captureExchange(exchange({ request: { ...exchange().request, url } }), redact);
    expect(out.request.url).toHaveLength(MAX_EXCHANGE_URL_CHARS);
    expect(out.request.url).not.toContain(SECRET.slice(0, 5));
  });

  it('keeps a header named __proto__ as a header', () => {
    const headers = JSON.parse('{"__proto__":"x"}') as Record<string, string>;
    const out = captureExchange(exchange({ request: { ...exchange().request, headers } }));
    expect(Object.keys(out.request.headers)).toEqual(['__proto__']);
  });
});

describe('raw records', () => {
  it('rawRequest measures the whole body and hands over at most EXCHANGE_SCAN_BYTES', () => {
    const body = 'x'.repeat(EXCHANGE_SCAN_BYTES + 10);
    const raw = rawRequest({ method: 'POST', url: new URL('http://h/'), headers: {}, body });
    expect(raw).toMatchObject({ bodyBytes: body.length, bodyTruncated: true });
    expect(raw.body).toHaveLength(EXCHANGE_SCAN_BYTES);
  });

  it('rawResponse flattens repeated headers and says when the body was not read', () => {
    const raw = rawResponse(302, { 'Set-Cookie': ['a=1', 'b=2'], location: '/x', gone: undefined }, null, 3);
    expect(raw).toEqual({
      status: 302,
      headers: { 'set-cookie': 'a=1, b=2', location: '/x' },
      body: null,
      bodyBytes: 0,
      bodyTruncated: true,
      durationMs: 3,
    });
  });

  it('destinationOf fills the port in from the scheme', () => {
    expect(destinationOf(new URL('https://API.example.com/x'))).toBe('api.example.com:443');
    expect(destinationOf(new URL('http://127.0.0.1:8080/x'))).toBe('127.0.0.1:8080');
    expect(destinationOf(new URL('http://[::1]/x'))).toBe('[::1]:80');
  });
});

describe('UTF-8 cuts', () => {
  it.each([
    ['ascii', 'abcdef', 4, 'abcd'],
    ['two-byte char cut in two', 'aé', 2, 'a'],
    ['three-byte char cut in two', 'a€', 3, 'a'],
    ['four-byte char cut in three', 'a😀', 4, 'a'],
    ['fits', 'a😀', 5, 'a😀'],
  ])('%s', (_name, text, max, expected) => {
    expect(decodeCut(Buffer.from(text), max)).toBe(expected);
    expect(cutUtf8(text, max)).toEqual({ text: expected, cut: expected !== text });
  });
});
