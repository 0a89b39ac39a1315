import { AppError } from './app-error';

/** Reads `?limit=` as a whole number between 1 and `max`. */
export function parseLimit(raw: unknown, fallback = 50, max = 200): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw AppError.invalid('/limit', `must be a whole number from 1 to ${max}`);
  return n;
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/** Reads a time parameter (`since`, `until`) as ISO 8601; absent or empty is undefined, anything else 400 naming `path`. */
export function parseTime(raw: unknown, path: string): Date | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  const at = typeof raw === 'string' && ISO_TIME.test(raw) ? new Date(raw) : null;
  if (!at || Number.isNaN(at.getTime())) {
    throw AppError.invalid(path, 'must be an ISO 8601 time such as 2026-01-31T12:00:00Z');
  }
  return at;
}
