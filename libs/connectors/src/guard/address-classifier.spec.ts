import { classifyAddress, normalizeAddress } from './address-classifier';

// Verdicts only: no socket is opened for any of these addresses.
describe('classifyAddress', () => {
  it.each([
    ['127.0.0.1', 'loopback (127.0.0.0/8)'],
    ['127.0.0.2', 'loopback (127.0.0.0/8)'],
    ['127.255.255.254', 'loopback (127.0.0.0/8)'],
    ['10.0.0.1', 'private (RFC 1918 10.0.0.0/8)'],
    ['10.255.255.255', 'private (RFC 1918 10.0.0.0/8)'],
    ['172.16.0.1', 'private (RFC 1918 172.16.0.0/12)'],
    ['172.31.255.254', 'private (RFC 1918 172.16.0.0/12)'],
    ['192.168.1.1', 'private (RFC 1918 192.168.0.0/16)'],
    ['100.64.0.1', 'carrier-grade NAT (RFC 6598 100.64.0.0/10)'],
    ['100.127.255.254', 'carrier-grade NAT (RFC 6598 100.64.0.0/10)'],
    // Alibaba Cloud's metadata endpoint sits in the CGNAT range.
    ['100.100.100.200', 'carrier-grade NAT (RFC 6598 100.64.0.0/10)'],
    ['169.254.169.254', 'cloud metadata endpoint (link-local 169.254.169.254)'],
    ['169.254.0.1', 'link-local (169.254.0.0/16)'],
    ['169.254.170.2', 'link-local (169.254.0.0/16)'],
    ['0.0.0.0', 'unspecified ("this network" 0.0.0.0/8)'],
    ['0.1.2.3', 'unspecified ("this network" 0.0.0.0/8)'],
    ['224.0.0.1', 'multicast (224.0.0.0/4)'],
    ['239.255.255.250', 'multicast (224.0.0.0/4)'],
    ['255.255.255.255', 'broadcast (255.255.255.255)'],
    ['240.0.0.1', 'reserved (240.0.0.0/4)'],
    ['192.0.0.8', 'IETF protocol assignments (192.0.0.0/24)'],
    ['192.0.2.10', 'documentation (TEST-NET-1 192.0.2.0/24)'],
    ['198.51.100.7', 'documentation (TEST-NET-2 198.51.100.0/24)'],
    ['203.0.113.9', 'documentation (TEST-NET-3 203.0.113.0/24)'],
    ['198.18.0.1', 'benchmarking (RFC 2544 198.18.0.0/15)'],
    ['198.19.255.255', 'benchmarking (RFC 2544 198.18.0.0/15)'],
    ['192.88.99.1', 'deprecated 6to4 relay anycast (192.88.99.0/24)'],
  ])('refuses IPv4 %s as %s', (ip, rule) => {
    expect(classifyAddress(ip)).toEqual({ blocked: true, rule });
  });

  it.each([
    ['::', 'unspecified (::)'],
    ['::1', 'loopback (::1)'],
    ['[::1]', 'loopback (::1)'],
    ['fc00::1', 'unique-local IPv6 (fc00::/7)'],
    ['fd12:3456:789a::1', 'unique-local IPv6 (fc00::/7)'],
    ['fd00:ec2::254', 'cloud metadata endpoint (AWS IPv6 fd00:ec2::254)'],
    ['fe80::1', 'link-local IPv6 (fe80::/10)'],
    ['febf:ffff::1', 'link-local IPv6 (fe80::/10)'],
    ['fec0::1', 'site-local IPv6 (deprecated fec0::/10)'],
    ['ff02::1', 'multicast IPv6 (ff00::/8)'],
    ['ff05::1:3', 'multicast IPv6 (ff00::/8)'],
    ['::7f00:1', 'IPv4-compatible IPv6 (deprecated ::/96)'],
    ['2001:db8::1', 'documentation (2001:db8::/32)'],
    ['2001:2::1', 'benchmarking (2001:2::/48)'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'Teredo tunnelling (2001::/32)'],
    ['100::1', 'discard-only (100::/64)'],
    ['64:ff9b:1::1', 'local-use NAT64 (64:ff9b:1::/48)'],
    ['3fff::1', undefined],
    ['4000::1', 'reserved IPv6 (outside global unicast 2000::/3)'],
  ])('judges IPv6 %s as %s', (ip, rule) => {
    expect(classifyAddress(ip)).toEqual(rule === undefined ? { blocked: false } : { blocked: true, rule });
  });

  it.each([
    ['::ffff:127.0.0.1', 'IPv4-mapped IPv6 of 127.0.0.1: loopback (127.0.0.0/8)'],
    ['::ffff:7f00:2', 'IPv4-mapped IPv6 of 127.0.0.2: loopback (127.0.0.0/8)'],
    [
      '::ffff:169.254.169.254',
      'IPv4-mapped IPv6 of 169.254.169.254: cloud metadata endpoint (link-local 169.254.169.254)',
    ],
    ['::ffff:10.1.2.3', 'IPv4-mapped IPv6 of 10.1.2.3: private (RFC 1918 10.0.0.0/8)'],
    ['::ffff:100.64.0.1', 'IPv4-mapped IPv6 of 100.64.0.1: carrier-grade NAT (RFC 6598 100.64.0.0/10)'],
    [
      '::ffff:0:192.168.0.1',
      'IPv4-translated IPv6 (RFC 6145) of 192.168.0.1: private (RFC 1918 192.168.0.0/16)',
    ],
    [
      '64:ff9b::a9fe:a9fe',
      'NAT64 IPv6 (64:ff9b::/96) of 169.254.169.254: cloud metadata endpoint (link-local 169.254.169.254)',
    ],
    ['2002:7f00:1::1', '6to4 IPv6 (2002::/16) of 127.0.0.1: loopback (127.0.0.0/8)'],
    ['2002:c0a8:101::1', '6to4 IPv6 (2002::/16) of 192.168.1.1: private (RFC 1918 192.168.0.0/16)'],
  ])('judges IPv6 %s by the IPv4 address it embeds', (ip, rule) => {
    expect(classifyAddress(ip)).toEqual({ blocked: true, rule });
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '93.184.216.34',
    '172.15.255.255',
    '172.32.0.1',
    '100.63.255.255',
    '100.128.0.1',
    '169.253.255.255',
    '223.255.255.255',
    '2606:4700:4700::1111',
    '2a00:1450:4001:82b::200e',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
    '2002:808:808::1',
  ])('lets the public address %s through', (ip) => {
    expect(classifyAddress(ip)).toEqual({ blocked: false });
  });

  it('reads the legacy IPv4 spellings the URL parser also accepts', () => {
    for (const ip of ['2130706433', '0x7f000001', '0177.0.0.1', '127.1'])
      expect(classifyAddress(ip)).toEqual({ blocked: true, rule: 'loopback (127.0.0.0/8)' });
  });

  it('refuses what is not an address (fails closed)', () => {
    for (const ip of ['', 'example.com', '256.1.1.1', '::g', '1.2.3.4.5'])
      expect(classifyAddress(ip)).toEqual({ blocked: true, rule: 'not an IP address' });
  });

  it('classifies exactly the addresses the WHATWG URL parser produces from odd spellings', () => {
    const cases: [string, string][] = [
      ['http://2130706434/', '127.0.0.2'],
      ['http://0x7f000002/', '127.0.0.2'],
      ['http://0177.0.0.2/', '127.0.0.2'],
      ['http://127.2/', '127.0.0.2'],
      ['http://[::ffff:127.0.0.2]/', '[::ffff:7f00:2]'],
      ['http://[0:0:0:0:0:0:0:1]/', '[::1]'],
      ['http://0xa9.0xfe.0xa9.0xfe/', '169.254.169.254'],
      ['http://2852039166/', '169.254.169.254'],
    ];
    for (const [url, hostname] of cases) {
      expect(new URL(url).hostname).toBe(hostname);
      expect(classifyAddress(hostname).blocked).toBe(true);
    }
  });
});

describe('normalizeAddress', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1'],
    ['::ffff:127.0.0.1', '127.0.0.1'],
    ['[::ffff:7f00:2]', '127.0.0.2'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['nonsense', undefined],
  ])('%s -> %s', (ip, expected) => {
    expect(normalizeAddress(ip)).toBe(expected);
  });
});
