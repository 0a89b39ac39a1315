import { isOpsEventType, slugMatches } from './ops-events';

describe('operational event types and flow patterns', () => {
  it('knows the event types', () => {
    expect(isOpsEventType('run.failed')).toBe(true);
    expect(isOpsEventType('destination.disabled')).toBe(true);
    expect(isOpsEventType('run.exploded')).toBe(false);
    expect(isOpsEventType(1)).toBe(false);
  });

  it('matches slugs by patterns with * for any characters, and every slug without patterns', () => {
    expect(slugMatches('orders-eu', ['orders-*'])).toBe(true);
    expect(slugMatches('orders', ['orders-*'])).toBe(false);
    expect(slugMatches('eu-orders-2', ['*-orders-*', 'x'])).toBe(true);
    expect(slugMatches('anything', undefined)).toBe(true);
    expect(slugMatches('anything', [])).toBe(true);
    expect(slugMatches('a.b', ['a?b'])).toBe(false);
    expect(slugMatches('exact', ['exact'])).toBe(true);
    expect(slugMatches('abc', ['*'])).toBe(true);
    expect(slugMatches('abc', ['a*c*'])).toBe(true);
    expect(slugMatches('abcd', ['a*c'])).toBe(false);
  });

  it('answers a pattern of many stars that cannot match (a backtracking regular expression would not, in time)', () => {
    expect(slugMatches('a'.repeat(63), [`${'*a'.repeat(49)}b`])).toBe(false);
  });
});
