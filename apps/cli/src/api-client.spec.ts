import { ApiClient, describeNetworkError, parseBaseUrl } from './api-client';
import { CliError } from './cli-error';

type Call = { url: string; init: RequestInit };

function fakeFetch(respond: (call: Call) => Response | Promise<Response>) {
  const calls: Call[] = [];
  const fn = (async (url: URL, init: RequestInit) => {
    const call = { url: url.toString(), init };
    calls.push(call);
    return respond(call);
  }) as unknown as typeof fetch;
  return { fn, calls };
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

describe('ApiClient', () => {
  it('sends the key, the JSON body and the query, and parses the answer', async () => {
    const { fn, calls } = fakeFetch(() => json(200, { ok: true }));
    const api = new ApiClient({ baseUrl: 'http://hf.test:3000/', apiKey: 'k-123', fetch: fn });
    await expect(
      api.json('POST', '/api/runs/r1/replay', {
        body: { a: 1 },
        query: { version: 'latest', skip: undefined },
      }),
    ).resolves.toEqual({ ok: true });
    expect(calls[0].url).toBe('http://hf.test:3000/api/runs/r1/replay?version=latest');
    expect(calls[0].init).toMatchObject({
      method: 'POST',
      body: '{"a":1}',
      headers: {
        authorization: 'Bearer k-123',
        'content-type': 'application/json',
        accept: 'application/json',
      },
    });
  });

  it('keeps a path prefix of the server URL', async () => {
    const { fn, calls } = fakeFetch(() => new Response('text as is\n'));
    const api = new ApiClient({ baseUrl: 'https://example.com/hookflow', fetch: fn });
    await expect(api.text('GET', '/api/flows/a/export')).resolves.toBe('text as is\n');
    expect(calls[0].url).toBe('https://example.com/hookflow/api/flows/a/export');
    expect(calls[0].init.headers).not.toHaveProperty('authorization');
  });

  it('turns the API error body into the message and details', async () => {
    const { fn } = fakeFetch(() =>
      json(400, {
        error: 'invalid_flow',
        message: '1 flow file is invalid',
        details: [
          { file: 'flows/a.flow.json', path: '/steps/0/expression', message: 'is not valid JSONata' },
        ],
      }),
    );
    const err = await new ApiClient({ baseUrl: 'http://hf.test', apiKey: 'k', fetch: fn })
      .json('POST', '/api/flows/sync', { body: {} })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect(err).toMatchObject({
      message: '1 flow file is invalid',
      code: 'invalid_flow',
      details: [{ file: 'flows/a.flow.json', path: '/steps/0/expression', message: 'is not valid JSONata' }],
    });
  });

  it.each([
    [
      undefined,
      'http://hf.test needs an API key: set HOOKFLOW_API_KEY, pass --key, or save it once with hookflow login',
    ],
    [
      'wrong',
      'http://hf.test refused the API key: set HOOKFLOW_API_KEY (or --key) to a valid key, or run hookflow login',
    ],
  ])('explains a 401 (key %s)', async (apiKey, message) => {
    const { fn } = fakeFetch(() =>
      json(401, { error: 'unauthorized', message: 'a valid API key is required' }),
    );
    await expect(
      new ApiClient({ baseUrl: 'http://hf.test', apiKey, fetch: fn }).json('GET', '/api/runs'),
    ).rejects.toThrow(new CliError(message));
  });

  it('reports an answer that is not the API', async () => {
    const { fn } = fakeFetch(() => new Response('<html>bad gateway</html>', { status: 502 }));
    await expect(
      new ApiClient({ baseUrl: 'http://hf.test', fetch: fn }).json('GET', '/api/runs'),
    ).rejects.toThrow('GET /api/runs answered HTTP 502: <html>bad gateway</html>');
    const ok = fakeFetch(() => new Response('<html>', { status: 200 }));
    await expect(
      new ApiClient({ baseUrl: 'http://hf.test', fetch: ok.fn }).json('GET', '/api/runs'),
    ).rejects.toThrow('not JSON');
  });

  it('says the server cannot be reached, and why', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    const { fn } = fakeFetch(() => {
      throw new TypeError('fetch failed', { cause: refused });
    });
    await expect(
      new ApiClient({ baseUrl: 'http://127.0.0.1:1', fetch: fn }).json('GET', '/api/runs'),
    ).rejects.toThrow('cannot reach Hookflow at http://127.0.0.1:1: connection refused (ECONNREFUSED)');
  });

  it('gives up after its timeout', async () => {
    const { fn } = fakeFetch(
      (call) =>
        new Promise<Response>((_, reject) =>
          call.init.signal!.addEventListener('abort', () => reject(call.init.signal!.reason)),
        ),
    );
    await expect(
      new ApiClient({ baseUrl: 'http://hf.test', fetch: fn, timeoutMs: 20 }).json('GET', '/api/runs'),
    ).rejects.toThrow('Hookflow at http://hf.test did not answer within 0.02s');
  });
});

describe('describeNetworkError', () => {
  it('digs through causes and aggregate errors', () => {
    const aggregate = new AggregateError([Object.assign(new Error(''), { code: 'ECONNREFUSED' })], '');
    expect(describeNetworkError(new TypeError('fetch failed', { cause: aggregate }))).toBe(
      'connection refused (ECONNREFUSED)',
    );
    expect(describeNetworkError(new TypeError('fetch failed', { cause: new Error('bad port') }))).toBe(
      'bad port',
    );
    expect(describeNetworkError(Object.assign(new Error('odd'), { code: 'EWHATEVER' }))).toBe(
      'odd (EWHATEVER)',
    );
  });
});

describe('parseBaseUrl', () => {
  it.each([
    ['http://localhost:3000', 'http://localhost:3000'],
    ['https://hooks.example.com/', 'https://hooks.example.com'],
    ['https://example.com/base//', 'https://example.com/base'],
  ])('%s -> %s', (input, output) => {
    expect(parseBaseUrl(input)).toBe(output);
  });

  it.each(['localhost:3000x', 'not a url', 'ftp://example.com'])('refuses %s', (input) => {
    expect(() => parseBaseUrl(input)).toThrow(CliError);
  });
});
