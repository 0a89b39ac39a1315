import { compileIpAllowList } from './ip-allow-list';

describe('allowIps', () => {
  const { allows, invalid } = compileIpAllowList([
    '203.0.113.0/24',
    '198.51.100.7',
    '2001:db8::/32',
    '::1',
    '::ffff:192.0.2.0/120',
    'not-an-ip',
    '10.0.0.0/99',
  ]);

  it.each([
    ['203.0.113.1', true],
    ['203.0.114.1', false],
    ['198.51.100.7', true],
    ['198.51.100.8', false],
    // IPv4-mapped IPv6, as a dual-stack socket reports IPv4 peers.
    ['::ffff:203.0.113.200', true],
    ['::ffff:203.0.114.1', false],
    ['2001:db8:abcd::1', true],
    ['2001:DB8::1', true],
    ['2001:db9::1', false],
    ['::1', true],
    ['::2', false],
    ['fe80::1%eth0', false],
    // An IPv6 range of the mapped space covers the IPv4 addresses it maps.
    ['192.0.2.44', true],
    ['::ffff:192.0.2.45', true],
    ['192.0.3.1', false],
    ['', false],
    ['garbage', false],
    ['127.0.0.1', false],
  ])('%s -> %s', (ip, expected) => {
    expect(allows(ip)).toBe(expected);
  });

  it('reports entries that are not addresses, which then match nothing', () => {
    expect(invalid).toEqual(['not-an-ip', '10.0.0.0/99']);
  });

  it('matches everything for 0.0.0.0/0 and ::/0 of their family', () => {
    expect(compileIpAllowList(['0.0.0.0/0']).allows('8.8.8.8')).toBe(true);
    expect(compileIpAllowList(['0.0.0.0/0']).allows('2001:db8::1')).toBe(false);
    expect(compileIpAllowList(['::/0']).allows('2001:db8::1')).toBe(true);
  });
});
