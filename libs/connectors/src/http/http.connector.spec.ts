import { once } from 'node:events';
import { createServer, IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { ConnectorContext, ConnectorError, type Exchange } from '@hookflow/flows';
import { createOutboundAgent } from '../dispatcher';
import { HOOKFLOW_VERSION } from '../version';
import { HttpConnector } from './http.connector';

interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

type Route = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/** A real HTTP server on 127.0.0.1; routes are registered per test under unique paths. */
class Receiver {
  readonly requests: ReceivedRequest[] = [];
  private readonly routes = new Map<string, Route>();
  private readonly server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      this.requests.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      const route = this.routes.get(new URL(req.url!, 'http://x').pathname);
      if (route) route(req, res, body);
      else res.writeHead(404).end();
    });
  });

  async start(): Promise<void> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close');
  }

  url(path: string): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
  }

  route(path: string, route: Route): string {
    this.routes.set(path, route);
    return this.url(path);
  }

  requestsTo(path: string): ReceivedRequest[] {
    return this.requests.filter((r) => new URL(r.url, 'http://x').pathname === path);
  }
}

function respond(status: number, headers: Record<string, string> = {}, body = ''): Route {
  return (_req, res) => res.writeHead(status, headers).end(body);
}

async function rejection(promise: Promise<unknown>): Promise<ConnectorError> {
  const error = await promise.then(
    () => {
      throw new Error('expected the request to fail');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConnectorError);
  return error as ConnectorError;
}

describe('HttpConnector', () => {
  const receiver = new Receiver();
  let agent: Agent;
  let http: HttpConnector;
  let paths = 0;
  const ctx = (overrides: Partial<ConnectorContext> = {}): ConnectorContext => ({
    runId: 'run-1',
    stepId: 'notify',
    attempt: 1,
    timeoutMs: 5_000,
    idempotencyKey: 'run-1:notify',
    ...overrides,
  });
  const uniquePath = (name: string) => `/${name}-${++paths}`;

  beforeAll(async () => {
    await receiver.start();
    // The receiver is on loopback, which the SSRF guard refuses unless allowed.
    agent = createOutboundAgent({ allow: '127.0.0.1/32' });
    http = new HttpConnector(agent);
  });

  afterAll(async () => {
    await agent.destroy();
    await receiver.stop();
  });

  describe('request', () => {
    it('sends method, url with query, headers and a JSON body', async () => {
      const path = uniquePath('json');
      const url = receiver.route(path, respond(200));
      await http.execute(
        {
          method: 'put',
          url: `${url}?existing=1`,
          headers: { 'X-Api-Key': 'k-123', Accept: 'application/json' },
          query: { page: 2, tag: ['a', 'b c'], flag: true },
          json: { orderId: 'o-1', total: 12.5, items: [1, 2] },
        },
        ctx(),
      );

      const [received] = receiver.requestsTo(path);
      expect(received.method).toBe('PUT');
      expect(received.url).toBe(`${path}?existing=1&page=2&tag=a&tag=b+c&flag=true`);
      expect(received.headers).toMatchObject({
        'x-api-key': 'k-123',
        accept: 'application/json',
        'content-type': 'application/json',
        'idempotency-key': 'run-1:notify',
        'user-agent': `Hookflow/${HOOKFLOW_VERSION}`,
      });
      expect(JSON.parse(received.body)).toEqual({ orderId: 'o-1', total: 12.5, items: [1, 2] });
    });

    it('defaults to POST and keeps a content-type and idempotency-key the user set', async () => {
      const path = uniquePath('user-headers');
      const url = receiver.route(path, respond(200));
      await http.execute(
        {
          url,
          headers: { 'Content-Type': 'application/cloudevents+json', 'Idempotency-Key': 'mine' },
          json: [1],
        },
        ctx(),
      );

      const [received] = receiver.requestsTo(path);
      expect(received.method).toBe('POST');
      expect(received.headers['content-type']).toBe('application/cloudevents+json');
      expect(received.headers['idempotency-key']).toBe('mine');
      expect(received.body).toBe('[1]');
    });

    it('sends a text body as is, text/plain unless the user set a content-type', async () => {
      const path = uniquePath('text');
      const url = receiver.route(path, respond(200));
      await http.execute({ url, body: 'hello {world}' }, ctx());
      await http.execute(
        { url, body: 'sku=a%20b', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
        ctx(),
      );

      const [plain, form] = receiver.requestsTo(path);
      expect(plain.body).toBe('hello {world}');
      expect(plain.headers['content-type']).toBe('text/plain; charset=utf-8');
      expect(form.body).toBe('sku=a%20b');
      expect(form.headers['content-type']).toBe('application/x-www-form-urlencoded');
    });

    it('sends a GET without a body or content-type', async () => {
      const path = uniquePath('get');
      const url = receiver.route(path, respond(200));
      await http.execute({ method: 'GET', url, query: { q: 'x' } }, ctx());

      const [received] = receiver.requestsTo(path);
      expect(received.method).toBe('GET');
      expect(received.url).toBe(`${path}?q=x`);
      expect(received.body).toBe('');
      expect(received.headers['content-type']).toBeUndefined();
      expect(received.headers['content-length']).toBeUndefined();
    });

    it('sends the same idempotency-key on every attempt of a step', async () => {
      const path = uniquePath('flaky');
      let calls = 0;
      const url = receiver.route(path, (_req, res) => res.writeHead(++calls === 1 ? 503 : 200).end());

      await expect(http.execute({ url, json: {} }, ctx({ attempt: 1 }))).rejects.toMatchObject({
        extra: { status: 503 },
      });
      await expect(http.execute({ url, json: {} }, ctx({ attempt: 2 }))).resolves.toMatchObject({
        status: 200,
      });

      const keys = receiver.requestsTo(path).map((r) => r.headers['idempotency-key']);
      expect(keys).toEqual(['run-1:notify', 'run-1:notify']);
    });
  });

  describe('response', () => {
    it('parses a JSON body and returns lower-case headers', async () => {
      const url = receiver.route(
        uniquePath('json-response'),
        respond(
          201,
          { 'Content-Type': 'application/json; charset=utf-8', 'X-Request-Id': 'r-9' },
          '{"id":7}',
        ),
      );
      const output = await http.execute({ url, json: {} }, ctx());

      expect(output).toEqual({
        status: 201,
        headers: expect.objectContaining({
          'content-type': 'application/json; charset=utf-8',
          'x-request-id': 'r-9',
        }),
        body: { id: 7 },
      });
      expect(output).not.toHaveProperty('truncated');
    });

    it.each([
      ['text/plain', 'ok', 'ok'],
      ['application/vnd.api+json', '{"data":[]}', { data: [] }],
      ['application/json', 'not json', 'not json'],
      ['text/html', '{"looks":"like json"}', '{"looks":"like json"}'],
    ])('content-type %s with %p gives body %p', async (contentType, sent, expected) => {
      const url = receiver.route(uniquePath('typed'), respond(200, { 'content-type': contentType }, sent));
      await expect(http.execute({ url }, ctx())).resolves.toMatchObject({ status: 200, body: expected });
    });

    it.each([200, 201, 202, 204])('resolves on %i', async (status) => {
      const url = receiver.route(uniquePath('ok'), respond(status));
      await expect(http.execute({ url, json: {} }, ctx())).resolves.toMatchObject({ status, body: '' });
    });

    it('answers HEAD and OPTIONS', async () => {
      const url = receiver.route(uniquePath('head'), respond(200, { 'content-type': 'text/plain' }));
      await expect(http.execute({ method: 'HEAD', url }, ctx())).resolves.toMatchObject({ status: 200 });
      await expect(http.execute({ method: 'options', url }, ctx())).resolves.toMatchObject({ status: 200 });
    });

    it('truncates a big response, flags it, and leaves the agent usable', async () => {
      const small = new HttpConnector(agent, { maxResponseBytes: 1024 });
      const big = receiver.route(uniquePath('big'), (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(`[${'"x",'.repeat(100_000)}"x"]`);
      });
      const output = await small.execute({ method: 'GET', url: big }, ctx());

      expect(output.truncated).toBe(true);
      expect(typeof output.body).toBe('string');
      expect((output.body as string).length).toBe(1024);

      const after = receiver.route(uniquePath('after-big'), respond(200, {}, 'fine'));
      await expect(small.execute({ method: 'GET', url: after }, ctx())).resolves.toMatchObject({
        status: 200,
        body: 'fine',
      });
    });

    it('keeps a body of exactly maxResponseBytes whole', async () => {
      const small = new HttpConnector(agent, { maxResponseBytes: 8 });
      const url = receiver.route(
        uniquePath('exact'),
        respond(200, { 'content-type': 'application/json' }, '[1,2,3]'),
      );
      const output = await small.execute({ url }, ctx());
      expect(output).toMatchObject({ body: [1, 2, 3] });
      expect(output).not.toHaveProperty('truncated');
    });
  });

  describe('classification', () => {
    it.each([500, 502, 503, 408, 425, 429])(
      'HTTP %i is a retryable http_error with status and output',
      async (status) => {
        const url = receiver.route(
          uniquePath('retryable'),
          respond(status, { 'content-type': 'application/json' }, '{"e":1}'),
        );
        const error = await rejection(http.execute({ url, json: {} }, ctx()));

        expect(error).toMatchObject({
          code: 'http_error',
          retryable: true,
          message: `HTTP ${status} from 127.0.0.1:${new URL(url).port}`,
        });
        expect(error.extra).toMatchObject({ status, output: { status, body: { e: 1 } } });
        expect(error.extra.retryAfterMs).toBeUndefined();
      },
    );

    it.each([400, 404, 410, 422, 301])('HTTP %i is a final http_error', async (status) => {
      const url = receiver.route(uniquePath('final'), respond(status, { location: '/elsewhere' }));
      const error = await rejection(http.execute({ url, json: {} }, ctx()));

      expect(error).toMatchObject({ code: 'http_error', retryable: false, extra: { status } });
    });

    it('HTTP 410 Gone is final even with a Retry-After, and says why', async () => {
      const url = receiver.route(uniquePath('gone'), respond(410, { 'retry-after': '5' }));
      const error = await rejection(http.execute({ url, json: {} }, ctx()));

      expect(error).toMatchObject({ code: 'http_error', retryable: false, extra: { status: 410 } });
      expect(error.message).toContain('Gone');
      expect(error.extra.retryAfterMs).toBeUndefined();
    });

    it('does not follow redirects', async () => {
      const target = uniquePath('redirect-target');
      receiver.route(target, respond(200));
      const url = receiver.route(uniquePath('redirect'), respond(302, { location: target }));

      await expect(http.execute({ url, json: {} }, ctx())).rejects.toMatchObject({ extra: { status: 302 } });
      expect(receiver.requestsTo(target)).toHaveLength(0);
    });

    it.each([429, 503])('HTTP %i honours Retry-After in seconds and as an HTTP-date', async (status) => {
      const seconds = receiver.route(uniquePath('ra-seconds'), respond(status, { 'retry-after': '120' }));
      await expect(http.execute({ url: seconds }, ctx())).rejects.toMatchObject({
        retryable: true,
        extra: { status, retryAfterMs: 120_000 },
      });

      const when = new Date(Date.now() + 60_000).toUTCString();
      const date = receiver.route(uniquePath('ra-date'), respond(status, { 'retry-after': when }));
      const error = await rejection(http.execute({ url: date }, ctx()));
      // HTTP-dates have whole seconds, so allow for the rounding and the time the request took.
      expect(error.extra.retryAfterMs).toBeGreaterThan(55_000);
      expect(error.extra.retryAfterMs).toBeLessThanOrEqual(60_000);
    });

    it('ignores Retry-After on statuses other than 429 and 503', async () => {
      const url = receiver.route(uniquePath('ra-500'), respond(500, { 'retry-after': '5' }));
      const error = await rejection(http.execute({ url }, ctx()));
      expect(error.extra.retryAfterMs).toBeUndefined();
    });

    it('a refused connection is a retryable network_error naming code and host', async () => {
      const closed = createServer();
      closed.listen(0, '127.0.0.1');
      await once(closed, 'listening');
      const { port } = closed.address() as AddressInfo;
      closed.close();
      await once(closed, 'close');

      const error = await rejection(http.execute({ url: `http://127.0.0.1:${port}/x` }, ctx()));
      expect(error).toMatchObject({ code: 'network_error', retryable: true });
      expect(error.message).toContain('ECONNREFUSED');
      expect(error.message).toContain(`127.0.0.1:${port}`);
    });

    it('a connection closed before the response is a retryable network_error', async () => {
      const url = receiver.route(uniquePath('reset'), (req) => req.socket.destroy());
      await expect(http.execute({ url, json: {} }, ctx())).rejects.toMatchObject({
        code: 'network_error',
        retryable: true,
      });
    });

    it('a receiver that never answers is a retryable timeout', async () => {
      const url = receiver.route(uniquePath('hang'), () => undefined);
      const error = await rejection(http.execute({ url, json: {} }, ctx({ timeoutMs: 300 })));
      expect(error).toMatchObject({ code: 'timeout', retryable: true });
      expect(error.message).toBe(`no response from ${new URL(url).host} within 300ms`);
    });

    it('a receiver that sends headers then stalls the body is a timeout', async () => {
      const url = receiver.route(uniquePath('stall'), (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"partial":');
      });
      await expect(http.execute({ url, json: {} }, ctx({ timeoutMs: 300 }))).rejects.toMatchObject({
        code: 'timeout',
        retryable: true,
      });
    });

    it('a receiver that trickles the body past the deadline is a timeout', async () => {
      const url = receiver.route(uniquePath('trickle'), (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        const tick = setInterval(() => res.write('.'), 50);
        res.on('close', () => clearInterval(tick));
      });
      await expect(http.execute({ url }, ctx({ timeoutMs: 300 }))).rejects.toMatchObject({ code: 'timeout' });
    });

    it('a cancelled attempt (ctx.signal) is a retryable network_error', async () => {
      const url = receiver.route(uniquePath('cancel'), () => undefined);
      const controller = new AbortController();
      const attempt = http.execute({ url }, ctx({ signal: controller.signal }));
      await waitFor(() => receiver.requestsTo(new URL(url).pathname).length === 1);
      controller.abort();

      await expect(attempt).rejects.toMatchObject({ code: 'network_error', retryable: true });
    });

    it.each([
      ['not a url', 'with.url is not an absolute URL'],
      ['/relative/path', 'with.url is not an absolute URL'],
      ['ftp://example.com/file', 'with.url uses ftp: but only http: and https: are allowed'],
    ])('url %p is a final invalid_config', async (url, message) => {
      await expect(http.execute({ url }, ctx())).rejects.toMatchObject({
        code: 'invalid_config',
        retryable: false,
        message,
      });
    });

    it('never puts header values in error messages', async () => {
      const secret = 'Bearer s3cr3t-token';
      const failing = receiver.route(uniquePath('secret-500'), respond(500));
      const errors = await Promise.all([
        rejection(http.execute({ url: failing, headers: { authorization: secret } }, ctx())),
        rejection(http.execute({ url: failing, headers: { authorization: `${secret}\r\nx: y` } }, ctx())),
        rejection(http.execute({ url: failing, headers: { connection: secret } }, ctx())),
      ]);
      expect(errors.map((e) => e.code)).toEqual(['http_error', 'invalid_config', 'invalid_config']);
      for (const error of errors) expect(error.message).not.toContain('s3cr3t');
    });
  });

  describe('exchange', () => {
    const told = () => {
      const exchanges: Exchange[] = [];
      return { exchanges, ctx: ctx({ onExchange: (e) => exchanges.push(e) }) };
    };

    it('tells what was sent and received, once, on success', async () => {
      const url = receiver.route(uniquePath('ex-ok'), respond(201, { 'x-r': '1' }, 'done'));
      const { exchanges, ctx: c } = told();
      await http.execute({ url, json: { a: 1 } }, c);
      expect(exchanges).toHaveLength(1);
      expect(exchanges[0]).toMatchObject({
        destination: `127.0.0.1:${new URL(url).port}`,
        request: { method: 'POST', url, body: '{"a":1}', bodyBytes: 7, bodyTruncated: false },
        response: { status: 201, body: 'done', bodyBytes: 4, bodyTruncated: false },
      });
      expect(exchanges[0].request.headers['content-type']).toBe('application/json');
      expect(exchanges[0].response!.headers['x-r']).toBe('1');
      expect(exchanges[0].response!.durationMs).toBeGreaterThanOrEqual(0);
    });

    it('tells the response of a retryable non-2xx', async () => {
      const url = receiver.route(uniquePath('ex-503'), respond(503, {}, 'busy'));
      const { exchanges, ctx: c } = told();
      await rejection(http.execute({ url }, c));
      expect(exchanges[0].response).toMatchObject({ status: 503, body: 'busy' });
    });

    it('tells the request with a null response when the guard refuses the address', async () => {
      const strict = createOutboundAgent();
      const guarded = new HttpConnector(strict);
      const url = receiver.route(uniquePath('ex-blocked'), respond(200));
      const { exchanges, ctx: c } = told();
      expect((await rejection(guarded.execute({ url }, c))).code).toBe('blocked');
      expect(exchanges).toEqual([
        expect.objectContaining({ request: expect.objectContaining({ url }), response: null }),
      ]);
      await strict.destroy();
    });

    it('tells nothing when the request could not be built', async () => {
      const { exchanges, ctx: c } = told();
      await rejection(http.execute({ url: 'ftp://x' }, c));
      expect(exchanges).toEqual([]);
    });
  });
});

/** Polls a condition instead of sleeping a fixed time. */
async function waitFor(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
