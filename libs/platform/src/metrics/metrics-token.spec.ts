import { metricsAccess } from './metrics-token';

describe('metricsAccess', () => {
  const token = 'scrape-token-0123456789';

  it('lets everyone in without a token', () => {
    expect(metricsAccess(undefined)(undefined)).toBe(true);
    expect(metricsAccess(undefined)('Bearer anything')).toBe(true);
  });

  it.each<[string | undefined, boolean]>([
    [`Bearer ${token}`, true],
    [`bearer   ${token} `, true],
    [undefined, false],
    ['', false],
    [token, false],
    [`Basic ${token}`, false],
    [`Bearer ${token}x`, false],
    [`Bearer ${token.slice(0, -1)}`, false],
    ['Bearer ', false],
  ])('with a token, %j -> %s', (header, allowed) => {
    expect(metricsAccess(token)(header)).toBe(allowed);
  });
});
