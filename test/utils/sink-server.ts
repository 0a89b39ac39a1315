import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitFor } from './wait-for';

export interface SinkRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: string;
  json: unknown;
  at: number;
}

type Script = number | 'hang' | { status: number; headers?: Record<string, string>; body?: unknown };

/**
 * A real HTTP receiver on 127.0.0.1 for end-to-end tests. Each path can be told what to answer,
 * one scripted reply per request (`[500, 503, 200]`); once the script runs out it answers 200.
 */
export class SinkServer {
  readonly requests: SinkRequest[] = [];
  private readonly scripts = new Map<string, Script[]>();
  private readonly delays = new Map<string, number>();
  private readonly holds = new Map<string, Promise<void>>();
  private readonly hanging = new Set<ServerResponse>();
  private server: Server | undefined;

  static async start(): Promise<SinkServer> {
    const sink = new SinkServer();
    sink.server = createServer((req, res) => void sink.handle(req, res));
    sink.server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve) => sink.server!.listen(0, '127.0.0.1', resolve));
    return sink;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  /** Answers the next requests to `path` with these replies, in order. */
  script(path: string, replies: Script[]): void {
    this.scripts.set(path, [...replies]);
  }

  /** Answers every later request to `path` only after `ms` (a slow receiver); it is recorded on arrival. */
  delay(path: string, ms: number): void {
    this.delays.set(path, ms);
  }

  /**
   * Holds every later request to `path` (recorded on arrival) until the returned function is
   * called; then each is answered as it would have been.
   */
  hold(path: string): () => void {
    let release!: () => void;
    this.holds.set(path, new Promise<void>((resolve) => (release = resolve)));
    return () => {
      this.holds.delete(path);
      release();
    };
  }

  received(path: string): SinkRequest[] {
    return this.requests.filter((r) => r.path === path);
  }

  async waitForRequests(path: string, count: number, timeoutMs = 15_000): Promise<SinkRequest[]> {
    return waitFor(() => this.received(path).length >= count && this.received(path), {
      timeoutMs,
      what: `${count} request(s) to ${path} (got ${this.received(path).length})`,
    });
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://sink');
    let json: unknown;
    try {
      json = body ? JSON.parse(body) : undefined;
    } catch {
      json = undefined;
    }
    this.requests.push({
      method: req.method ?? '',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body,
      json,
      at: Date.now(),
    });
    const reply = this.scripts.get(url.pathname)?.shift() ?? 200;
    await this.holds.get(url.pathname);
    const delayMs = this.delays.get(url.pathname);
    if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs));
    if (reply === 'hang') {
      this.hanging.add(res);
      return;
    }
    const { status, headers, body: replyBody } = typeof reply === 'number' ? { status: reply } : reply;
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(replyBody ?? { ok: status < 300 }));
  }
}
