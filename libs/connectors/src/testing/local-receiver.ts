import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A real HTTP server on 127.0.0.1 port 0 for connector tests: records requests, answers per path. */
export class LocalReceiver {
  readonly requests: ReceivedRequest[] = [];
  private readonly statuses = new Map<string, number>();
  private readonly server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      this.requests.push({
        method: req.method ?? '',
        path,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      res.writeHead(this.statuses.get(path) ?? 200, { 'content-type': 'text/plain' }).end('ok');
    });
  });

  static async start(): Promise<LocalReceiver> {
    const receiver = new LocalReceiver();
    receiver.server.listen(0, '127.0.0.1');
    await once(receiver.server, 'listening');
    return receiver;
  }

  url(path: string, status = 200): string {
    this.statuses.set(path, status);
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
  }

  /** The one request that reached `path`, with its body parsed as JSON. */
  only(path: string): ReceivedRequest & { json: unknown } {
    const found = this.requests.filter((r) => r.path === path);
    if (found.length !== 1) throw new Error(`expected 1 request to ${path}, got ${found.length}`);
    return { ...found[0], json: JSON.parse(found[0].body) };
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close');
  }
}
