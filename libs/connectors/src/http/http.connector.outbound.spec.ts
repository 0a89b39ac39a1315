import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { ConnectorError, type ConnectorContext } from '@hookflow/flows';
import { createOutboundAgent } from '../dispatcher';
import { parseOutboundAllow } from '../guard/outbound-allow';
import { createGuardedConnector } from '../guard/outbound-guard';
import { HttpConnector } from './http.connector';

// A self-signed certificate for `hookflow.test` and 127.0.0.1, valid until 2126; test use only.
const TEST_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgvxTOFnmqSgZ2A7ym
Xh5zuk9j73S+5sQvDmWPFPW0zZGhRANCAAQJovStrmEJeyNdtGsf3C783r65shVl
mclbOj9z055FjfHmQg+jwionLE9gw4Ee6+IsTVDd0qBRhwRSaNohKvJS
-----END PRIVATE KEY-----
`;
const TEST_CERT = `-----BEGIN CERTIFICATE-----
MIIBpzCCAU2gAwIBAgIUIs6g2LmGvovigT8WcqB1Fo+lNF0wCgYIKoZIzj0EAwIw
GDEWMBQGA1UEAwwNaG9va2Zsb3cudGVzdDAgFw0yNjExMjMxNjUzMDdaGA8yMTI2
MTAzMDE2NTMwN1owGDEWMBQGA1UEAwwNaG9va2Zsb3cudGVzdDBZMBMGByqGSM49
AgEGCCqGSM49AwEHA0IABAmi9K2uYQl7I120ax/cLvzevrmyFWWZyVs6P3PTnkWN
8eZCD6PCKicsT2DDgR7r4ixNUN3SoFGHBFJo2iEq8lKjczBxMB0GA1UdDgQWBBQB
jE/45xLgg42lH0JzvzVW2liFdTAfBgNVHSMEGDAWgBQBjE/45xLgg42lH0JzvzVW
2liFdTAPBgNVHRMBAf8EBTADAQH/MB4GA1UdEQQXMBWCDWhvb2tmbG93LnRlc3SH
BH8AAAEwCgYIKoZIzj0EAwIDSAAwRQIgQEW2HJkYG714enCd23PWyy5nSvQwrjtM
UyxZIGFd1DoCIQDS3WHgimvd9T843EzsHJTiB8cHrV2ZKmA/3bpqh6yCVw==
-----END CERTIFICATE-----
`;

interface Received {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

type Route = (req: IncomingMessage, res: ServerResponse) => void;

/** A loopback server with per-path routes that counts TCP connections. */
class Loopback {
  readonly received: Received[] = [];
  readonly routes = new Map<string, Route>();
  connections = 0;
  readonly server: Server;

  constructor(
    readonly host: string,
    tls = false,
  ) {
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = new URL(req.url!, 'http://x').pathname;
        this.received.push({
          method: req.method!,
          path,
          headers: req.headers,
          body: Buffer.concat(chunks).toString(),
        });
        const route = this.routes.get(path);
        if (route) route(req, res);
        else res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      });
    };
    this.server = tls ? createTlsServer({ key: TEST_KEY, cert: TEST_CERT }, handler) : createServer(handler);
    this.server.on(tls ? 'secureConnection' : 'connection', () => this.connections++);
    if (tls) this.server.on('tlsClientError', () => undefined);
  }

  async start(): Promise<this> {
    this.server.listen(0, this.host);
    await once(this.server, 'listening');
    return this;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  url(path: string, scheme = 'http'): string {
    return `${scheme}://${this.host}:${this.port}${path}`;
  }

  to(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close');
  }
}

const redirect =
  (status: number, location: string): Route =>
  (_req, res) =>
    res.writeHead(status, { location }).end('moved');

async function failure(promise: Promise<unknown>): Promise<ConnectorError> {
  const error = await promise.then(
    () => new Error('expected the request to fail'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConnectorError);
  return error as ConnectorError;
}

const ctx: ConnectorContext = {
  runId: 'run-1',
  stepId: 'notify',
  attempt: 1,
  timeoutMs: 5_000,
  idempotencyKey: 'run-1:notify',
};

// Only loopback addresses: the trap on 127.0.0.2 stands for every address the guard refuses.
describe('HttpConnector through the guarded agent', () => {
  let allowed: Loopback;
  let other: Loopback;
  let trap: Loopback;
  let agent: Agent;
  let http: HttpConnector;

  beforeAll(async () => {
    allowed = await new Loopback('127.0.0.1').start();
    other = await new Loopback('127.0.0.1').start();
    trap = await new Loopback('127.0.0.2').start();
    agent = createOutboundAgent({ allow: '127.0.0.1/32' });
    http = new HttpConnector(agent);
  });

  afterAll(async () => {
    await agent.close();
    await Promise.all([allowed.stop(), other.stop(), trap.stop()]);
  });

  describe('blocked destinations', () => {
    it.each([
      ['127.0.0.2', '127.0.0.2'],
      ['decimal 2130706434', '2130706434'],
      ['hex 0x7f000002', '0x7f000002'],
      ['IPv4-mapped [::ffff:127.0.0.2]', '[::ffff:127.0.0.2]'],
    ])('%s fails final with code blocked and no connection', async (_what, host) => {
      const error = await failure(http.execute({ url: `http://${host}:${trap.port}/`, json: {} }, ctx));
      expect(error).toMatchObject({ code: 'blocked', retryable: false });
      expect(error.message).toMatch(/^.* is refused by the outbound guard: /);
      expect(error.message).toContain('127.0.0.2');
      expect(error.message).toContain('loopback (127.0.0.0/8)');
      expect(trap.connections).toBe(0);
    });

    it('names the IPv6 loopback rule for [::1]', async () => {
      const error = await failure(http.execute({ url: `http://[::1]:${trap.port}/`, json: {} }, ctx));
      expect(error).toMatchObject({ code: 'blocked', retryable: false });
      expect(error.message).toBe(
        '::1 is refused by the outbound guard: loopback (::1); OUTBOUND_ALLOW can make an exception',
      );
    });

    it('refuses loopback entirely with no allow-list', async () => {
      const strict = createOutboundAgent();
      try {
        const error = await failure(new HttpConnector(strict).execute({ url: allowed.url('/strict') }, ctx));
        expect(error.code).toBe('blocked');
        expect(allowed.to('/strict')).toHaveLength(0);
      } finally {
        await strict.close();
      }
    });
  });

  describe('redirects', () => {
    it('records a 3xx as the outcome by default, and says how to follow it', async () => {
      allowed.routes.set('/r0', redirect(302, '/r0-target'));
      const error = await failure(http.execute({ url: allowed.url('/r0'), json: {} }, ctx));
      expect(error).toMatchObject({ code: 'http_error', retryable: false, extra: { status: 302 } });
      expect(error.message).toContain('redirects are not followed unless with.followRedirects allows them');
      expect(allowed.to('/r0-target')).toHaveLength(0);
    });

    it('follows up to followRedirects hops, and stops with the 3xx beyond', async () => {
      allowed.routes.set('/hop1', redirect(301, '/hop2'));
      allowed.routes.set('/hop2', redirect(308, allowed.url('/hop3')));
      const output = await http.execute(
        { method: 'GET', url: allowed.url('/hop1'), followRedirects: 2 },
        ctx,
      );
      expect(output).toMatchObject({ status: 200, body: { ok: true } });
      expect(allowed.to('/hop3')).toHaveLength(1);

      allowed.routes.set('/hop3-loop', redirect(302, '/hop1'));
      const error = await failure(
        http.execute({ method: 'GET', url: allowed.url('/hop3-loop'), followRedirects: 2 }, ctx),
      );
      expect(error).toMatchObject({ code: 'http_error', extra: { status: 308 } });
      expect(error.message).toContain('stopped after 2 redirect(s), the with.followRedirects limit');
    });

    it('turns a POST into a body-less GET on 303 and keeps method and body on 307', async () => {
      allowed.routes.set('/see-other', redirect(303, '/after-303'));
      allowed.routes.set('/temporary', redirect(307, '/after-307'));
      await http.execute({ url: allowed.url('/see-other'), json: { a: 1 }, followRedirects: 1 }, ctx);
      await http.execute({ url: allowed.url('/temporary'), json: { a: 1 }, followRedirects: 1 }, ctx);
      const [get] = allowed.to('/after-303');
      expect(get).toMatchObject({ method: 'GET', body: '' });
      expect(get.headers['content-type']).toBeUndefined();
      const [post] = allowed.to('/after-307');
      expect(post).toMatchObject({ method: 'POST', body: '{"a":1}' });
      expect(post.headers['content-type']).toBe('application/json');
    });

    it('keeps only descriptive headers on a cross-origin hop (no credentials, custom or signature headers)', async () => {
      allowed.routes.set('/same', redirect(302, '/same-target'));
      allowed.routes.set('/cross', redirect(302, other.url('/cross-target')));
      const headers = {
        authorization: 'Bearer s3cret',
        cookie: 'sid=1',
        'x-api-key': 'k3y',
        'webhook-signature': 'v1,abc',
        accept: 'application/json',
      };
      await http.execute({ method: 'GET', url: allowed.url('/same'), headers, followRedirects: 1 }, ctx);
      await http.execute({ method: 'GET', url: allowed.url('/cross'), headers, followRedirects: 1 }, ctx);
      expect(allowed.to('/same-target')[0].headers).toMatchObject({
        authorization: 'Bearer s3cret',
        cookie: 'sid=1',
      });
      const [cross] = other.to('/cross-target');
      expect(cross.headers.authorization).toBeUndefined();
      expect(cross.headers.cookie).toBeUndefined();
      expect(cross.headers['x-api-key']).toBeUndefined();
      expect(cross.headers['webhook-signature']).toBeUndefined();
      expect(cross.headers['idempotency-key']).toBeUndefined();
      expect(cross.headers.accept).toBe('application/json');
    });

    it('re-checks every hop: a redirect toward a blocked address fails blocked and never connects', async () => {
      for (const target of [
        trap.url('/'),
        `http://2130706434:${trap.port}/`,
        `http://[::ffff:127.0.0.2]:${trap.port}/`,
      ]) {
        allowed.routes.set('/to-trap', redirect(302, target));
        const error = await failure(
          http.execute({ url: allowed.url('/to-trap'), json: {}, followRedirects: 2 }, ctx),
        );
        expect(error).toMatchObject({ code: 'blocked', retryable: false });
        expect(error.message).toContain('127.0.0.2');
      }
      expect(trap.connections).toBe(0);
    });

    it('refuses non-http locations and a bad followRedirects', async () => {
      allowed.routes.set('/to-file', redirect(302, 'file:///etc/passwd'));
      const error = await failure(http.execute({ url: allowed.url('/to-file'), followRedirects: 1 }, ctx));
      expect(error).toMatchObject({ code: 'http_error', retryable: false });
      expect(error.message).toContain('only http: and https: are followed');
      for (const followRedirects of [-1, 1.5, 11, '2'])
        await expect(http.execute({ url: allowed.url('/x'), followRedirects }, ctx)).rejects.toMatchObject({
          code: 'invalid_config',
        });
    });
  });

  describe('TLS', () => {
    let tls: Loopback;
    let trusting: Agent;
    const lookup = async (name: string) => (name.endsWith('.test') ? ['127.0.0.1'] : []);

    beforeAll(async () => {
      tls = await new Loopback('127.0.0.1', true).start();
      trusting = new Agent({
        connect: createGuardedConnector({
          allow: parseOutboundAllow('127.0.0.1/32'),
          timeoutMs: 2_000,
          lookup,
          connectOptions: { ca: TEST_CERT },
        }),
      });
    });

    afterAll(async () => {
      await trusting.close();
      await tls.stop();
    });

    it('verifies the certificate against the host name while connecting to the resolved address', async () => {
      const output = await new HttpConnector(trusting).execute(
        { url: `https://hookflow.test:${tls.port}/ok`, method: 'GET' },
        ctx,
      );
      expect(output).toMatchObject({ status: 200 });
      expect(tls.to('/ok')[0].headers.host).toBe(`hookflow.test:${tls.port}`);
    });

    it('reports an untrusted certificate as a final tls_error with the reason', async () => {
      const error = await failure(http.execute({ url: tls.url('/self-signed', 'https') }, ctx));
      expect(error).toMatchObject({ code: 'tls_error', retryable: false });
      expect(error.message).toBe(
        `TLS certificate error reaching 127.0.0.1:${tls.port}: self-signed certificate ` +
          '(DEPTH_ZERO_SELF_SIGNED_CERT); certificate errors are final',
      );
    });

    it('reports a certificate for another name as a final tls_error', async () => {
      const error = await failure(
        new HttpConnector(trusting).execute({ url: `https://wrong-name.test:${tls.port}/` }, ctx),
      );
      expect(error).toMatchObject({ code: 'tls_error', retryable: false });
      expect(error.message).toContain('(ERR_TLS_CERT_ALTNAME_INVALID); certificate errors are final');
    });

    it('reports https to a plain-http port as a final tls_error', async () => {
      const error = await failure(http.execute({ url: allowed.url('/plain', 'https') }, ctx));
      expect(error).toMatchObject({ code: 'tls_error', retryable: false });
      expect(error.message).toContain('the server does not speak TLS on this port');
    });
  });
});
