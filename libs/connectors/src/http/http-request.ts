import { ConnectorError } from '@hookflow/flows';
import { HTTP_METHODS, HttpMethod } from './http-with.schema';
import { parseSigningSecret, signWebhook, webhookId } from './webhook-signature';

/** A validated outbound request, ready for undici. Header names are lower-case. */
export interface HttpRequestSpec {
  method: HttpMethod;
  url: URL;
  headers: Record<string, string>;
  body?: string;
}

export interface RequestDefaults {
  idempotencyKey: string;
  userAgent: string;
  /** Clock for `webhook-timestamp` when signing; default `Date.now()`. */
  nowMs?: number;
}

/** The Standard Webhooks headers a `sign` step sets. */
export const SIGNATURE_HEADERS = ['webhook-id', 'webhook-timestamp', 'webhook-signature'];

// RFC 9110 token characters; values may not carry CR, LF or NUL (header injection).
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEADER_VALUE_FORBIDDEN = /[\r\n\0]/;

function invalid(message: string): ConnectorError {
  return new ConnectorError('invalid_config', message, false);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Turns rendered `with` into a request, or throws a final `invalid_config` that never echoes values. */
export function buildHttpRequest(input: unknown, defaults: RequestDefaults): HttpRequestSpec {
  if (!isPlainObject(input)) throw invalid('with must be an object');
  const allowed = new Set(['method', 'url', 'headers', 'query', 'json', 'body', 'sign']);
  const unknownKey = Object.keys(input).find((key) => !allowed.has(key));
  if (unknownKey !== undefined) throw invalid(`with.${unknownKey} is not an option of the http connector`);

  const method = parseMethod(input.method);
  const url = parseUrl(input.url);
  appendQuery(url, input.query);
  const headers = parseHeaders(input.headers);

  const hasJson = input.json !== undefined;
  const hasBody = input.body !== undefined;
  if (hasJson && hasBody) throw invalid('with.json and with.body are mutually exclusive');

  let body: string | undefined;
  if (hasJson) {
    body = JSON.stringify(input.json);
    headers['content-type'] ??= 'application/json';
  } else if (hasBody) {
    if (typeof input.body !== 'string') throw invalid('with.body must be a string');
    body = input.body;
    headers['content-type'] ??= 'text/plain; charset=utf-8';
  }

  headers['idempotency-key'] ??= defaults.idempotencyKey;
  headers['user-agent'] ??= defaults.userAgent;
  if (input.sign !== undefined) {
    const key = parseSignKey(input.sign);
    const taken = SIGNATURE_HEADERS.find((name) => Object.hasOwn(headers, name));
    if (taken !== undefined) throw invalid(`with.headers sets ${taken}, which with.sign computes`);
    // Signed over the same string that goes on the wire, after every header and body decision.
    Object.assign(
      headers,
      signWebhook(
        key,
        webhookId(headers['idempotency-key']),
        (defaults.nowMs ?? Date.now()) / 1000,
        body ?? '',
      ),
    );
  }
  return { method, url, headers, body };
}

/** `with.sign` after executeStep has put the secret's value in place of its name. */
function parseSignKey(sign: unknown): Buffer {
  if (!isPlainObject(sign)) throw invalid('with.sign must be an object');
  const unknownKey = Object.keys(sign).find((key) => key !== 'secret');
  if (unknownKey !== undefined) throw invalid(`with.sign.${unknownKey} is not an option of with.sign`);
  if (typeof sign.secret !== 'string' || sign.secret === '') {
    throw invalid('with.sign.secret is required and must be a string');
  }
  return parseSigningSecret(sign.secret);
}

function parseMethod(value: unknown): HttpMethod {
  if (value === undefined) return 'POST';
  const method = typeof value === 'string' ? value.toUpperCase() : undefined;
  if (method === undefined || !(HTTP_METHODS as readonly string[]).includes(method)) {
    throw invalid(`with.method must be one of ${HTTP_METHODS.join(', ')}`);
  }
  return method as HttpMethod;
}

function parseUrl(value: unknown): URL {
  if (typeof value !== 'string' || value === '') throw invalid('with.url is required and must be a string');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid('with.url is not an absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalid(`with.url uses ${url.protocol} but only http: and https: are allowed`);
  }
  // undici drops userinfo silently; refusing is better than sending unauthenticated requests.
  if (url.username !== '' || url.password !== '') {
    throw invalid('with.url must not contain credentials; send them in with.headers (authorization)');
  }
  url.hash = '';
  return url;
}

function appendQuery(url: URL, query: unknown): void {
  if (query === undefined) return;
  if (!isPlainObject(query)) throw invalid('with.query must be an object');
  for (const [key, raw] of Object.entries(query)) {
    for (const value of Array.isArray(raw) ? raw : [raw]) {
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
        throw invalid(`with.query.${key} must be a string, number, boolean or an array of them`);
      }
      url.searchParams.append(key, String(value));
    }
  }
}

function parseHeaders(value: unknown): Record<string, string> {
  // No prototype: a header named __proto__ must stay a header.
  const headers: Record<string, string> = Object.create(null);
  if (value === undefined) return headers;
  if (!isPlainObject(value)) throw invalid('with.headers must be an object');
  for (const [name, headerValue] of Object.entries(value)) {
    if (!HEADER_NAME.test(name)) throw invalid(`with.headers has an invalid header name "${name}"`);
    if (typeof headerValue !== 'string') throw invalid(`with.headers.${name} must be a string`);
    if (HEADER_VALUE_FORBIDDEN.test(headerValue)) {
      throw invalid(`with.headers.${name} contains a line break or NUL character`);
    }
    const lower = name.toLowerCase();
    if (Object.hasOwn(headers, lower)) throw invalid(`with.headers sets ${lower} more than once`);
    headers[lower] = headerValue;
  }
  return headers;
}
