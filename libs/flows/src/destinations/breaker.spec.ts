import type { StepOutcome } from '../model/step-outcome';
import {
  afterFailure,
  afterSuccess,
  healthOf,
  MAX_COOLDOWN_MS,
  mayProbe,
  pauseByHand,
  resumeByHand,
  type BreakerRow,
} from './breaker';

const policy = { pauseAfter: 20, cooldownMs: 30_000, disableAfterMs: 5 * 86_400_000 };
const NOW = 1_000_000_000_000;
const healthy: BreakerRow = {
  state: 'healthy',
  pausedBy: null,
  consecutiveFailures: 1,
  failingSinceMs: null,
  pausedUntilMs: null,
  cooldownMs: null,
  probeUntilMs: null,
};
const paused: BreakerRow = {
  ...healthy,
  state: 'paused',
  pausedBy: 'breaker',
  consecutiveFailures: 20,
  failingSinceMs: NOW - 60_000,
  pausedUntilMs: NOW - 1,
  cooldownMs: 30_000,
};
const exchange = {
  destination: 'a.example:443',
  request: {
    method: 'POST',
    url: 'https://a.example/',
    headers: {},
    body: null,
    bodyBytes: 0,
    bodyTruncated: false,
  },
  response: null,
};

describe('healthOf', () => {
  const failed = (error: object, withExchange = true): StepOutcome => ({
    status: 'failed',
    input: null,
    error: { message: 'x', retryable: true, ...error } as never,
    ...(withExchange ? { exchange } : {}),
  });
  it.each([
    ['a 2xx', { status: 'succeeded', input: null, output: {}, exchange } as StepOutcome, 'success'],
    ['a 503', failed({ code: 'http_error', status: 503 }), 'failure'],
    ['a 429', failed({ code: 'http_error', status: 429 }), 'failure'],
    ['a 404 (it answered)', failed({ code: 'http_error', status: 404, retryable: false }), 'success'],
    ['a connection error', failed({ code: 'network_error' }), 'failure'],
    ['a timeout', failed({ code: 'timeout' }), 'failure'],
    ['a TLS handshake', failed({ code: 'tls_error' }), 'failure'],
    ['the SSRF guard', failed({ code: 'blocked', retryable: false }), 'neutral'],
    ['a cancel', failed({ code: 'cancelled' }), 'neutral'],
    ['no request sent', failed({ code: 'template_error' }, false), 'neutral'],
    ['a filter', { status: 'filtered', input: null, output: null } as StepOutcome, 'neutral'],
  ])('%s', (_what, outcome, health) => {
    expect(healthOf(outcome)).toBe(health);
  });
});

describe('afterFailure', () => {
  it('counts, and pauses at pauseAfter for the first cool-down', () => {
    expect(afterFailure({ ...healthy, consecutiveFailures: 19 }, policy, NOW)).toEqual({
      row: { ...healthy, consecutiveFailures: 19, failingSinceMs: NOW },
    });
    const change = afterFailure(
      { ...healthy, consecutiveFailures: 20, failingSinceMs: NOW - 5 },
      policy,
      NOW,
    );
    expect(change.event).toBe('destination.paused');
    expect(change.row).toMatchObject({
      state: 'paused',
      pausedBy: 'breaker',
      pausedUntilMs: NOW + 30_000,
      cooldownMs: 30_000,
      failingSinceMs: NOW - 5,
    });
  });

  it('a failed probe doubles the cool-down, up to an hour', () => {
    const probing = { ...paused, probeUntilMs: NOW + 60_000 };
    const again = afterFailure(probing, policy, NOW);
    expect(again.event).toBeUndefined();
    expect(again.row).toMatchObject({
      state: 'paused',
      cooldownMs: 60_000,
      pausedUntilMs: NOW + 60_000,
      probeUntilMs: null,
    });
    expect(afterFailure({ ...probing, cooldownMs: 2_400_000 }, policy, NOW).row.cooldownMs).toBe(
      MAX_COOLDOWN_MS,
    );
  });

  it('a failed probe after disableAfter of failing disables', () => {
    const old = { ...paused, probeUntilMs: NOW + 1, failingSinceMs: NOW - policy.disableAfterMs };
    expect(afterFailure(old, policy, NOW)).toEqual({
      row: { ...old, state: 'disabled', pausedUntilMs: null, probeUntilMs: null },
      event: 'destination.disabled',
    });
  });

  it.each([
    ['an attempt out when it paused (no probe taken)', paused],
    ['paused by hand', { ...paused, pausedBy: 'hand' as const, probeUntilMs: NOW }],
    ['disabled', { ...paused, state: 'disabled' as const, probeUntilMs: NOW }],
  ])('changes nothing but the count for %s', (_what, row) => {
    const change = afterFailure(row, policy, NOW);
    expect(change.event).toBeUndefined();
    expect(change.row.state).toBe(row.state);
    expect(change.row.pausedUntilMs).toBe(row.pausedUntilMs);
  });
});

describe('afterSuccess', () => {
  it('resets the count; a destination paused by the breaker resumes', () => {
    expect(afterSuccess({ ...healthy, failingSinceMs: NOW })).toEqual({
      row: { ...healthy, consecutiveFailures: 0, failingSinceMs: null },
    });
    expect(afterSuccess(paused)).toEqual({
      row: {
        ...paused,
        state: 'healthy',
        pausedBy: null,
        consecutiveFailures: 0,
        failingSinceMs: null,
        pausedUntilMs: null,
        cooldownMs: null,
        probeUntilMs: null,
      },
      event: 'destination.resumed',
    });
  });

  it.each([
    ['paused by hand', { ...paused, pausedBy: 'hand' as const }],
    ['disabled', { ...paused, state: 'disabled' as const }],
  ])('leaves %s as it is', (_what, row) => {
    expect(afterSuccess(row).row.state).toBe(row.state);
    expect(afterSuccess(row).event).toBeUndefined();
  });
});

describe('by hand', () => {
  it('pauses without a cool-down, and resumes from paused or disabled', () => {
    expect(pauseByHand(healthy)).toMatchObject({
      row: { state: 'paused', pausedBy: 'hand', pausedUntilMs: null },
      event: 'destination.paused',
    });
    expect(pauseByHand({ ...paused, pausedBy: 'hand' }).event).toBeUndefined();
    expect(resumeByHand({ ...paused, state: 'disabled' })).toMatchObject({
      row: { state: 'healthy', consecutiveFailures: 0 },
      event: 'destination.resumed',
    });
    expect(resumeByHand(healthy).event).toBeUndefined();
  });
});

describe('mayProbe', () => {
  it.each([
    ['cool-down over, no probe out', paused, true],
    ['cool-down not over', { ...paused, pausedUntilMs: NOW + 1 }, false],
    ['a probe out', { ...paused, probeUntilMs: NOW + 1 }, false],
    ['a probe lapsed', { ...paused, probeUntilMs: NOW - 1 }, true],
    ['paused by hand', { ...paused, pausedBy: 'hand' as const }, false],
    ['healthy', healthy, false],
  ])('%s', (_what, row, may) => {
    expect(mayProbe(row, NOW)).toBe(may);
  });
});
