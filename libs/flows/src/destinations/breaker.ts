import type { StepError, StepOutcome } from '../model/step-outcome';

/**
 * The destination circuit breaker's decisions (docs/outbound.md, "Circuit breaker"), pure: what an
 * attempt says about its destination's health, and what a failure or a success does to its state.
 */
export const DESTINATION_STATES = ['healthy', 'paused', 'disabled'] as const;
export type DestinationState = (typeof DESTINATION_STATES)[number];
export type PausedBy = 'breaker' | 'hand';

/** A destination's breaker state as stored (one row per `host:port` that ever failed). */
export interface BreakerRow {
  state: DestinationState;
  pausedBy: PausedBy | null;
  /** Failures in a row, counted across all workers. */
  consecutiveFailures: number;
  /** When the current run of failures began (null while the last answer was a success). */
  failingSinceMs: number | null;
  pausedUntilMs: number | null;
  /** The cool-down the last pause got; the next failed probe doubles it. */
  cooldownMs: number | null;
  /** Set while a worker's probe attempt is out: who probes, until when. */
  probeUntilMs: number | null;
}

export interface BreakerPolicy {
  pauseAfter: number;
  cooldownMs: number;
  disableAfterMs: number;
}

/** The longest cool-down a failed probe doubles to. */
export const MAX_COOLDOWN_MS = 3_600_000;

/** What an attempt's outcome says about its destination: it is unwell, it answered, or nothing. */
export type Health = 'failure' | 'success' | 'neutral';

/** Errors that say the receiver is unwell; everything else it answered (4xx) or is not its fault. */
const UNWELL_CODES = new Set(['network_error', 'timeout', 'tls_error']);

/**
 * Connection errors, timeouts, TLS handshakes, 5xx and 429 are failures; any other answer (2xx,
 * 3xx, 4xx) is a success. No request sent, the SSRF guard's refusal or a cancel say nothing.
 */
export function healthOf(outcome: StepOutcome): Health {
  if (outcome.status === 'filtered' || !outcome.exchange) return 'neutral';
  if (outcome.status === 'succeeded') return 'success';
  return errorHealth(outcome.error);
}

export function errorHealth(error: StepError): Health {
  if (error.status !== undefined) return error.status >= 500 || error.status === 429 ? 'failure' : 'success';
  if (error.code === 'http_error') return 'success';
  return UNWELL_CODES.has(error.code) ? 'failure' : 'neutral';
}

/** What a change of state announces. */
export type BreakerEvent = 'destination.paused' | 'destination.resumed' | 'destination.disabled';

export interface BreakerChange {
  row: BreakerRow;
  event?: BreakerEvent;
}

/**
 * After a failure, counted already (`row.consecutiveFailures` includes it): a healthy destination
 * pauses at `pauseAfter`; a failed probe pauses it again for twice as long, or disables it once it
 * has failed for `disableAfterMs`. Attempts that were out when it paused change nothing.
 */
export function afterFailure(row: BreakerRow, policy: BreakerPolicy, nowMs: number): BreakerChange {
  const failingSinceMs = row.failingSinceMs ?? nowMs;
  const counted = { ...row, failingSinceMs };
  if (row.state === 'healthy') {
    if (row.consecutiveFailures < policy.pauseAfter) return { row: counted };
    return { row: pause(counted, policy.cooldownMs, nowMs), event: 'destination.paused' };
  }
  if (row.state === 'disabled' || row.pausedBy === 'hand' || row.probeUntilMs === null)
    return { row: counted };
  // The probe failed.
  if (nowMs - failingSinceMs >= policy.disableAfterMs) {
    return {
      row: { ...counted, state: 'disabled', pausedUntilMs: null, probeUntilMs: null },
      event: 'destination.disabled',
    };
  }
  const cooldownMs = Math.min(MAX_COOLDOWN_MS, Math.max(policy.cooldownMs, (row.cooldownMs ?? 0) * 2));
  return { row: pause(counted, cooldownMs, nowMs) };
}

/**
 * After an answer: the count starts again, and a destination paused by the breaker is healthy
 * (its probe, or an attempt out when it paused, got through). One paused or disabled by hand, or
 * disabled, stays so until resumed by hand.
 */
export function afterSuccess(row: BreakerRow): BreakerChange {
  const reset = { ...row, consecutiveFailures: 0, failingSinceMs: null };
  if (row.state === 'paused' && row.pausedBy === 'breaker')
    return { row: resumed(reset), event: 'destination.resumed' };
  return { row: reset };
}

/** Paused by hand: no probes until resumed by hand. */
export function pauseByHand(row: BreakerRow): BreakerChange {
  if (row.state === 'paused' && row.pausedBy === 'hand') return { row };
  return {
    row: { ...row, state: 'paused', pausedBy: 'hand', pausedUntilMs: null, probeUntilMs: null },
    event: 'destination.paused',
  };
}

/** Resumed by hand, from paused or disabled: healthy, counts reset. */
export function resumeByHand(row: BreakerRow): BreakerChange {
  const reset = { ...row, consecutiveFailures: 0, failingSinceMs: null };
  if (row.state === 'healthy') return { row: reset };
  return { row: resumed(reset), event: 'destination.resumed' };
}

/** Whether the cool-down is over and no probe is out: a worker may try to take the probe. */
export function mayProbe(row: BreakerRow, nowMs: number): boolean {
  return (
    row.state === 'paused' &&
    row.pausedBy === 'breaker' &&
    row.pausedUntilMs !== null &&
    row.pausedUntilMs <= nowMs &&
    (row.probeUntilMs === null || row.probeUntilMs < nowMs)
  );
}

function pause(row: BreakerRow, cooldownMs: number, nowMs: number): BreakerRow {
  return {
    ...row,
    state: 'paused',
    pausedBy: 'breaker',
    cooldownMs,
    pausedUntilMs: nowMs + cooldownMs,
    probeUntilMs: null,
  };
}

function resumed(row: BreakerRow): BreakerRow {
  return {
    ...row,
    state: 'healthy',
    pausedBy: null,
    pausedUntilMs: null,
    probeUntilMs: null,
    cooldownMs: null,
  };
}
