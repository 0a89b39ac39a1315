import type { Duration } from '../model/flow-definition';

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** The textual form of a duration; the flow JSON Schema uses the same pattern. */
export const DURATION_PATTERN = '^\\d+(ms|s|m|h|d)$';

const DURATION_RE = /^(\d+)(ms|s|m|h|d)$/;

/** A flow duration (`250ms`, `10s`, `5m`, `1h`, `1d` or whole ms) in ms; throws on anything else. */
export function parseDuration(d: Duration): number {
  if (typeof d === 'number') {
    if (Number.isSafeInteger(d) && d >= 0) return d;
    throw new Error(`invalid duration ${String(d)}: expected whole milliseconds >= 0`);
  }
  if (typeof d === 'string') {
    const match = DURATION_RE.exec(d);
    if (match) {
      const ms = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
      if (Number.isSafeInteger(ms)) return ms;
    }
  }
  throw new Error(
    `invalid duration ${JSON.stringify(d)}: expected e.g. '250ms', '10s', '5m', '1h', '1d' or milliseconds`,
  );
}

/** True when `v` is a duration `parseDuration` accepts. */
export function isDuration(v: unknown): v is Duration {
  if (typeof v !== 'string' && typeof v !== 'number') return false;
  try {
    parseDuration(v);
    return true;
  } catch {
    return false;
  }
}
