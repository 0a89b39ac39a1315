import { CliError, type ErrorDetail } from './cli-error';

export const DEFAULT_HOOKFLOW_URL = 'http://localhost:3000';
/** How to point the CLI at a server, for the errors that mean it points at the wrong one. */
export const TARGET_HINT =
  'set HOOKFLOW_URL or pass --url, or save both once: hookflow login --url <url> --key <key>';
/** A request that takes longer than this is given up; sync of many files is the slowest call. */
export const REQUEST_TIMEOUT_MS = 60_000;

export interface ApiClientOptions {
  baseUrl: string;
  apiKey?: string;
  timeoutMs?: number;
  /** Injected by tests; defaults to the global fetch. */
  fetch?: typeof fetch;
}

type Query = Record<string, string | number | boolean | undefined>;

interface RequestOptions {
  body?: unknown;
  query?: Query;
}

const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_SOCKET: 'connection closed',
};

/** Finds the most telling reason in fetch's `TypeError('fetch failed')` and its causes. */
export function describeNetworkError(err: unknown): string {
  let cause: any = err;
  for (let i = 0; i < 5 && cause?.cause; i++) cause = cause.cause;
  // localhost resolves to ::1 and 127.0.0.1; both refusing gives an AggregateError without a message.
  if (cause instanceof AggregateError && cause.errors.length > 0) cause = cause.errors[0];
  const code: string | undefined = typeof cause?.code === 'string' ? cause.code : undefined;
  if (code && NETWORK_CODES[code]) return `${NETWORK_CODES[code]} (${code})`;
  const message = cause instanceof Error && cause.message ? cause.message : String(cause);
  return code && !message.includes(code) ? `${message} (${code})` : message;
}

/** Checks and normalizes a server URL given by HOOKFLOW_URL or --url. */
export function parseBaseUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new CliError(
      `'${value}' is not a valid Hookflow URL; expected something like ${DEFAULT_HOOKFLOW_URL}`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError(`'${value}' is not an http(s) URL`);
  }
  return url.toString().replace(/\/+$/, '');
}

/** The management API over fetch; every failure becomes a `CliError` that says what to do. */
export class ApiClient {
  readonly baseUrl: string;
  private readonly apiKey: string | undefined;
  private readonly timeoutMs: number;
  private readonly fetch: typeof fetch;

  constructor(opts: ApiClientOptions) {
    this.baseUrl = parseBaseUrl(opts.baseUrl);
    this.apiKey = opts.apiKey || undefined;
    this.timeoutMs = opts.timeoutMs ?? REQUEST_TIMEOUT_MS;
    this.fetch = opts.fetch ?? fetch;
  }

  /** Sends a request and parses the JSON answer. */
  async json<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.send(method, path, opts);
    const text = await res.text();
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new CliError(
        `unexpected answer from ${this.baseUrl}${path}: not JSON (is HOOKFLOW_URL pointing at Hookflow?)`,
      );
    }
  }

  /** Sends a request and returns the answer's body as is. */
  async text(method: string, path: string, opts: RequestOptions = {}): Promise<string> {
    const res = await this.send(method, path, opts);
    return res.text();
  }

  private async send(method: string, path: string, opts: RequestOptions): Promise<Response> {
    const url = new URL(`${this.baseUrl}${path}`);
    for (const [name, value] of Object.entries(opts.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await this.fetch(url, {
        method,
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      if ((err as Error)?.name === 'TimeoutError') {
        throw new CliError(`Hookflow at ${this.baseUrl} did not answer within ${this.timeoutMs / 1000}s`);
      }
      throw new CliError(`cannot reach Hookflow at ${this.baseUrl}: ${describeNetworkError(err)}`, {
        code: 'unreachable',
        details: [{ message: TARGET_HINT }],
      });
    }
    if (res.ok) return res;
    throw await this.errorFrom(res, method, url);
  }

  private async errorFrom(res: Response, method: string, url: URL): Promise<CliError> {
    const text = await res.text().catch(() => '');
    let body: { error?: unknown; message?: unknown; details?: unknown } = {};
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed && typeof parsed === 'object') body = parsed as typeof body;
    } catch {
      // not the API's JSON error: reported by status below
    }
    const code = typeof body.error === 'string' ? body.error : `http_${res.status}`;
    if (res.status === 401) {
      const message = this.apiKey
        ? `${this.baseUrl} refused the API key: set HOOKFLOW_API_KEY (or --key) to a valid key, or run hookflow login`
        : `${this.baseUrl} needs an API key: set HOOKFLOW_API_KEY, pass --key, or save it once with hookflow login`;
      return new CliError(message, { code: 'unauthorized' });
    }
    const details: ErrorDetail[] = Array.isArray(body.details)
      ? body.details
          .filter((d): d is Record<string, unknown> => !!d && typeof d === 'object')
          .map((d) => ({
            file: typeof d.file === 'string' ? d.file : undefined,
            path: typeof d.path === 'string' ? d.path : undefined,
            message: typeof d.message === 'string' ? d.message : JSON.stringify(d),
          }))
      : [];
    const message =
      typeof body.message === 'string' && body.message
        ? body.message
        : `${method} ${url.pathname} answered HTTP ${res.status}${text ? `: ${text.slice(0, 200)}` : ''}`;
    return new CliError(message, { code, details });
  }
}
