import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { CliError } from './cli-error';
import type { CliIo } from './output';

/** What the receiver answers and how it prints (`hookflow listen` builds it from its options). */
export interface ListenerOptions {
  port: number;
  host: string;
  /** The answer once the failures are used up. */
  status: number;
  /** How many first requests get `failStatus`. */
  failFirst: number;
  failStatus: number;
  /** Wait before answering, to try a step's timeout. */
  delayMs: number;
  /** One JSON object per request per line instead of the readable block. */
  json: boolean;
  /** Bodies past this are not read and get 413 (default 10 MiB). */
  maxBodyBytes?: number;
}

/** A running receiver. */
export interface Listener {
  /** Where it listens, e.g. `http://127.0.0.1:4000`; any path under it is received. */
  readonly url: string;
  /** Requests received so far. */
  readonly count: number;
  /** Stops listening and drops open connections, answered or not. */
  close(): Promise<void>;
}

/** What one request became; `--json` prints exactly this, one per line. */
export interface ReceivedRequest {
  n: number;
  time: string;
  method: string;
  /** Path and query as received. */
  url: string;
  status: number;
  /** This is the `n`th of the `of` requests that `--fail-first` fails. */
  failing?: { n: number; of: number };
  /** The Idempotency-Key (else webhook-id) and how often this listener has seen it: every retry sends the same. */
  idempotencyKey?: string;
  try?: number;
  headers: IncomingMessage['headers'];
  bodyBytes: number;
  bodyType: 'empty' | 'json' | 'text' | 'binary' | 'too_large';
  /** Parsed JSON, text, base64 for binary; absent when empty or too large. */
  body?: unknown;
}

export const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;
/** A terminal shows this much of a body; `--json` has all of it. */
export const SHOWN_BODY_CHARS = 16 * 1024;
// Keys of a long session are forgotten oldest first, so memory stays bounded.
const REMEMBERED_KEYS = 10_000;

/** Starts the receiver; it prints each request to `io.stdout` and notes to `io.stderr`. */
export async function startListener(options: ListenerOptions, io: CliIo): Promise<Listener> {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const stopping = new AbortController();
  const seenKeys = new Map<string, number>();
  let count = 0;
  let failed = 0;

  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      if (!stopping.signal.aborted) io.stderr.write(`hookflow listen: ${err.message}\n`);
      res.destroy();
    });
  });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const arrived = new Date();
    let body: Buffer | undefined;
    let size: number;
    try {
      ({ body, size } = await readBody(req, maxBodyBytes));
    } catch {
      if (!stopping.signal.aborted)
        io.stderr.write(
          printable(`hookflow listen: ${req.method} ${req.url} ended before its whole body arrived\n`),
        );
      res.destroy();
      return;
    }
    const n = ++count;
    let status = options.status;
    let failing: ReceivedRequest['failing'];
    if (body === undefined) status = 413;
    else if (failed < options.failFirst) {
      failing = { n: ++failed, of: options.failFirst };
      status = options.failStatus;
    }
    const key = headerValue(req, 'idempotency-key') ?? headerValue(req, 'webhook-id');
    const { text, ...shown } = describeBody(body, size);
    const received: ReceivedRequest = {
      n,
      time: arrived.toISOString(),
      method: req.method ?? '',
      url: req.url ?? '',
      status,
      ...(failing ? { failing } : {}),
      ...(key === undefined ? {} : { idempotencyKey: key, try: remember(seenKeys, key) }),
      headers: req.headers,
      ...shown,
    };
    io.stdout.write(
      options.json ? `${jsonLine(received, text)}\n` : `${formatReceived(received, req.rawHeaders, text)}\n`,
    );

    res.on('close', () => {
      if (!res.writableFinished && !stopping.signal.aborted) {
        const waited = ((Date.now() - arrived.getTime()) / 1000).toFixed(1);
        io.stderr.write(
          `hookflow listen: #${n}: the sender closed the connection after ${waited}s, before the ${status} (a timeout?)\n`,
        );
      }
    });
    if (options.delayMs > 0 && body !== undefined)
      await sleep(options.delayMs, undefined, { signal: stopping.signal });
    answer(
      req,
      res,
      status,
      failing ? `--fail-first ${failing.of}: request ${failing.n} of ${failing.of}` : undefined,
    );
  };

  await new Promise<void>((resolve, reject) => {
    const refused = (err: NodeJS.ErrnoException) => reject(listenError(err, options));
    server.once('error', refused);
    server.listen(options.port, options.host, () => {
      server.off('error', refused);
      resolve();
    });
  });
  server.on('error', (err) => io.stderr.write(`hookflow listen: ${err.message}\n`));
  const address = server.address() as AddressInfo;

  return {
    url: `http://${urlHost(address.address)}:${address.port}`,
    get count() {
      return count;
    },
    async close() {
      stopping.abort();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

/** The body and its size; no body when it is over the bound (then it is drained, not kept). */
function readBody(req: IncomingMessage, maxBytes: number): Promise<{ body?: Buffer; size: number }> {
  const declared = Number(req.headers['content-length']);
  if (declared > maxBytes) {
    req.resume();
    return Promise.resolve({ size: declared });
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) chunks.push(chunk);
      else if (chunks.length > 0) chunks.length = 0;
    });
    req.on('end', () => resolve(size <= maxBytes ? { body: Buffer.concat(chunks), size } : { size }));
    req.on('error', reject);
  });
}

function answer(req: IncomingMessage, res: ServerResponse, status: number, reason: string | undefined): void {
  if (res.destroyed) return;
  if (status === 413) {
    // The rest of an oversized body is not worth reading: close once answered.
    res.writeHead(413, { 'content-type': 'application/json', connection: 'close' });
    res.end(JSON.stringify({ ok: false, reason: 'hookflow listen: body too large' }));
    return;
  }
  if (status === 204 || status === 304 || req.method === 'HEAD') {
    res.writeHead(status).end();
    return;
  }
  const ok = status < 400;
  const body = ok ? { ok } : { ok, reason: `hookflow listen ${reason ?? `--status ${status}`}` };
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function remember(seen: Map<string, number>, key: string): number {
  const times = (seen.get(key) ?? 0) + 1;
  seen.delete(key);
  seen.set(key, times);
  if (seen.size > REMEMBERED_KEYS) seen.delete(seen.keys().next().value as string);
  return times;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The fields of a body, and its text when it has one (the terminal shows that, not a re-serialisation). */
function describeBody(
  body: Buffer | undefined,
  size: number,
): Pick<ReceivedRequest, 'bodyBytes' | 'bodyType' | 'body'> & { text?: string } {
  if (body === undefined) return { bodyBytes: size, bodyType: 'too_large' };
  if (body.length === 0) return { bodyBytes: 0, bodyType: 'empty' };
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    return { bodyBytes: body.length, bodyType: 'binary', body: body.toString('base64') };
  }
  if (text.includes('\0'))
    return { bodyBytes: body.length, bodyType: 'binary', body: body.toString('base64') };
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      return { bodyBytes: body.length, bodyType: 'json', body: JSON.parse(text), text };
    } catch {
      // Not JSON after all: shown as text.
    }
  }
  return { bodyBytes: body.length, bodyType: 'text', body: text, text };
}

function jsonLine(r: ReceivedRequest, text: string | undefined): string {
  try {
    return JSON.stringify(r);
  } catch {
    // Nested too deep to serialise again: the body goes out as the text it came as.
    return JSON.stringify({ ...r, bodyType: 'text', body: text });
  }
}

/** The readable block: a header line, the headers as sent, the body; `rawHeaders` keep the sender's case and order. */
export function formatReceived(r: ReceivedRequest, rawHeaders: string[], text = ''): string {
  const status = r.failing ? `${r.status} (fail-first ${r.failing.n} of ${r.failing.of})` : `${r.status}`;
  const key = r.idempotencyKey === undefined ? '' : `  idempotency-key ${r.idempotencyKey}, try ${r.try}`;
  const lines = [printable(`#${r.n} ${clock(new Date(r.time))} ${r.method} ${r.url} -> ${status}${key}`)];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2)
    lines.push(printable(`  ${rawHeaders[i]}: ${rawHeaders[i + 1]}`));
  const shown = bodyLines(r, text);
  if (shown.length > 0) lines.push('', ...shown.map((line) => (line ? `  ${line}` : line)));
  return `${lines.join('\n')}\n`;
}

/**
 * Re-indents valid JSON text without parsing it, so what is shown is what was sent: big numbers,
 * `1.0`, duplicate keys and key order (JavaScript puts integer-like keys first) stay as they came.
 * Stops past `maxChars`, so deep nesting cannot make its indentation quadratic.
 */
export function indentJson(text: string, maxChars = Infinity): string {
  let out = '';
  let depth = 0;
  let inString = false;
  const newline = () => `\n${'  '.repeat(depth)}`;
  for (let i = 0; i < text.length && out.length <= maxChars; i++) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i];
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      let next = i + 1;
      while (next < text.length && /\s/.test(text[next])) next++;
      if (text[next] === close) {
        out += c + close;
        i = next;
      } else {
        depth++;
        out += c + newline();
      }
    } else if (c === '}' || c === ']') {
      depth--;
      out += newline() + c;
    } else if (c === ',') out += `,${newline()}`;
    else if (c === ':') out += ': ';
    else if (!/\s/.test(c)) out += c;
  }
  return out;
}

function bodyLines(r: ReceivedRequest, text: string): string[] {
  switch (r.bodyType) {
    case 'empty':
      return [];
    case 'too_large':
      return [`(body of ${r.bodyBytes} bytes, over the size limit: not read, answered 413)`];
    case 'binary':
      return [`(binary body, ${r.bodyBytes} bytes)`];
    case 'json':
      return shorten(printable(indentJson(text, SHOWN_BODY_CHARS)), r.bodyBytes);
    case 'text':
      return shorten(printable(text.replace(/\r\n/g, '\n')), r.bodyBytes);
  }
}

function shorten(text: string, bodyBytes: number): string[] {
  if (text.length <= SHOWN_BODY_CHARS) return text.split('\n');
  return [
    ...text.slice(0, SHOWN_BODY_CHARS).split('\n'),
    `... (cut at ${SHOWN_BODY_CHARS} characters of a ${bodyBytes}-byte body; --json prints it whole)`,
  ];
}

// A body or header must not drive the terminal: control characters (escapes, CR) are shown as \u00XX.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

export function printable(text: string): string {
  return text.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function clock(date: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}.${String(date.getMilliseconds()).padStart(3, '0')}`;
}

// A wildcard bind is reached on loopback from this machine; IPv6 needs brackets in a URL.
function urlHost(address: string): string {
  if (address === '0.0.0.0') return '127.0.0.1';
  if (address === '::') return '[::1]';
  return address.includes(':') ? `[${address}]` : address;
}

function listenError(err: NodeJS.ErrnoException, options: ListenerOptions): Error {
  const where = `port ${options.port} on ${options.host}`;
  switch (err.code) {
    case 'EADDRINUSE':
      return new CliError(`${where} is already in use: stop what holds it, or pick another with --port`, {
        code: 'port_in_use',
      });
    case 'EACCES':
      return new CliError(
        `not allowed to listen on ${where} (ports below 1024 need privileges): use --port`,
        {
          code: 'port_refused',
        },
      );
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new CliError(`cannot listen on ${options.host}: no such address on this machine (--host)`, {
        code: 'bad_host',
      });
    default:
      return new CliError(`cannot listen on ${where}: ${err.message}`, { code: 'listen_failed' });
  }
}
