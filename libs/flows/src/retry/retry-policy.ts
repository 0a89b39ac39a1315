import type { StepDef } from '../model/flow-definition';
import { parseDuration } from './duration';

/** A step's retry settings with every default filled in, in milliseconds. */
export interface RetryPolicy {
  /** Total tries, the first one included. */
  attempts: number;
  backoff: 'exponential' | 'fixed';
  delayMs: number;
  maxDelayMs: number;
}

/** Eight tries, full-jitter exponential from 1s: about two minutes to come back, as with Svix. */
export const DEFAULT_ACTION_ATTEMPTS = 8;
/** A poll tries its request this often before the poll counts as failed; the next poll comes anyway. */
export const DEFAULT_POLL_ATTEMPTS = 3;
export const DEFAULT_RETRY_DELAY_MS = 1000;
export const DEFAULT_RETRY_MAX_DELAY_MS = 3_600_000;
export const DEFAULT_STEP_TIMEOUT_MS = 30_000;

/** The retry policy of a step: its own `retry` over the defaults (8 attempts for actions, 1 otherwise). */
export function resolveRetryPolicy(step: StepDef): RetryPolicy {
  const retry = step.retry ?? {};
  return {
    attempts: retry.attempts ?? (step.type === 'action' ? DEFAULT_ACTION_ATTEMPTS : 1),
    backoff: retry.backoff ?? 'exponential',
    delayMs: retry.delay === undefined ? DEFAULT_RETRY_DELAY_MS : parseDuration(retry.delay),
    maxDelayMs: retry.maxDelay === undefined ? DEFAULT_RETRY_MAX_DELAY_MS : parseDuration(retry.maxDelay),
  };
}

/** The budget of one attempt of a step: its `timeout`, 30s by default. */
export function resolveTimeoutMs(step: StepDef): number {
  return step.timeout === undefined ? DEFAULT_STEP_TIMEOUT_MS : parseDuration(step.timeout);
}

/**
 * The wait before the next attempt after `failedAttempts` (>= 1) failures: full jitter, so runs
 * failing together do not retry in lockstep; a Retry-After wins, up to `maxDelayMs`.
 */
export function backoffDelayMs(
  policy: RetryPolicy,
  failedAttempts: number,
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  if (retryAfterMs !== undefined && Number.isFinite(retryAfterMs)) {
    return Math.max(0, Math.min(Math.round(retryAfterMs), policy.maxDelayMs));
  }
  if (policy.backoff === 'fixed') return Math.min(policy.delayMs, policy.maxDelayMs);
  const n = Math.max(1, Math.floor(failedAttempts));
  const ceilingMs = Math.min(policy.maxDelayMs, policy.delayMs * 2 ** (n - 1));
  return Math.floor(random() * ceilingMs);
}

const IMF_FIXDATE = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const RFC850_DATE = /^[A-Z][a-z]+, \d{2}-[A-Z][a-z]{2}-\d{2} \d{2}:\d{2}:\d{2} GMT$/;
const ASCTIME_DATE = /^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/;
const DELTA_SECONDS = /^-?\d+(\.\d+)?$/;

/**
 * An HTTP `Retry-After` (seconds or HTTP-date) in ms from `nowMs`; undefined when unparseable. Only
 * the three HTTP-date shapes pass, since `Date.parse` alone reads all kinds of junk as a date.
 */
export function parseRetryAfter(value: string | undefined, nowMs: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (DELTA_SECONDS.test(v)) return Math.max(0, Math.round(Number(v) * 1000));
  if (IMF_FIXDATE.test(v) || RFC850_DATE.test(v) || ASCTIME_DATE.test(v)) {
    // asctime carries no zone; HTTP defines it as GMT.
    const at = Date.parse(ASCTIME_DATE.test(v) ? `${v} GMT` : v);
    if (Number.isNaN(at)) return undefined;
    return Math.max(0, at - nowMs);
  }
  return undefined;
}
