import { validateHeaderName, validateHeaderValue } from 'node:http';
import { DEFAULT_RESPOND_STATUS } from '../validation/flow-defaults';

/** What a trigger answers, with the body already serialised: the server never has to guess how to send it. */
export interface IngressResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** A trigger's `respond`, prepared once per flow version. */
export interface TriggerReply {
  /** What an accepted request answers: `respond.status`, default 202. */
  status: number;
  /** `respond.status`, when the trigger sets one. */
  configuredStatus: number | undefined;
  /** `respond.headers` by lower-case name, less the ones the server must set itself. */
  headers: Record<string, string>;
  /** `respond.body` as sent: a string as it is, any other JSON value as JSON text; undefined when unset. */
  body: string | undefined;
}

const TEXT = 'text/plain; charset=utf-8';
const JSON_TEXT = 'application/json; charset=utf-8';
/** Framing and connection headers are the server's to set; a static value would corrupt the answer. */
const SERVER_HEADERS = new Set([
  'connection',
  'content-length',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);
/** Statuses that carry no body (RFC 9110 15.3.5, 15.3.6, 15.4.5). */
const BODILESS = new Set([204, 205, 304]);

/** Whether a response header is the server's to set (framing, connection): never a flow's. */
export function isServerHeader(name: string): boolean {
  return SERVER_HEADERS.has(name.toLowerCase());
}

/** The media types an answer gets when its flow names none. */
export const ANSWER_CONTENT_TYPES = { text: TEXT, json: JSON_TEXT } as const;

/** Prepares a trigger's `respond`; headers Node would refuse go to `dropped`, so no flow causes a 500. */
export function compileReply(
  respond: { status?: number; body?: unknown; headers?: Record<string, string> } | undefined,
): { reply: TriggerReply; dropped: string[] } {
  const headers: Record<string, string> = {};
  const dropped: string[] = [];
  for (const [name, value] of Object.entries(respond?.headers ?? {})) {
    const lower = name.toLowerCase();
    if (SERVER_HEADERS.has(lower) || !isValidHeader(lower, value)) dropped.push(name);
    else headers[lower] = value;
  }
  const body = respond?.body;
  if (body !== undefined && headers['content-type'] === undefined) {
    headers['content-type'] = typeof body === 'string' ? TEXT : JSON_TEXT;
  }
  return {
    reply: {
      status: respond?.status ?? DEFAULT_RESPOND_STATUS,
      configuredStatus: respond?.status,
      headers,
      body: body === undefined || typeof body === 'string' ? body : JSON.stringify(body),
    },
    dropped,
  };
}

/** The answer to an accepted request: the configured body, or `{ runId, eventId }`. */
export function acceptedReply(reply: TriggerReply, ids: { runId: string; eventId: string }): IngressResponse {
  return answer(reply.status, reply.headers, reply.body ?? JSON.stringify(ids));
}

/** The answer to a repeat: the configured one again (providers retry until their "OK"), else 200. */
export function duplicateReply(reply: TriggerReply, runId: string): IngressResponse {
  if (reply.body !== undefined) return answer(reply.status, reply.headers, reply.body);
  return answer(reply.configuredStatus ?? 200, reply.headers, JSON.stringify({ runId, duplicate: true }));
}

/** An answer as sent: no body for a status that carries none, JSON unless a content type is set. */
export function answer(status: number, configured: Record<string, string>, body: string): IngressResponse {
  if (BODILESS.has(status)) return { status, headers: configured, body: '' };
  const headers = configured['content-type'] ? configured : { ...configured, 'content-type': JSON_TEXT };
  return { status, headers, body };
}

/** Whether Node would send this header as it is (a token name, a value without line breaks or NUL). */
export function isValidHeader(name: string, value: unknown): boolean {
  if (typeof value !== 'string') return false;
  try {
    validateHeaderName(name);
    validateHeaderValue(name, value);
    return true;
  } catch {
    return false;
  }
}
