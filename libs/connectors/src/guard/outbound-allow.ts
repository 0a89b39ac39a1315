import ipaddr from 'ipaddr.js';
import { normalizeAddress } from './address-classifier';

/** Exceptions to the outbound guard (`OUTBOUND_ALLOW`): hosts match exactly, CIDRs the resolved address. */
export interface OutboundAllowList {
  /** The entries as given, for messages. */
  readonly entries: readonly string[];
  allowsHost(hostname: string): boolean;
  allowsAddress(ip: string): boolean;
}

const HOST_LABEL = '[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?';
const HOSTNAME = new RegExp(`^${HOST_LABEL}(?:\\.${HOST_LABEL})*$`);

/** An allow-list that allows nothing: every guard rule applies. */
export const EMPTY_ALLOW_LIST: OutboundAllowList = parseOutboundAllow([]);

/** Parses `OUTBOUND_ALLOW` (`hooks.internal, 10.1.0.0/16, ::1`); a `RangeError` names the first bad entry. */
export function parseOutboundAllow(value: string | readonly string[] | undefined): OutboundAllowList {
  const entries = (typeof value === 'string' ? value.split(',') : (value ?? []))
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  const hosts = new Set<string>();
  const cidrs: [ipaddr.IPv4 | ipaddr.IPv6, number][] = [];
  for (const entry of entries) {
    const cidr = parseCidrEntry(entry);
    if (cidr) {
      cidrs.push(cidr);
      continue;
    }
    const host = normalizeHost(entry);
    if (!HOSTNAME.test(host)) {
      throw new RangeError(`OUTBOUND_ALLOW entry "${entry}" is neither a host name, an address nor a CIDR`);
    }
    hosts.add(host);
  }
  return {
    entries,
    allowsHost: (hostname) => hosts.has(normalizeHost(hostname)),
    allowsAddress(ip) {
      const normalized = normalizeAddress(ip);
      if (normalized === undefined) return false;
      const address = ipaddr.parse(normalized);
      return cidrs.some(([base, bits]) => base.kind() === address.kind() && address.match(base, bits));
    },
  };
}

/** `10.0.0.0/8`, `::1/128`, or a bare address; anything else is not a CIDR entry. */
function parseCidrEntry(entry: string): [ipaddr.IPv4 | ipaddr.IPv6, number] | undefined {
  const unbracketed = entry.replace(/^\[([^\]]+)\](\/\d+)?$/, '$1$2');
  const [addressPart, bitsPart, extra] = unbracketed.split('/');
  if (extra !== undefined) throw new RangeError(`OUTBOUND_ALLOW entry "${entry}" is not a valid CIDR`);
  // Only canonical spellings count as addresses: `2130706433` here is more likely a typo than an IP.
  if (!ipaddr.IPv4.isValidFourPartDecimal(addressPart) && !ipaddr.IPv6.isValid(addressPart)) {
    if (bitsPart !== undefined) throw new RangeError(`OUTBOUND_ALLOW entry "${entry}" is not a valid CIDR`);
    return undefined;
  }
  let address = ipaddr.parse(addressPart);
  // An IPv4-mapped entry means its IPv4 address, as resolved addresses are compared unwrapped.
  let offset = 0;
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) {
    address = (address as ipaddr.IPv6).toIPv4Address();
    offset = 96;
  }
  const max = address.kind() === 'ipv4' ? 32 : 128;
  const bits = bitsPart === undefined ? max : Number(bitsPart) - offset;
  if (!/^\d{1,3}$/.test(bitsPart ?? '0') || !Number.isInteger(bits) || bits < 0 || bits > max) {
    throw new RangeError(`OUTBOUND_ALLOW entry "${entry}" has an invalid prefix length`);
  }
  return [address, bits];
}

function normalizeHost(host: string): string {
  return host.toLowerCase().replace(/\.$/, '');
}
