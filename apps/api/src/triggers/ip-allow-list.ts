import ipaddr from 'ipaddr.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** Decides whether a source address may call a trigger. */
export type IpAllowList = (sourceIp: string) => boolean;

/** Compiles `allowIps` (IPv4-mapped sources match IPv4 ranges); unparseable entries match nothing. */
export function compileIpAllowList(entries: string[]): { allows: IpAllowList; invalid: string[] } {
  const ranges: [Address, number][] = [];
  const invalid: string[] = [];
  for (const entry of entries) {
    const range = parseRange(entry.trim());
    if (range) ranges.push(range);
    else invalid.push(entry);
  }
  const allows = (sourceIp: string): boolean => {
    const address = parseAddress(sourceIp);
    if (!address) return false;
    return ranges.some(([network, bits]) => {
      if (address.kind() === network.kind()) return address.match(network, bits);
      // Only an IPv4 source reaches here for an IPv6 range (mapped sources were unwrapped).
      return address.kind() === 'ipv4' && (address as ipaddr.IPv4).toIPv4MappedAddress().match(network, bits);
    });
  };
  return { allows, invalid };
}

function parseRange(entry: string): [Address, number] | null {
  try {
    if (entry.includes('/')) {
      const [network, bits] = ipaddr.parseCIDR(entry);
      // `::ffff:10.0.0.0/104` is the IPv4 range 10.0.0.0/8 written in IPv6.
      if (network.kind() === 'ipv6' && (network as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
        return [(network as ipaddr.IPv6).toIPv4Address(), bits - 96];
      }
      return [network, bits];
    }
    const address = ipaddr.process(entry);
    return [address, address.kind() === 'ipv4' ? 32 : 128];
  } catch {
    return null;
  }
}

/** Unwraps IPv4-mapped IPv6 addresses and drops an IPv6 zone id; null for anything unparseable. */
function parseAddress(ip: string): Address | null {
  try {
    return ipaddr.process(ip.split('%')[0]);
  } catch {
    return null;
  }
}
