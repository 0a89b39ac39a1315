import net from 'node:net';

/** One client connection through the proxy, named by the port its upstream side uses. */
interface Link {
  client: net.Socket;
  upstream: net.Socket;
  /** Replies from upstream are dropped instead of passed on. */
  swallowing: boolean;
}

/**
 * A TCP proxy on 127.0.0.1 in front of `target` (PostgreSQL, say), for tests that lose a
 * connection at a chosen moment. Each connection is known by its upstream side's local port,
 * which is the `client_port` PostgreSQL reports for its backend in `pg_stat_activity`.
 */
export class TcpProxy {
  private readonly links = new Map<number, Link>();
  private server: net.Server | undefined;

  private constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const proxy = new TcpProxy(target.host, target.port);
    proxy.server = net.createServer((client) => proxy.connect(client));
    await new Promise<void>((resolve) => proxy.server!.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.server!.address() as net.AddressInfo).port;
  }

  /**
   * From now on the replies of the connection whose upstream side uses `clientPort` are dropped:
   * what it sends still reaches the server (a COMMIT too), the answer never comes back.
   */
  swallowReplies(clientPort: number): void {
    const link = this.links.get(clientPort);
    if (!link) throw new Error(`no connection through the proxy from port ${clientPort}`);
    link.swallowing = true;
  }

  /** Cuts that connection on both sides, as a network failure would. */
  cut(clientPort: number): void {
    const link = this.links.get(clientPort);
    if (!link) throw new Error(`no connection through the proxy from port ${clientPort}`);
    link.upstream.destroy();
    link.client.destroy();
  }

  async close(): Promise<void> {
    for (const link of this.links.values()) {
      link.upstream.destroy();
      link.client.destroy();
    }
    await new Promise((resolve) => this.server?.close(resolve));
  }

  private connect(client: net.Socket): void {
    const upstream = net.connect(this.targetPort, this.targetHost);
    let link: Link | undefined;
    let port: number | undefined;
    upstream.once('connect', () => {
      link = { client, upstream, swallowing: false };
      port = upstream.localPort!;
      this.links.set(port, link);
      client.on('data', (chunk: Buffer) => upstream.write(chunk));
      upstream.on('data', (chunk: Buffer) => {
        if (!link!.swallowing) client.write(chunk);
      });
      client.resume();
    });
    client.pause();
    const end = () => {
      if (port !== undefined) this.links.delete(port);
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      socket.once('close', end);
      socket.once('error', end);
    }
  }
}
