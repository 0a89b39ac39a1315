import { AppError } from './app-error';

/** Reads `?limit=` as a whole number between 1 and `max`. */
export function parseLimit(raw: unknown, fallback = 50, max = 200): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw AppError.invalid('/limit', `must be a whole number from 1 to ${max}`);
  return n;
}
