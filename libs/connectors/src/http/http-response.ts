import type { Readable } from 'node:stream';
import { ConnectorError, parseRetryAfter } from '@hookflow/flows';

/** What an http step outputs, on success and attached to an `http_error`. */
export interface HttpOutput {
  status: number;
  headers: Record<string, string | string[]>;
  body: unknown;
  /** Present (and true) only when the body was cut at `maxResponseBytes`. */
  truncated?: true;
}

/**
 * Reads at most `maxBytes` of a response body. On overflow or error the stream is destroyed, not
 * drained, so undici drops the socket rather than pooling a half-read one.
 */
export async function readBoundedBody(
  body: Readable,
  maxBytes: number,
): Promise<{ bytes: Buffer; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      if (size + chunk.length > maxBytes) {
        chunks.push(chunk.subarray(0, maxBytes - size));
        return { bytes: Buffer.concat(chunks, maxBytes), truncated: true };
      }
      chunks.push(chunk);
      size += chunk.length;
    }
    return { bytes: Buffer.concat(chunks, size), truncated: false };
  } finally {
    if (!body.readableEnded && !body.destroyed) body.destroy();
  }
}

const JSON_CONTENT_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/** Builds the step output: lower-case headers, body parsed when it is complete, well-formed JSON. */
export function toHttpOutput(
  status: number,
  rawHeaders: Record<string, string | string[] | undefined>,
  bytes: Buffer,
  truncated: boolean,
): HttpOutput {
  // fromEntries defines own properties, so a header named __proto__ cannot reach the prototype.
  const headers = Object.fromEntries(
    Object.entries(rawHeaders)
      .filter((entry): entry is [string, string | string[]] => entry[1] !== undefined)
      .map(([name, value]) => [name.toLowerCase(), value]),
  );
  const text = bytes.toString('utf8');
  let body: unknown = text;
  const contentType = firstValue(headers['content-type']);
  if (!truncated && contentType !== undefined && JSON_CONTENT_TYPE.test(contentType)) {
    try {
      body = JSON.parse(text);
    } catch {
      // A receiver mislabelling its body is not our failure; later steps still see the text.
    }
  }
  return truncated ? { status, headers, body, truncated: true } : { status, headers, body };
}

const RETRYABLE_STATUSES = new Set([408, 425, 429]);
const GONE = 410;

/** Classifies a non-2xx response, undefined for 2xx (rules: docs/flow-format.md, `action`; 410: retired). */
export function statusError(output: HttpOutput, host: string, nowMs: number): ConnectorError | undefined {
  const { status } = output;
  if (status >= 200 && status < 300) return undefined;
  const message = `HTTP ${status} from ${host}`;
  if (status === GONE) {
    return new ConnectorError('http_error', `${message} (Gone: the endpoint was retired)`, false, {
      status,
      output,
    });
  }
  const retryable = RETRYABLE_STATUSES.has(status) || (status >= 500 && status < 600);
  if (!retryable) return new ConnectorError('http_error', message, false, { status, output });
  const retryAfterMs =
    status === 429 || status === 503
      ? parseRetryAfter(firstValue(output.headers['retry-after']), nowMs)
      : undefined;
  return new ConnectorError('http_error', message, true, {
    status,
    output,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });
}

export function firstValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
