import { sourceOf, VerifyFailures } from './verify-failures';

const FLOW = 'flow-a';
const limited = (limit = 3, perMs = 60_000) => new VerifyFailures({ verifyFailureLimit: { limit, perMs } });

describe('VerifyFailures', () => {
  it('answers past the budget until the window ends, then counts afresh', () => {
    const failures = limited(3, 60_000);
    for (let i = 0; i < 3; i++) expect(failures.fail(FLOW, '198.51.100.7', 1_000)).toBeUndefined();
    expect(failures.fail(FLOW, '198.51.100.7', 31_000)).toEqual({ waitMs: 30_000, limit: 3, perMs: 60_000 });
    // A new window starts from nothing.
    expect(failures.fail(FLOW, '198.51.100.7', 61_000)).toBeUndefined();
  });

  it('counts per trigger and per source', () => {
    const failures = limited(1);
    failures.fail(FLOW, '198.51.100.7', 0);
    expect(failures.fail(FLOW, '198.51.100.7', 0)).toBeDefined();
    expect(failures.fail(FLOW, '198.51.100.8', 0)).toBeUndefined();
    expect(failures.fail('flow-b', '198.51.100.7', 0)).toBeUndefined();
  });

  it('counts IPv6 sources by /64 and IPv4-mapped ones as IPv4', () => {
    const failures = limited(2);
    failures.fail(FLOW, '2001:db8:1:2::1', 0);
    failures.fail(FLOW, '2001:db8:1:2:ffff:ffff:ffff:ffff', 0);
    expect(failures.fail(FLOW, '2001:db8:1:2::99', 0)).toBeDefined();
    expect(failures.fail(FLOW, '2001:db8:1:3::1', 0)).toBeUndefined();
    failures.fail(FLOW, '::ffff:203.0.113.9', 0);
    failures.fail(FLOW, '203.0.113.9', 0);
    expect(failures.fail(FLOW, '203.0.113.9', 0)).toBeDefined();
  });

  it('never answers when the limit is off', () => {
    const failures = new VerifyFailures({ verifyFailureLimit: undefined });
    for (let i = 0; i < 100; i++) expect(failures.fail(FLOW, '198.51.100.7', 0)).toBeUndefined();
  });

  it.each([
    ['203.0.113.9', '203.0.113.9'],
    ['::ffff:203.0.113.9', '203.0.113.9'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['x'.repeat(500), 'x'.repeat(64)],
  ])('keys %s as %s', (ip, key) => {
    expect(sourceOf(ip)).toBe(key);
  });
});
