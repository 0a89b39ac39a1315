/** Waits after each failed try of an operational delivery: 8 tries over about a day (docs/alerts.md). */
export const OPS_RETRY_DELAYS_MS = [
  60_000,
  5 * 60_000,
  15 * 60_000,
  3_600_000,
  3 * 3_600_000,
  6 * 3_600_000,
  12 * 3_600_000,
];
/** Tries of one delivery, the first included. */
export const OPS_MAX_ATTEMPTS = OPS_RETRY_DELAYS_MS.length + 1;
/** A receiver's Retry-After is honoured up to this. */
const MAX_RETRY_AFTER_MS = 24 * 3_600_000;
/** Each wait is moved by up to this fraction either way, so deliveries failed together spread out. */
const JITTER = 0.2;

/** How one try failed, as the connector classified it. */
export interface OpsTryFailure {
  code: string;
  retryable: boolean;
  /** The receiver's HTTP status, when it answered. */
  status?: number;
  retryAfterMs?: number;
}

/** Tries again later, or gives up: the delivery is then `failed`. */
export type OpsRetryDecision = { retry: true; delayMs: number } | { retry: false };

/**
 * After the `attempt`-th try failed. A receiver that answered (any status) is tried again, as
 * Standard Webhooks senders do: a 404 is often a deploy away from a 200. What no retry can mend
 * (an address the SSRF guard refuses, a URL that does not render) fails at once.
 */
export function opsRetryDecision(
  attempt: number,
  failure: OpsTryFailure,
  random: () => number = Math.random,
): OpsRetryDecision {
  const answered = failure.status !== undefined;
  if (!failure.retryable && !answered) return { retry: false };
  if (attempt >= OPS_MAX_ATTEMPTS) return { retry: false };
  const base = OPS_RETRY_DELAYS_MS[Math.min(attempt, OPS_RETRY_DELAYS_MS.length) - 1];
  const jittered = Math.round(base * (1 - JITTER + 2 * JITTER * random()));
  const asked = Math.min(failure.retryAfterMs ?? 0, MAX_RETRY_AFTER_MS);
  return { retry: true, delayMs: Math.max(jittered, asked) };
}
