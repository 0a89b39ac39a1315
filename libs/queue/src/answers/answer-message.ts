import { answerOf, type IngressResponse, type RespondSignal } from '@hookflow/flows';

/**
 * Bytes of a message that carries its answer. PostgreSQL's NOTIFY payloads stop at 8,000 bytes, and
 * every API replica hears every message: a larger answer is named, and read from the store once.
 */
export const MAX_CARRIED_ANSWER_BYTES = 7_500;

/** What a worker tells the API replicas about the run a sender may be waiting on. */
export type AnswerMessage =
  | { runId: string; kind: 'answer'; answer: IngressResponse }
  /** The respond step succeeded; its answer is its stored output. */
  | { runId: string; kind: 'stored' }
  /** No answer will come: the sender gets the trigger's default at once. */
  | { runId: string; kind: 'none' };

/** The message for a respond signal; `output` is the respond step's output as stored. */
export function answerMessage(runId: string, signal: RespondSignal, output: unknown): string {
  if (signal === 'none') return JSON.stringify({ runId, kind: 'none' });
  const carried = JSON.stringify({ runId, kind: 'answer', answer: output });
  return Buffer.byteLength(carried) <= MAX_CARRIED_ANSWER_BYTES
    ? carried
    : JSON.stringify({ runId, kind: 'stored' });
}

const RUN_ID = /^[0-9a-f-]{36}$/;

/** A message as heard; null for anything else on the channel. An answer that cannot be sent is `none`. */
export function readAnswerMessage(text: string): AnswerMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (value === null || typeof value !== 'object') return null;
  const { runId, kind, answer } = value as Record<string, unknown>;
  if (typeof runId !== 'string' || !RUN_ID.test(runId)) return null;
  if (kind === 'none' || kind === 'stored') return { runId, kind };
  if (kind !== 'answer') return null;
  const sendable = answerOf(answer);
  return sendable ? { runId, kind: 'answer', answer: sendable } : { runId, kind: 'none' };
}
