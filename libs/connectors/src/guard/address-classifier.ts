import ipaddr from 'ipaddr.js';

/** The guard's verdict on one IP address; `rule` names the range that blocks it. */
export interface AddressVerdict {
  blocked: boolean;
  rule?: string;
}

type Address = ipaddr.IPv4 | ipaddr.IPv6;
type Range = { cidr: [Address, number]; rule: string };

const range = (cidr: string, rule: string): Range => ({ cidr: ipaddr.parseCIDR(cidr), rule });

// First match wins, so the metadata address comes before the link-local range that holds it.
const IPV4_BLOCKED: Range[] = [
  range('169.254.169.254/32', 'cloud metadata endpoint (link-local 169.254.169.254)'),
  range('0.0.0.0/8', 'unspecified ("this network" 0.0.0.0/8)'),
  range('127.0.0.0/8', 'loopback (127.0.0.0/8)'),
  range('10.0.0.0/8', 'private (RFC 1918 10.0.0.0/8)'),
  range('172.16.0.0/12', 'private (RFC 1918 172.16.0.0/12)'),
  range('192.168.0.0/16', 'private (RFC 1918 192.168.0.0/16)'),
  range('100.64.0.0/10', 'carrier-grade NAT (RFC 6598 100.64.0.0/10)'),
  range('169.254.0.0/16', 'link-local (169.254.0.0/16)'),
  range('192.0.0.0/24', 'IETF protocol assignments (192.0.0.0/24)'),
  range('192.0.2.0/24', 'documentation (TEST-NET-1 192.0.2.0/24)'),
  range('198.51.100.0/24', 'documentation (TEST-NET-2 198.51.100.0/24)'),
  range('203.0.113.0/24', 'documentation (TEST-NET-3 203.0.113.0/24)'),
  range('198.18.0.0/15', 'benchmarking (RFC 2544 198.18.0.0/15)'),
  range('192.88.99.0/24', 'deprecated 6to4 relay anycast (192.88.99.0/24)'),
  range('224.0.0.0/4', 'multicast (224.0.0.0/4)'),
  range('255.255.255.255/32', 'broadcast (255.255.255.255)'),
  range('240.0.0.0/4', 'reserved (240.0.0.0/4)'),
];

const IPV6_BLOCKED: Range[] = [
  range('::/128', 'unspecified (::)'),
  range('::1/128', 'loopback (::1)'),
  // IPv4-compatible addresses (deprecated): no route should exist, and some stacks map them to IPv4.
  range('::/96', 'IPv4-compatible IPv6 (deprecated ::/96)'),
  range('64:ff9b:1::/48', 'local-use NAT64 (64:ff9b:1::/48)'),
  range('100::/64', 'discard-only (100::/64)'),
  range('2001:db8::/32', 'documentation (2001:db8::/32)'),
  range('2001:2::/48', 'benchmarking (2001:2::/48)'),
  range('2001::/32', 'Teredo tunnelling (2001::/32)'),
  range('fd00:ec2::254/128', 'cloud metadata endpoint (AWS IPv6 fd00:ec2::254)'),
  range('fc00::/7', 'unique-local IPv6 (fc00::/7)'),
  range('fe80::/10', 'link-local IPv6 (fe80::/10)'),
  range('fec0::/10', 'site-local IPv6 (deprecated fec0::/10)'),
  range('ff00::/8', 'multicast IPv6 (ff00::/8)'),
];

// Forms that carry an IPv4 address in their low bits: what they reach is that IPv4 address.
const IPV6_EMBEDDING_IPV4: { cidr: [Address, number]; label: string; offset: number }[] = [
  { cidr: ipaddr.parseCIDR('::ffff:0:0/96'), label: 'IPv4-mapped IPv6', offset: 12 },
  { cidr: ipaddr.parseCIDR('::ffff:0:0:0/96'), label: 'IPv4-translated IPv6 (RFC 6145)', offset: 12 },
  { cidr: ipaddr.parseCIDR('64:ff9b::/96'), label: 'NAT64 IPv6 (64:ff9b::/96)', offset: 12 },
  { cidr: ipaddr.parseCIDR('2002::/16'), label: '6to4 IPv6 (2002::/16)', offset: 2 },
];

const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3');

/** Whether the guard refuses an address, and by which rule (docs/architecture.md, Security). */
export function classifyAddress(ip: string): AddressVerdict {
  let address: Address;
  try {
    address = ipaddr.parse(ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip);
  } catch {
    return { blocked: true, rule: 'not an IP address' };
  }
  return address.kind() === 'ipv4' ? classifyV4(address as ipaddr.IPv4) : classifyV6(address as ipaddr.IPv6);
}

function classifyV4(address: ipaddr.IPv4): AddressVerdict {
  const hit = IPV4_BLOCKED.find((r) => address.match(r.cidr as [ipaddr.IPv4, number]));
  return hit ? { blocked: true, rule: hit.rule } : { blocked: false };
}

function classifyV6(address: ipaddr.IPv6): AddressVerdict {
  for (const form of IPV6_EMBEDDING_IPV4) {
    if (!address.match(form.cidr as [ipaddr.IPv6, number])) continue;
    const bytes = address.toByteArray().slice(form.offset, form.offset + 4);
    const embedded = new ipaddr.IPv4(bytes);
    const verdict = classifyV4(embedded);
    return verdict.blocked
      ? { blocked: true, rule: `${form.label} of ${embedded.toString()}: ${verdict.rule}` }
      : { blocked: false };
  }
  const hit = IPV6_BLOCKED.find((r) => address.match(r.cidr as [ipaddr.IPv6, number]));
  if (hit) return { blocked: true, rule: hit.rule };
  if (!address.match(GLOBAL_UNICAST_V6 as [ipaddr.IPv6, number])) {
    return { blocked: true, rule: 'reserved IPv6 (outside global unicast 2000::/3)' };
  }
  return { blocked: false };
}

/** The address in canonical form, IPv4-mapped IPv6 unwrapped (`::ffff:127.0.0.1` -> `127.0.0.1`). */
export function normalizeAddress(ip: string): string | undefined {
  try {
    const address = ipaddr.parse(ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip);
    if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) {
      return (address as ipaddr.IPv6).toIPv4Address().toString();
    }
    return address.toString();
  } catch {
    return undefined;
  }
}
