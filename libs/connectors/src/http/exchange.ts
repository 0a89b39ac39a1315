import type { Exchange, ExchangeRequest, ExchangeResponse } from '@hookflow/flows';

/** Bytes of each body (request, response) an attempt's record keeps; the rest is cut and flagged. */
export const MAX_EXCHANGE_BODY_BYTES = 16 * 1024;
/**
 * Bytes of a body a connector hands over for masking before the cut to `MAX_EXCHANGE_BODY_BYTES`,
 * so a secret that straddles the cut is still found whole: secrets are at most 64 KiB, 128 KiB
 * in hex, the longest form the redactor looks for (JSON escapes of control characters aside).
 */
export const EXCHANGE_SCAN_BYTES = 256 * 1024;
/** Headers kept per request or response; the rest are dropped (a receiver's answer is hostile). */
export const MAX_EXCHANGE_HEADERS = 64;
/** Characters kept of one header value. */
export const MAX_EXCHANGE_HEADER_CHARS = 2048;
/** Characters kept of the request URL (a template can make one as long as its input). */
export const MAX_EXCHANGE_URL_CHARS = 8192;
/** What a credential (a header that is one by nature, URL userinfo) is stored as, as for inbound events. */
export const MASKED = '[redacted]';

/**
 * Header names that say they carry a credential or signature (authorization, cookie, set-cookie,
 * x-api-key, webhook-signature, x-hub-signature-256...): the same rule as inbound events and logs.
 */
const CREDENTIAL_HEADER =
  /authorization|cookie|token|secret|signature|hmac|api-?key|password|passwd|session|credential/i;

type Redact = (text: string) => string;
const keep: Redact = (text) => text;

/**
 * An attempt's exchange as it is stored: secrets the step used replaced by `redact` (applied to the
 * URL, header values and the first `EXCHANGE_SCAN_BYTES` of each body, before any cut), credential
 * headers and URL userinfo masked, headers and bodies bounded. Pure; the connector gives the raw one.
 */
export function captureExchange(raw: Exchange, redact: Redact = keep): Exchange {
  return {
    // A host name may hold a secret too (`https://{{secret 'TENANT'}}.example.com`).
    destination: redact(raw.destination),
    request: captureRequest(raw.request, redact),
    response: raw.response && captureResponse(raw.response, redact),
  };
}

function captureRequest(request: ExchangeRequest, redact: Redact): ExchangeRequest {
  const body = boundBody(request.body, redact);
  return {
    method: request.method,
    url: redact(maskUserinfo(request.url.slice(0, EXCHANGE_SCAN_BYTES))).slice(0, MAX_EXCHANGE_URL_CHARS),
    headers: boundHeaders(request.headers, redact),
    body: body.text,
    bodyBytes: request.bodyBytes,
    bodyTruncated: request.bodyTruncated || body.cut,
  };
}

function captureResponse(response: ExchangeResponse, redact: Redact): ExchangeResponse {
  const body = boundBody(response.body, redact);
  return {
    status: response.status,
    headers: boundHeaders(response.headers, redact),
    body: body.text,
    bodyBytes: response.bodyBytes,
    bodyTruncated: response.bodyTruncated || body.cut,
    durationMs: response.durationMs,
  };
}

function maskUserinfo(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url;
  }
  if (parsed.username === '' && parsed.password === '') return url;
  // Set through the URL API (which would percent-encode the marker), then spelt out.
  parsed.username = 'u';
  parsed.password = '';
  return parsed.href.replace('//u@', `//${MASKED}@`);
}

function boundHeaders(headers: Record<string, string>, redact: Redact): Record<string, string> {
  // No prototype: a header named __proto__ stays a header.
  const out: Record<string, string> = Object.create(null);
  let count = 0;
  for (const [rawName, value] of Object.entries(headers)) {
    if (count++ >= MAX_EXCHANGE_HEADERS) break;
    const name = rawName.toLowerCase().slice(0, MAX_EXCHANGE_HEADER_CHARS);
    // Masked before the cut, as bodies are, so a secret across the cut leaves no part of itself.
    out[name] = CREDENTIAL_HEADER.test(name)
      ? MASKED
      : redact(value.slice(0, EXCHANGE_SCAN_BYTES)).slice(0, MAX_EXCHANGE_HEADER_CHARS);
  }
  return out;
}

/** The masked body cut to `MAX_EXCHANGE_BODY_BYTES` of UTF-8 on a character boundary. */
function boundBody(body: string | null, redact: Redact): { text: string | null; cut: boolean } {
  if (body === null) return { text: null, cut: false };
  const masked = redact(body);
  // A UTF-16 unit is at most 3 UTF-8 bytes: short text needs no encoding to know it fits.
  if (masked.length * 3 <= MAX_EXCHANGE_BODY_BYTES) return { text: masked, cut: false };
  return cutUtf8(masked, MAX_EXCHANGE_BODY_BYTES);
}

/** `text` cut to at most `maxBytes` of UTF-8, never inside a character. */
export function cutUtf8(text: string, maxBytes: number): { text: string; cut: boolean } {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return { text, cut: false };
  return { text: decodeCut(bytes, maxBytes), cut: true };
}

/** The first `maxBytes` of `bytes` as text, backed off to the start of a character. */
export function decodeCut(bytes: Buffer, maxBytes: number): string {
  if (bytes.length <= maxBytes) return bytes.toString('utf8');
  let end = maxBytes;
  // Continuation bytes are 10xxxxxx: back off to the lead byte of the character cut in two.
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
  return bytes.toString('utf8', 0, end);
}

/** The raw request record of an attempt, its body the first `EXCHANGE_SCAN_BYTES` as sent. */
export function rawRequest(spec: {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: string;
}): ExchangeRequest {
  if (spec.body === undefined) {
    return {
      method: spec.method,
      url: spec.url.href,
      headers: spec.headers,
      body: null,
      bodyBytes: 0,
      bodyTruncated: false,
    };
  }
  // Most bodies are small: no encoding when the length alone shows it fits.
  const small = spec.body.length * 3 <= EXCHANGE_SCAN_BYTES;
  const bodyBytes = Buffer.byteLength(spec.body, 'utf8');
  const body = small ? { text: spec.body, cut: false } : cutUtf8(spec.body, EXCHANGE_SCAN_BYTES);
  return {
    method: spec.method,
    url: spec.url.href,
    headers: spec.headers,
    body: body.text,
    bodyBytes,
    bodyTruncated: body.cut,
  };
}

/** The raw response record: headers flattened, the first `EXCHANGE_SCAN_BYTES` of the body read. */
export function rawResponse(
  status: number,
  headers: Record<string, string | string[] | undefined>,
  body: { bytes: Buffer; truncated: boolean } | null,
  durationMs: number,
): ExchangeResponse {
  const flat: Record<string, string> = Object.create(null);
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return {
    status,
    headers: flat,
    body: body && decodeCut(body.bytes, EXCHANGE_SCAN_BYTES),
    bodyBytes: body?.bytes.length ?? 0,
    bodyTruncated: body === null || body.truncated || body.bytes.length > EXCHANGE_SCAN_BYTES,
    durationMs,
  };
}

/** `host:port` of a URL, the port filled in from the scheme: what per-destination figures group by. */
export function destinationOf(url: URL): string {
  return `${url.hostname.toLowerCase()}:${url.port || (url.protocol === 'https:' ? '443' : '80')}`;
}
