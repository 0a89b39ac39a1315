import type { MinimalJob } from 'bullmq';
import { RetryableStepError } from './step-errors';
import { stepBackoff } from './step-backoff';

const job = (kind: 'exponential' | 'fixed', delayMs: number, maxDelayMs: number) =>
  ({ data: { runId: 'r', stepId: 's', backoff: { kind, delayMs, maxDelayMs } } }) as unknown as MinimalJob;

const retryable = (retryAfterMs?: number) =>
  new RetryableStepError({ code: 'http_error', message: 'HTTP 429', retryable: true, retryAfterMs });

describe('stepBackoff', () => {
  it('waits the fixed delay for a fixed schedule', () => {
    expect(stepBackoff(1, 'hookflow', retryable(), job('fixed', 250, 10_000))).toBe(250);
    expect(stepBackoff(5, 'hookflow', retryable(), job('fixed', 250, 10_000))).toBe(250);
  });

  it('stays within the exponential ceiling (full jitter) and the cap', () => {
    for (let attempt = 1; attempt <= 12; attempt++) {
      const ms = stepBackoff(attempt, 'hookflow', retryable(), job('exponential', 100, 5_000));
      expect(ms).toBeGreaterThanOrEqual(0);
      expect(ms).toBeLessThanOrEqual(Math.min(5_000, 100 * 2 ** (attempt - 1)));
    }
  });

  it.each([
    [2_000, 60_000, 2_000],
    [120_000, 60_000, 60_000],
    [0, 60_000, 0],
  ])('honours Retry-After %i ms with maxDelay %i ms -> %i ms', (retryAfterMs, maxDelayMs, expected) => {
    expect(stepBackoff(1, 'hookflow', retryable(retryAfterMs), job('exponential', 1_000, maxDelayMs))).toBe(
      expected,
    );
  });

  it('continues the schedule of a step that used attempts before this job', () => {
    const later = {
      data: {
        runId: 'r',
        stepId: 's',
        backoff: { kind: 'exponential', delayMs: 100, maxDelayMs: 1e9 },
        attemptsBefore: 6,
      },
    } as unknown as MinimalJob;
    const random = Math.random;
    Math.random = () => 0.999999;
    try {
      // The 1st failure of this job is the step's 7th: up to 100 ms * 2^6, not 100 ms.
      expect(stepBackoff(1, 'hookflow', retryable(), later)).toBeGreaterThan(6_000);
      expect(stepBackoff(1, 'hookflow', retryable(), job('exponential', 100, 1e9))).toBeLessThanOrEqual(100);
    } finally {
      Math.random = random;
    }
  });

  it('falls back to one second for a job without a schedule', () => {
    expect(stepBackoff(1, 'hookflow', new Error('x'), { data: {} } as unknown as MinimalJob)).toBe(1000);
  });
});
