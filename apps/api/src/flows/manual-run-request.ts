import { valueDepthExceeds } from '@hookflow/flows';
import type { HookflowConfig } from '@hookflow/platform';
import { AppError, ErrorCode } from '../common/app-error';
import { escapePointer } from '../common/request-body-check';

/** Most query values a manual run takes: what Node's query string parser keeps at most. */
export const MAX_QUERY_VALUES = 1000;
/** Most bytes of query names and values: about what a URL can carry. */
export const MAX_QUERY_BYTES = 16 * 1024;

/** The request a manual run stands for, checked; headers lower-cased but not yet redacted. */
export interface ManualRunRequest {
  /** Null when none was given. */
  body: unknown;
  /** The body as compact JSON text, what the inspector previews; null without a body. */
  rawBody: Buffer | null;
  headers: Record<string, string>;
  query: Record<string, string | string[]>;
}

export type ManualRunLimits = Pick<
  HookflowConfig,
  'maxBodyBytes' | 'maxHeaderCount' | 'maxHeaderBytes' | 'maxJsonDepth'
>;

/** The most a manual run's request body can be: its body, and room for its bounded headers and query. */
export function manualRunBodyLimit(limits: ManualRunLimits): number {
  // Twice the bounds: JSON quotes and escapes what it carries.
  return limits.maxBodyBytes + 2 * (limits.maxHeaderBytes + MAX_QUERY_BYTES);
}

/** An RFC 9110 token: what a header name may be. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Control characters but tab: a line break in a value would be a header of its own. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;

/** Checks `POST /api/flows/:slug/run`'s body `{ body?, headers?, query? }`; a 4xx names the field. */
export function parseManualRun(request: unknown, limits: ManualRunLimits): ManualRunRequest {
  if (request === undefined) request = {};
  if (!isObject(request)) {
    throw AppError.invalid('', 'must be a JSON object: { body?, headers?, query? }');
  }
  const { body = null, headers, query } = request as Record<string, unknown>;
  return {
    body,
    rawBody: bodyText(body, limits),
    headers: headersOf(headers, limits),
    query: queryOf(query),
  };
}

function bodyText(body: unknown, limits: ManualRunLimits): Buffer | null {
  if (body === null) return null;
  // Measured before serialising: JSON.stringify recurses, and a deep enough value would overflow the stack.
  if (valueDepthExceeds(body, limits.maxJsonDepth)) {
    throw AppError.invalid('/body', `is nested deeper than ${limits.maxJsonDepth} levels`);
  }
  const raw = Buffer.from(JSON.stringify(body));
  if (raw.length > limits.maxBodyBytes) {
    const message = `is ${raw.length} bytes as JSON; at most ${limits.maxBodyBytes} are accepted`;
    throw new AppError(ErrorCode.PayloadTooLarge, `body ${message}`, [{ path: '/body', message }]);
  }
  return raw;
}

function headersOf(value: unknown, limits: ManualRunLimits): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isObject(value)) throw AppError.invalid('/headers', 'must be an object of header names to values');
  const names = Object.keys(value);
  if (names.length > limits.maxHeaderCount) {
    throw AppError.invalid(
      '/headers',
      `has ${names.length} headers; at most ${limits.maxHeaderCount} are accepted`,
    );
  }
  const headers: Record<string, string> = {};
  let bytes = 0;
  for (const name of names) {
    const path = `/headers/${escapePointer(name)}`;
    const v = (value as Record<string, unknown>)[name];
    if (!HEADER_NAME.test(name)) {
      throw AppError.invalid(path, "is not a header name (letters, digits and !#$%&'*+-.^_`|~ only)");
    }
    if (typeof v !== 'string') throw AppError.invalid(path, 'must be a string');
    if (CONTROL.test(v))
      throw AppError.invalid(path, 'must not contain control characters such as line breaks');
    const lower = name.toLowerCase();
    if (Object.hasOwn(headers, lower)) {
      throw AppError.invalid(path, `repeats the header '${lower}' (header names ignore case)`);
    }
    headers[lower] = v;
    bytes += Buffer.byteLength(name) + Buffer.byteLength(v);
  }
  if (bytes > limits.maxHeaderBytes) {
    throw AppError.invalid('/headers', `are ${bytes} bytes; at most ${limits.maxHeaderBytes} are accepted`);
  }
  return headers;
}

function queryOf(value: unknown): Record<string, string | string[]> {
  if (value === undefined || value === null) return {};
  if (!isObject(value)) {
    throw AppError.invalid('/query', 'must be an object of parameter names to a value or a list of values');
  }
  const query: Record<string, string | string[]> = {};
  let count = 0;
  let bytes = 0;
  for (const [name, v] of Object.entries(value)) {
    const path = `/query/${escapePointer(name)}`;
    if (name === '') throw AppError.invalid(path, 'has an empty name');
    const values = Array.isArray(v) ? v : [v];
    if (values.length === 0 || values.some((item) => typeof item !== 'string')) {
      throw AppError.invalid(path, 'must be a string or a non-empty array of strings');
    }
    count += values.length;
    bytes += Buffer.byteLength(name) + values.reduce((sum, item) => sum + Buffer.byteLength(item), 0);
    if (count > MAX_QUERY_VALUES) {
      throw AppError.invalid('/query', `has more than ${MAX_QUERY_VALUES} values`);
    }
    if (bytes > MAX_QUERY_BYTES) {
      throw AppError.invalid('/query', `is more than ${MAX_QUERY_BYTES} bytes of names and values`);
    }
    query[name] = v as string | string[];
  }
  return query;
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
