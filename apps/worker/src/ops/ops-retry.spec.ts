import { OPS_MAX_ATTEMPTS, OPS_RETRY_DELAYS_MS, opsRetryDecision } from './ops-retry';

const middle = () => 0.5;

describe('opsRetryDecision', () => {
  it('tries 8 times over about a day', () => {
    expect(OPS_MAX_ATTEMPTS).toBe(8);
    const totalMs = OPS_RETRY_DELAYS_MS.reduce((a, b) => a + b, 0);
    expect(totalMs).toBeGreaterThan(18 * 3_600_000);
    expect(totalMs).toBeLessThan(30 * 3_600_000);
  });

  it('waits longer after each try, with the schedule at the middle of its jitter', () => {
    const delays = Array.from({ length: 7 }, (_, i) =>
      opsRetryDecision(i + 1, { code: 'http_error', retryable: true, status: 503 }, middle),
    );
    expect(delays).toEqual(OPS_RETRY_DELAYS_MS.map((delayMs) => ({ retry: true, delayMs })));
  });

  it('spreads a wait by at most 20% either way', () => {
    expect(opsRetryDecision(1, { code: 'network_error', retryable: true }, () => 0)).toEqual({
      retry: true,
      delayMs: 48_000,
    });
    expect(opsRetryDecision(1, { code: 'network_error', retryable: true }, () => 1)).toEqual({
      retry: true,
      delayMs: 72_000,
    });
  });

  it('gives up after the eighth try', () => {
    expect(opsRetryDecision(8, { code: 'http_error', retryable: true, status: 500 }, middle)).toEqual({
      retry: false,
    });
  });

  it("honours a receiver's Retry-After longer than the schedule, up to a day", () => {
    expect(
      opsRetryDecision(
        1,
        { code: 'http_error', retryable: true, status: 429, retryAfterMs: 600_000 },
        middle,
      ),
    ).toEqual({ retry: true, delayMs: 600_000 });
    expect(
      opsRetryDecision(
        1,
        { code: 'http_error', retryable: true, status: 429, retryAfterMs: 3 * 86_400_000 },
        middle,
      ),
    ).toEqual({ retry: true, delayMs: 86_400_000 });
  });

  it('tries again a receiver that answered 4xx, which the connector calls final', () => {
    expect(opsRetryDecision(1, { code: 'http_error', retryable: false, status: 404 }, middle)).toEqual({
      retry: true,
      delayMs: 60_000,
    });
  });

  it.each(['blocked', 'invalid_config', 'template_error'])('fails at once on %s', (code) => {
    expect(opsRetryDecision(1, { code, retryable: false }, middle)).toEqual({ retry: false });
  });
});
