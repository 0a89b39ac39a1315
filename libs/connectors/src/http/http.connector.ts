import type { Dispatcher } from 'undici';
import { ConnectorError, type Connector, type ConnectorContext } from '@hookflow/flows';
import { OUTBOUND_BLOCKED_CODE } from '../guard/outbound-guard';
import { HOOKFLOW_VERSION } from '../version';
import { destinationOf, rawRequest, rawResponse } from './exchange';
import { buildHttpRequest, SIGNATURE_HEADERS, type HttpRequestSpec } from './http-request';
import { firstValue, HttpOutput, readBoundedBody, statusError, toHttpOutput } from './http-response';
import { httpWithSchema, MAX_FOLLOW_REDIRECTS } from './http-with.schema';

export { httpWithSchema } from './http-with.schema';
export type { HttpWith } from './http-with.schema';
export type { HttpOutput } from './http-response';

export interface HttpConnectorOptions {
  /** Response bytes kept in the step output; the rest is discarded unread. Default 1 MiB. */
  maxResponseBytes?: number;
}

export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
// The request itself is malformed (a header undici refuses, a content-length that does not match
// the body): sending it again cannot succeed.
const INVALID_REQUEST_CODES = new Set([
  'UND_ERR_INVALID_ARG',
  'UND_ERR_NOT_SUPPORTED',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
]);
// Certificate verification failures: the same certificate fails the same way on the next attempt,
// so they are final (fix the certificate or the URL, then retry the run).
const CERTIFICATE_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_CHAIN_TOO_LONG',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'PATH_LENGTH_EXCEEDED',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);
// Plain HTTP on the other end of an https: URL: a wrong URL, not a passing fault.
const NOT_TLS_CODE = 'ERR_SSL_WRONG_VERSION_NUMBER';
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Headers a cross-origin redirect hop keeps: credentials must not reach another origin (as in Fetch). */
const CROSS_ORIGIN_KEPT_HEADERS = new Set([
  'accept',
  'accept-language',
  'user-agent',
  'content-type',
  'content-length',
  'content-encoding',
  'content-language',
]);
/** Headers that describe a body, dropped when a redirect turns the request into a body-less GET. */
const BODY_HEADERS = [
  'content-type',
  'content-length',
  'content-encoding',
  'content-language',
  'content-location',
];
const NETWORK_DESCRIPTIONS: Record<string, string> = {
  UND_ERR_SOCKET: 'connection closed unexpectedly',
  UND_ERR_CLOSED: 'dispatcher closed',
  UND_ERR_DESTROYED: 'dispatcher destroyed',
  UND_ERR_ABORTED: 'request aborted',
};

/** Marks an abort caused by our own per-attempt deadline, as opposed to the caller's signal. */
class AttemptDeadlineError extends Error {
  override readonly name = 'AttemptDeadlineError';
}

/**
 * The built-in `http` action: one request per attempt through the dispatcher, its outcome a step
 * output or a `ConnectorError`; redirects only with `with.followRedirects` (docs/flow-format.md).
 */
export class HttpConnector implements Connector {
  readonly key = 'http';
  readonly schema = httpWithSchema;
  private readonly maxResponseBytes: number;
  private readonly userAgent = `Hookflow/${HOOKFLOW_VERSION}`;

  constructor(
    private readonly dispatcher: Dispatcher,
    options: HttpConnectorOptions = {},
  ) {
    this.maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    if (!Number.isSafeInteger(this.maxResponseBytes) || this.maxResponseBytes < 0) {
      throw new RangeError(
        `maxResponseBytes must be a non-negative integer, got ${options.maxResponseBytes}`,
      );
    }
  }

  async execute(input: Record<string, unknown>, ctx: ConnectorContext): Promise<HttpOutput> {
    const isObject = typeof input === 'object' && input !== null && !Array.isArray(input);
    const { followRedirects: rawFollow, ...rest } = isObject ? input : {};
    const followRedirects = parseFollowRedirects(rawFollow);
    let request = buildHttpRequest(isObject ? rest : input, {
      idempotencyKey: ctx.idempotencyKey,
      userAgent: this.userAgent,
    });
    let host = request.url.host;
    const destination = destinationOf(request.url);
    const { timeoutMs } = ctx;
    // What the last hop got back, for the attempt's record (also when the attempt fails after it).
    let received: ReceivedResponse | null = null;

    // undici's own timeouts each cover one phase (connect, headers, gaps between body chunks);
    // this deadline bounds the whole attempt, so a receiver trickling bytes cannot outlive it.
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new AttemptDeadlineError()), timeoutMs);
    const signal = ctx.signal ? AbortSignal.any([deadline.signal, ctx.signal]) : deadline.signal;
    try {
      for (let hops = 0; ; hops++) {
        received = null;
        const sentAt = performance.now();
        const response = await this.dispatcher.request({
          origin: request.url.origin,
          path: `${request.url.pathname}${request.url.search}`,
          method: request.method,
          headers: request.headers,
          body: request.body,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
          signal,
        });
        const location = firstValue(response.headers.location);
        // Headers came: a body that then fails to arrive (or a redirect's, never read) leaves the status on record.
        received = { status: response.statusCode, headers: response.headers, body: null, sentAt };
        if (REDIRECT_STATUSES.has(response.statusCode) && location !== undefined && hops < followRedirects) {
          // A redirect's own body is never wanted; dump() reads a little and keeps the socket reusable.
          await response.body.dump();
          request = redirectedRequest(request, response.statusCode, location, host);
          host = request.url.host;
          continue;
        }
        const { bytes, truncated } = await readBoundedBody(response.body, this.maxResponseBytes);
        received.body = { bytes, truncated };
        received.endedAt = performance.now();
        const output = toHttpOutput(response.statusCode, response.headers, bytes, truncated);
        const error = statusError(output, host, Date.now());
        if (error)
          throw REDIRECT_STATUSES.has(output.status) ? explainRedirect(error, hops, followRedirects) : error;
        return output;
      }
    } catch (error) {
      throw classifyFailure(error, {
        host,
        timeoutMs,
        timedOut: deadline.signal.aborted,
        cancelled: ctx.signal?.aborted === true,
      });
    } finally {
      clearTimeout(timer);
      if (ctx.onExchange) {
        const response =
          received &&
          rawResponse(
            received.status,
            received.headers,
            received.body,
            Math.round((received.endedAt ?? performance.now()) - received.sentAt),
          );
        ctx.onExchange({ destination, request: rawRequest(request), response });
      }
    }
  }
}

/** A hop's response as undici gave it, turned into the attempt's record only if someone listens. */
interface ReceivedResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Null until read (a redirect's body is never read). */
  body: { bytes: Buffer; truncated: boolean } | null;
  sentAt: number;
  endedAt?: number;
}

function parseFollowRedirects(value: unknown): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_FOLLOW_REDIRECTS) {
    throw new ConnectorError(
      'invalid_config',
      `with.followRedirects must be a whole number from 0 to ${MAX_FOLLOW_REDIRECTS}`,
      false,
    );
  }
  return value;
}

/** The next hop of a redirect, built as Fetch builds it (docs/flow-format.md, `followRedirects`). */
function redirectedRequest(
  previous: HttpRequestSpec,
  status: number,
  location: string,
  host: string,
): HttpRequestSpec {
  let url: URL;
  try {
    url = new URL(location, previous.url);
  } catch {
    throw new ConnectorError('http_error', `HTTP ${status} from ${host} redirects to an invalid URL`, false, {
      status,
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConnectorError(
      'http_error',
      `HTTP ${status} from ${host} redirects to a ${url.protocol} URL; only http: and https: are followed`,
      false,
      { status },
    );
  }
  if (url.username !== '' || url.password !== '') {
    throw new ConnectorError(
      'http_error',
      `HTTP ${status} from ${host} redirects to a URL with credentials`,
      false,
      {
        status,
      },
    );
  }
  if (previous.url.protocol === 'https:' && url.protocol === 'http:') {
    throw new ConnectorError(
      'http_error',
      `HTTP ${status} from ${host} redirects from https to plain http; not followed (headers would travel in clear)`,
      false,
      { status },
    );
  }
  url.hash = '';
  const headers: Record<string, string> = Object.assign(Object.create(null), previous.headers);
  let { method, body } = previous;
  if (status === 303 ? method !== 'HEAD' : (status === 301 || status === 302) && method === 'POST') {
    method = 'GET';
    body = undefined;
    for (const name of BODY_HEADERS) delete headers[name];
    // The Standard Webhooks signature covered the body that is no longer sent: drop it rather than lie.
    for (const name of SIGNATURE_HEADERS) delete headers[name];
  }
  if (url.origin !== previous.url.origin) {
    // Another origin gets only what describes the request, never what authorises or signs it:
    // any header may carry a secret ({{secret}} in x-api-key), and a signature could be replayed.
    for (const name of Object.keys(headers)) {
      if (!CROSS_ORIGIN_KEPT_HEADERS.has(name.toLowerCase())) delete headers[name];
    }
  }
  return { ...previous, method, url, headers, body };
}

/** A 3xx that ends the attempt says why it was not followed. */
function explainRedirect(error: ConnectorError, hops: number, followRedirects: number): ConnectorError {
  const why =
    followRedirects === 0
      ? 'redirects are not followed unless with.followRedirects allows them'
      : hops >= followRedirects
        ? `stopped after ${hops} redirect(s), the with.followRedirects limit`
        : 'the redirect has no Location header';
  return new ConnectorError(error.code, `${error.message} (${why})`, error.retryable, error.extra);
}

function classifyFailure(
  error: unknown,
  attempt: { host: string; timeoutMs: number; timedOut: boolean; cancelled: boolean },
): ConnectorError {
  if (error instanceof ConnectorError) return error;
  const { host } = attempt;
  const code = errorCode(error);
  // The SSRF guard refused the address before connecting: the same address is refused every time.
  if (code === OUTBOUND_BLOCKED_CODE) {
    return new ConnectorError('blocked', messageOf(error), false);
  }
  // Certificate errors are final; other handshake failures (a reset mid-handshake, an alert from an
  // overloaded terminator) may pass, so they are retried like network errors.
  if (code !== undefined && CERTIFICATE_CODES.has(code)) {
    return new ConnectorError(
      'tls_error',
      `TLS certificate error reaching ${host}: ${messageOf(error)} (${code}); certificate errors are final`,
      false,
    );
  }
  if (code === NOT_TLS_CODE) {
    return new ConnectorError(
      'tls_error',
      `TLS handshake with ${host} failed: ${messageOf(error)} (${code}); the server does not speak TLS on this port`,
      false,
    );
  }
  if (code !== undefined && isTlsHandshakeCode(code)) {
    return new ConnectorError(
      'tls_error',
      `TLS handshake with ${host} failed: ${messageOf(error)} (${code})`,
      true,
    );
  }
  if (attempt.timedOut || (code !== undefined && TIMEOUT_CODES.has(code))) {
    return new ConnectorError(
      'timeout',
      `no response from ${host} within ${formatMs(attempt.timeoutMs)}`,
      true,
    );
  }
  // Cancelled by the worker (shutdown, run cancelled): not the receiver's fault, so another
  // attempt may run later; the worker decides whether it does.
  if (attempt.cancelled) return new ConnectorError('network_error', `request to ${host} was cancelled`, true);
  if (code !== undefined && INVALID_REQUEST_CODES.has(code)) {
    // undici's messages here name the header or option, never a value.
    const detail = error instanceof Error ? `: ${error.message}` : '';
    return new ConnectorError('invalid_config', `request to ${host} is invalid${detail}`, false);
  }
  const label = code ?? (error instanceof Error ? error.name : 'unknown error');
  const description =
    code !== undefined && NETWORK_DESCRIPTIONS[code] ? ` (${NETWORK_DESCRIPTIONS[code]})` : '';
  return new ConnectorError('network_error', `network error ${label}${description} reaching ${host}`, true);
}

function isTlsHandshakeCode(code: string): boolean {
  return code.startsWith('ERR_SSL_') || code === 'EPROTO' || code.startsWith('ERR_TLS_');
}

/** The message of the error that carries the code (undici may wrap it in a `cause`). */
function messageOf(error: unknown): string {
  for (let current = error, depth = 0; current && depth < 3; depth++) {
    if (typeof (current as { code?: unknown }).code === 'string') return (current as Error).message;
    current = (current as { cause?: unknown }).cause;
  }
  return error instanceof Error ? error.message : String(error);
}

/** Node's errno codes and undici's UND_ERR_* codes, also when wrapped in a `cause`. */
function errorCode(error: unknown): string | undefined {
  for (let current = error, depth = 0; current && depth < 3; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${ms}ms` : `${Math.round(ms / 100) / 10}s`;
}
