import { EMPTY_ALLOW_LIST, parseOutboundAllow } from './outbound-allow';

describe('parseOutboundAllow', () => {
  it('allows nothing when empty', () => {
    for (const allow of [EMPTY_ALLOW_LIST, parseOutboundAllow(''), parseOutboundAllow(undefined)]) {
      expect(allow.entries).toEqual([]);
      expect(allow.allowsHost('localhost')).toBe(false);
      expect(allow.allowsAddress('127.0.0.1')).toBe(false);
    }
  });

  it('matches host entries exactly, ignoring case and a trailing dot, with no wildcards', () => {
    const allow = parseOutboundAllow(' hooks.internal , LOCALHOST,');
    expect(allow.entries).toEqual(['hooks.internal', 'LOCALHOST']);
    expect(allow.allowsHost('hooks.internal')).toBe(true);
    expect(allow.allowsHost('HOOKS.Internal.')).toBe(true);
    expect(allow.allowsHost('localhost')).toBe(true);
    expect(allow.allowsHost('a.hooks.internal')).toBe(false);
    expect(allow.allowsHost('hooks.internal.evil.com')).toBe(false);
    // A host entry never allows an address by itself.
    expect(allow.allowsAddress('127.0.0.1')).toBe(false);
  });

  it('matches CIDR entries against addresses; a bare address is a single host', () => {
    const allow = parseOutboundAllow(['127.0.0.1/32', '10.1.0.0/16', '::1', 'fd00::/8', '192.168.7.7']);
    expect(allow.allowsAddress('127.0.0.1')).toBe(true);
    expect(allow.allowsAddress('127.0.0.2')).toBe(false);
    expect(allow.allowsAddress('10.1.200.3')).toBe(true);
    expect(allow.allowsAddress('10.2.0.1')).toBe(false);
    expect(allow.allowsAddress('::1')).toBe(true);
    expect(allow.allowsAddress('fd12::1')).toBe(true);
    expect(allow.allowsAddress('fe80::1')).toBe(false);
    expect(allow.allowsAddress('192.168.7.7')).toBe(true);
    expect(allow.allowsAddress('192.168.7.8')).toBe(false);
    expect(allow.allowsHost('127.0.0.1')).toBe(false);
  });

  it('compares IPv4-mapped IPv6 addresses as their IPv4 address', () => {
    const allow = parseOutboundAllow('127.0.0.1/32');
    expect(allow.allowsAddress('::ffff:127.0.0.1')).toBe(true);
    expect(allow.allowsAddress('::ffff:127.0.0.2')).toBe(false);
    expect(parseOutboundAllow('::ffff:10.0.0.0/104').allowsAddress('10.9.9.9')).toBe(true);
    expect(parseOutboundAllow('[::1]/128').allowsAddress('::1')).toBe(true);
  });

  it('never matches what is not an address', () => {
    expect(parseOutboundAllow('0.0.0.0/0').allowsAddress('example.com')).toBe(false);
  });

  it.each([
    '10.0.0.0/33',
    '::1/129',
    '10.0.0.0/8/1',
    'hooks.internal/24',
    'exa mple.com',
    '*.example.com',
    'http://x',
  ])('refuses the entry %s', (entry) => {
    expect(() => parseOutboundAllow(entry)).toThrow(RangeError);
  });
});
