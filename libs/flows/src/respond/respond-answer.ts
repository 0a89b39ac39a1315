// A respond step's answer: how it is built from what the step rendered, read back from where it
// travelled, and when a step's end tells the waiting sender something (docs/architecture.md).
import type { StepStatus } from '../model/step-status';
import {
  ANSWER_CONTENT_TYPES,
  answer,
  isServerHeader,
  isValidHeader,
  type IngressResponse,
} from '../trigger/trigger-reply';
import { MAX_RESPOND_HEADER_VALUE_LENGTH } from '../validation/flow-limits';

/** Headers every respond step's answer carries unless the step sets them itself. */
export const ANSWER_GUARDS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'content-security-policy': 'sandbox',
};

/** What a respond step rendered, before it is checked: its headers and its `json` value or `body` text. */
export interface RenderedAnswer {
  status: number;
  headers: Record<string, unknown>;
  /** `json`: the value to send as JSON; `body`: the text to send. */
  content: { json: unknown } | { body: unknown };
}

/** A rendered answer that cannot be sent: `field` is the pointer in the step (`/headers/x-id`). */
export class AnswerError extends Error {
  constructor(
    message: string,
    readonly field: string,
    readonly code: 'template_error' | 'output_too_large',
  ) {
    super(message);
    this.name = 'AnswerError';
  }
}

/** Turns a respond step's rendering into the answer as sent; throws `AnswerError` for what HTTP refuses or what is too large. */
export function buildAnswer(rendered: RenderedAnswer, maxBodyBytes: number): IngressResponse {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(rendered.headers)) {
    const lower = name.toLowerCase();
    const text = value === null || value === undefined ? '' : String(value);
    if (isServerHeader(lower))
      throw new AnswerError('is set by the server', `/headers/${name}`, 'template_error');
    if (text.length > MAX_RESPOND_HEADER_VALUE_LENGTH) {
      throw new AnswerError(
        `rendered ${text.length} characters; a header value may have at most ${MAX_RESPOND_HEADER_VALUE_LENGTH}`,
        `/headers/${name}`,
        'template_error',
      );
    }
    // A value from the request with a line break would split the header: refused, never sent.
    if (!isValidHeader(lower, text)) {
      throw new AnswerError(
        'rendered a value HTTP does not allow in a header (a line break, a control character, or a character past U+00FF)',
        `/headers/${name}`,
        'template_error',
      );
    }
    headers[lower] = text;
  }
  const json = 'json' in rendered.content;
  const value = json
    ? (rendered.content as { json: unknown }).json
    : (rendered.content as { body: unknown }).body;
  const body = json
    ? (JSON.stringify(value ?? null) ?? 'null')
    : value === null || value === undefined
      ? ''
      : String(value);
  const bytes = Buffer.byteLength(body);
  if (bytes > maxBodyBytes) {
    throw new AnswerError(
      `rendered ${bytes} bytes; an answer may have at most ${maxBodyBytes}`,
      json ? '/json' : '/body',
      'output_too_large',
    );
  }
  headers['content-type'] ??= json ? ANSWER_CONTENT_TYPES.json : ANSWER_CONTENT_TYPES.text;
  // Sent from the API's origin: a body rendered from the request must never run there as a page.
  for (const [name, value] of Object.entries(ANSWER_GUARDS)) headers[name] ??= value;
  return answer(rendered.status, headers, body);
}

/**
 * A respond step's output as an answer that can be sent, read back from the store or a message;
 * null when it is not one (then the sender gets the trigger's default answer, never a 500).
 */
export function answerOf(value: unknown): IngressResponse | null {
  if (value === null || typeof value !== 'object') return null;
  const { status, headers, body } = value as Record<string, unknown>;
  if (!Number.isInteger(status) || (status as number) < 200 || (status as number) > 599) return null;
  if (typeof body !== 'string' || headers === null || typeof headers !== 'object') return null;
  const sent: Record<string, string> = {};
  for (const [name, text] of Object.entries(headers)) {
    if (isServerHeader(name) || !isValidHeader(name, text)) return null;
    sent[name.toLowerCase()] = text as string;
  }
  return { status: status as number, headers: sent, body };
}

/** What a step's end tells the sender waiting for the run's respond step. */
export type RespondSignal = 'answer' | 'none';

/**
 * `answer` when the respond step succeeded; `none` when it failed or was filtered, or when the
 * end skips it (a failure or a filter before it, a path not taken): the sender need not wait.
 * Null otherwise: nothing the sender waits for changed.
 */
export function respondSignal(
  respondStepId: string | undefined,
  stepId: string,
  status: Extract<StepStatus, 'succeeded' | 'failed' | 'filtered'>,
  skipped: readonly string[],
): RespondSignal | null {
  if (respondStepId === undefined) return null;
  if (stepId === respondStepId) return status === 'succeeded' ? 'answer' : 'none';
  return skipped.includes(respondStepId) ? 'none' : null;
}
