import type { Dispatcher } from 'undici';
import { ConnectorError, type Connector, type ConnectorContext } from '@hookflow/flows';
import { HOOKFLOW_VERSION } from '../version';
import { buildHttpRequest } from './http-request';
import { HttpOutput, readBoundedBody, statusError, toHttpOutput } from './http-response';
import { httpWithSchema } from './http-with.schema';

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
 * The built-in `http` action: sends one request per attempt through the given undici dispatcher
 * (redirects are not followed) and classifies the outcome into a step output or a `ConnectorError`.
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
    const request = buildHttpRequest(input, {
      idempotencyKey: ctx.idempotencyKey,
      userAgent: this.userAgent,
    });
    const host = request.url.host;
    const { timeoutMs } = ctx;

    // undici's own timeouts each cover one phase (connect, headers, gaps between body chunks);
    // this deadline bounds the whole attempt, so a receiver trickling bytes cannot outlive it.
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new AttemptDeadlineError()), timeoutMs);
    const signal = ctx.signal ? AbortSignal.any([deadline.signal, ctx.signal]) : deadline.signal;
    try {
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
      const { bytes, truncated } = await readBoundedBody(response.body, this.maxResponseBytes);
      const output = toHttpOutput(response.statusCode, response.headers, bytes, truncated);
      const error = statusError(output, host, Date.now());
      if (error) throw error;
      return output;
    } catch (error) {
      throw classifyFailure(error, {
        host,
        timeoutMs,
        timedOut: deadline.signal.aborted,
        cancelled: ctx.signal?.aborted === true,
      });
    } finally {
      clearTimeout(timer);
    }
  }
}

function classifyFailure(
  error: unknown,
  attempt: { host: string; timeoutMs: number; timedOut: boolean; cancelled: boolean },
): ConnectorError {
  if (error instanceof ConnectorError) return error;
  const { host } = attempt;
  const code = errorCode(error);
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
