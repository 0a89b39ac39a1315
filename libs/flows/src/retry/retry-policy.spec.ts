import type { StepDef } from '../model/flow-definition';
import {
  backoffDelayMs,
  parseRetryAfter,
  resolveRetryPolicy,
  resolveTimeoutMs,
  type RetryPolicy,
} from './retry-policy';

const action: StepDef = { id: 'a', type: 'action', connector: 'http', with: { url: 'https://x' } };
const transform: StepDef = { id: 't', type: 'transform', expression: '$' };
const filter: StepDef = { id: 'f', type: 'filter', condition: 'true' };

describe('resolveRetryPolicy', () => {
  it.each<[string, StepDef, RetryPolicy]>([
    [
      'action defaults',
      action,
      { attempts: 8, backoff: 'exponential', delayMs: 1000, maxDelayMs: 3_600_000 },
    ],
    [
      'transform defaults',
      transform,
      { attempts: 1, backoff: 'exponential', delayMs: 1000, maxDelayMs: 3_600_000 },
    ],
    [
      'filter defaults',
      filter,
      { attempts: 1, backoff: 'exponential', delayMs: 1000, maxDelayMs: 3_600_000 },
    ],
    [
      'explicit values',
      { ...action, retry: { attempts: 8, backoff: 'fixed', delay: '2s', maxDelay: '10m' } },
      { attempts: 8, backoff: 'fixed', delayMs: 2000, maxDelayMs: 600_000 },
    ],
    [
      'partial values and millisecond numbers',
      { ...action, retry: { delay: 250 } },
      { attempts: 8, backoff: 'exponential', delayMs: 250, maxDelayMs: 3_600_000 },
    ],
  ])('%s', (_name, step, expected) => {
    expect(resolveRetryPolicy(step)).toEqual(expected);
  });
});

describe('resolveTimeoutMs', () => {
  it.each<[StepDef, number]>([
    [action, 30_000],
    [{ ...action, timeout: '10s' }, 10_000],
    [{ ...transform, timeout: 1500 }, 1500],
  ])('%# -> %p', (step, ms) => {
    expect(resolveTimeoutMs(step)).toBe(ms);
  });
});

describe('backoffDelayMs', () => {
  const exponential: RetryPolicy = { attempts: 5, backoff: 'exponential', delayMs: 1000, maxDelayMs: 10_000 };
  const fixed: RetryPolicy = { ...exponential, backoff: 'fixed' };

  it.each([
    // [policy, failedAttempts, retryAfterMs, random, expected]
    ['exponential, 1st failure, random 1', exponential, 1, undefined, 1, 1000],
    ['exponential, 2nd failure, random 1', exponential, 2, undefined, 1, 2000],
    ['exponential, 3rd failure, random 0.5', exponential, 3, undefined, 0.5, 2000],
    ['exponential, capped by maxDelay', exponential, 10, undefined, 1, 10_000],
    ['exponential, full jitter can be 0', exponential, 4, undefined, 0, 0],
    ['exponential, huge attempt count stays finite', exponential, 5000, undefined, 0.25, 2500],
    ['fixed ignores the attempt number', fixed, 7, undefined, 0.1, 1000],
    ['Retry-After wins over the backoff', exponential, 1, 4000, 0, 4000],
    ['Retry-After is capped at maxDelay', exponential, 1, 60_000, 0, 10_000],
    ['Retry-After 0 retries at once', fixed, 3, 0, 1, 0],
  ])('%s', (_name, policy, attempts, retryAfterMs, random, expected) => {
    expect(
      backoffDelayMs(policy as RetryPolicy, attempts as number, retryAfterMs, () => random as number),
    ).toBe(expected);
  });

  it('spreads exponential delays uniformly below the ceiling', () => {
    const delays = [0, 0.25, 0.999].map((r) => backoffDelayMs(exponential, 3, undefined, () => r));
    expect(delays).toEqual([0, 1000, 3996]);
  });

  it('uses Math.random by default', () => {
    const delay = backoffDelayMs(exponential, 2);
    expect(delay).toBeGreaterThanOrEqual(0);
    expect(delay).toBeLessThan(2000);
  });
});

describe('default action schedule', () => {
  const policy = resolveRetryPolicy(action);

  // The wait before attempt n + 1 after n failures is uniform in [0, ceiling).
  it.each([
    [1, 1000],
    [2, 2000],
    [3, 4000],
    [4, 8000],
    [5, 16_000],
    [6, 32_000],
    [7, 64_000],
  ])('after failure %i the delay stays below %i ms', (failures, ceilingMs) => {
    expect(backoffDelayMs(policy, failures, undefined, () => 0)).toBe(0);
    expect(backoffDelayMs(policy, failures, undefined, () => 0.999_999)).toBe(ceilingMs - 1);
  });

  it('tries 8 times in all and caps any delay (and Retry-After) at 1 hour', () => {
    expect(policy.attempts).toBe(8);
    expect(backoffDelayMs(policy, 30, undefined, () => 0.999_999)).toBeLessThan(3_600_000);
    expect(backoffDelayMs(policy, 1, 7_200_000)).toBe(3_600_000);
  });

  it('is overridable per step', () => {
    expect(resolveRetryPolicy({ ...action, retry: { attempts: 3, maxDelay: '10s' } })).toEqual({
      attempts: 3,
      backoff: 'exponential',
      delayMs: 1000,
      maxDelayMs: 10_000,
    });
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2024-01-01T00:00:00Z');

  it.each<[string | undefined, number | undefined]>([
    ['120', 120_000],
    ['0', 0],
    [' 5 ', 5000],
    ['1.5', 1500],
    ['-3', 0],
    ['Mon, 01 Jan 2024 00:00:30 GMT', 30_000],
    ['Monday, 01-Jan-24 00:01:00 GMT', 60_000],
    ['Mon Jan  1 00:00:10 2024', 10_000],
    ['Sun, 31 Dec 2023 23:59:00 GMT', 0],
    ['soon', undefined],
    ['', undefined],
    ['12 apples', undefined],
    ['2024-01-01T00:00:30Z', undefined],
    [undefined, undefined],
  ])('%p -> %p', (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });

  it('measures from the current time by default', () => {
    const future = new Date(Date.now() + 60_000).toUTCString();
    const ms = parseRetryAfter(future)!;
    expect(ms).toBeGreaterThan(58_000);
    expect(ms).toBeLessThanOrEqual(60_000);
  });
});
