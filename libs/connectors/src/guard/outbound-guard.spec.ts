import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Agent, errors } from 'undici';
import { parseOutboundAllow } from './outbound-allow';
import {
  checkDestination,
  createGuardedConnector,
  OUTBOUND_BLOCKED_CODE,
  OutboundBlockedError,
} from './outbound-guard';

describe('checkDestination', () => {
  const allow = parseOutboundAllow('127.0.0.1/32, hooks.internal');

  it('refuses a blocked address and names the rule and the address', () => {
    const refused = checkDestination('rebind.example', ['127.0.0.2'], allow);
    expect(refused).toBeInstanceOf(OutboundBlockedError);
    expect(refused).toMatchObject({
      code: OUTBOUND_BLOCKED_CODE,
      hostname: 'rebind.example',
      address: '127.0.0.2',
      rule: 'loopback (127.0.0.0/8)',
    });
    expect(refused!.message).toBe(
      'rebind.example (resolved to 127.0.0.2) is refused by the outbound guard: loopback (127.0.0.0/8); ' +
        'OUTBOUND_ALLOW can make an exception',
    );
    expect(checkDestination('169.254.169.254', ['169.254.169.254'])!.message).toBe(
      '169.254.169.254 is refused by the outbound guard: cloud metadata endpoint (link-local 169.254.169.254); ' +
        'OUTBOUND_ALLOW can make an exception',
    );
  });

  it('refuses when any resolved address is blocked, not only the first', () => {
    expect(checkDestination('mixed.example', ['127.0.0.1', '10.0.0.5'], allow)?.address).toBe('10.0.0.5');
  });

  it('lets allowed CIDRs and allowed host names through', () => {
    expect(checkDestination('sink.example', ['127.0.0.1'], allow)).toBeUndefined();
    expect(checkDestination('::ffff:127.0.0.1', ['::ffff:127.0.0.1'], allow)).toBeUndefined();
    expect(checkDestination('hooks.internal', ['10.0.0.5', '127.0.0.2'], allow)).toBeUndefined();
    expect(checkDestination('[::1]', ['::1'], allow)?.rule).toBe('loopback (::1)');
  });
});

/** A server that only counts the TCP connections made to it. */
async function listen(host: string): Promise<{ server: Server; port: number; connections: () => number }> {
  let count = 0;
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => res.end(`hello from ${host} for ${req.headers.host}`));
  server.on('connection', (socket: Socket) => {
    count++;
    sockets.add(socket);
  });
  server.listen(0, host);
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port, connections: () => count };
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  server.close();
  await once(server, 'close');
}

// Every socket here is on loopback: the trap listens on 127.0.0.2, which the guard must refuse.
describe('createGuardedConnector', () => {
  let trap: Awaited<ReturnType<typeof listen>>;
  let sink: Awaited<ReturnType<typeof listen>>;
  const names: Record<string, string[]> = {
    'rebind.test': ['127.0.0.2'],
    'sink.test': ['127.0.0.1'],
    'mixed.test': ['127.0.0.1', '127.0.0.2'],
    'empty.test': [],
  };
  const lookups: string[] = [];
  const agent = (lookup = async (name: string) => (lookups.push(name), names[name] ?? [])) =>
    new Agent({
      connect: createGuardedConnector({
        allow: parseOutboundAllow('127.0.0.1/32'),
        timeoutMs: 2_000,
        lookup,
      }),
    });

  beforeAll(async () => {
    trap = await listen('127.0.0.2');
    sink = await listen('127.0.0.1');
  });

  afterAll(async () => {
    await close(trap.server);
    await close(sink.server);
  });

  it('connects to exactly the address it checked, keeping the name in the Host header', async () => {
    const dispatcher = agent();
    try {
      const res = await dispatcher.request({
        origin: `http://sink.test:${sink.port}`,
        path: '/',
        method: 'GET',
      });
      expect(await res.body.text()).toBe(`hello from 127.0.0.1 for sink.test:${sink.port}`);
      expect(lookups).toContain('sink.test');
    } finally {
      await dispatcher.close();
    }
  });

  it.each([
    ['a name that resolves to a blocked address (DNS rebinding)', 'rebind.test', '127.0.0.2'],
    ['a name with one allowed and one blocked address', 'mixed.test', '127.0.0.2'],
    ['a literal blocked address', '127.0.0.2', '127.0.0.2'],
  ])('refuses %s without opening a socket', async (_what, host, address) => {
    const dispatcher = agent();
    const before = trap.connections();
    try {
      const error = await dispatcher
        .request({ origin: `http://${host}:${trap.port}`, path: '/', method: 'GET' })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).toBeInstanceOf(OutboundBlockedError);
      expect(error).toMatchObject({ address, rule: 'loopback (127.0.0.0/8)' });
      expect(trap.connections()).toBe(before);
    } finally {
      await dispatcher.close();
    }
    expect(trap.connections()).toBe(0);
  });

  it('fails a name without addresses, and a lookup slower than the connect timeout', async () => {
    const empty = agent();
    await expect(
      empty.request({ origin: `http://empty.test:${sink.port}`, path: '/', method: 'GET' }),
    ).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await empty.close();

    const slow = new Agent({
      connect: createGuardedConnector({
        timeoutMs: 50,
        lookup: () => new Promise((resolve) => setTimeout(() => resolve(['127.0.0.1']), 1_000).unref()),
      }),
    });
    await expect(
      slow.request({ origin: `http://slow.test:${sink.port}`, path: '/', method: 'GET' }),
    ).rejects.toBeInstanceOf(errors.ConnectTimeoutError);
    await slow.close();
  });
});
