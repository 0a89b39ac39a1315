import { ConnectorError } from '@hookflow/flows';
import { buildHttpRequest } from './http-request';

const defaults = { idempotencyKey: 'run-1:step', userAgent: 'Hookflow/test' };

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
      { url: 'http://h/', sign: { secret: 'S' } },
      'with.sign is not an option of the http connector',
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
});
