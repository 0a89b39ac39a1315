import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';
import { buildConnector, errors } from 'undici';
import { classifyAddress } from './address-classifier';
import { EMPTY_ALLOW_LIST, type OutboundAllowList } from './outbound-allow';

/** Error code of a connection the guard refused; the http connector turns it into `blocked`. */
export const OUTBOUND_BLOCKED_CODE = 'HOOKFLOW_OUTBOUND_BLOCKED';

/** A connection the outbound guard refused before any socket was opened. */
export class OutboundBlockedError extends Error {
  readonly code = OUTBOUND_BLOCKED_CODE;

  constructor(
    readonly hostname: string,
    readonly address: string,
    readonly rule: string,
  ) {
    super(
      `${hostname === address ? address : `${hostname} (resolved to ${address})`} is refused by the ` +
        `outbound guard: ${rule}; OUTBOUND_ALLOW can make an exception`,
    );
    this.name = 'OutboundBlockedError';
  }
}

/** The error naming the first refused address, or undefined; every resolved address must pass. */
export function checkDestination(
  hostname: string,
  addresses: readonly string[],
  allow: OutboundAllowList = EMPTY_ALLOW_LIST,
): OutboundBlockedError | undefined {
  const name = hostname.replace(/^\[(.*)\]$/, '$1');
  if (allow.allowsHost(name)) return undefined;
  for (const address of addresses) {
    if (allow.allowsAddress(address)) continue;
    const verdict = classifyAddress(address);
    if (verdict.blocked) return new OutboundBlockedError(name, address, verdict.rule ?? 'blocked');
  }
  return undefined;
}

/** Resolves a hostname to every address, in the resolver's order. */
export type LookupAll = (hostname: string) => Promise<string[]>;

const systemLookup: LookupAll = async (hostname) =>
  (await dns.lookup(hostname, { all: true })).map((entry) => entry.address);

export interface GuardedConnectorOptions {
  allow?: OutboundAllowList;
  /** Budget for the DNS lookup, and separately for the TCP + TLS handshake. */
  timeoutMs: number;
  /** Replaces `dns.lookup` (tests). */
  lookup?: LookupAll;
  /** Further options for undici's `buildConnector` (TLS settings, keep-alive). */
  connectOptions?: buildConnector.BuildOptions;
}

/** An undici `connect` that connects to exactly the address it checked, so DNS rebinding cannot pass. */
export function createGuardedConnector(options: GuardedConnectorOptions): buildConnector.connector {
  const allow = options.allow ?? EMPTY_ALLOW_LIST;
  const lookup = options.lookup ?? systemLookup;
  const connect = buildConnector({ ...options.connectOptions, timeout: options.timeoutMs });

  return (connectOptions, callback) => {
    // undici hands IPv6 literals over without brackets; the WHATWG URL parser has already turned
    // every other spelling of an address (2130706433, 0x7f000001, 0177.0.0.1) into dotted form.
    const { hostname } = connectOptions;
    resolve(hostname, lookup, options.timeoutMs).then(
      (addresses) => {
        const refused = checkDestination(hostname, addresses, allow);
        if (refused) return callback(refused, null);
        const address = addresses[0];
        const isName = isIP(hostname) === 0;
        connect(
          {
            ...connectOptions,
            hostname: address,
            // The name still drives SNI and certificate verification (and the TLS session cache).
            ...(isName && connectOptions.protocol === 'https:'
              ? { servername: connectOptions.servername || hostname }
              : {}),
          },
          callback,
        );
      },
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error)), null),
    );
  };
}

async function resolve(hostname: string, lookup: LookupAll, timeoutMs: number): Promise<string[]> {
  if (isIP(hostname) !== 0) return [hostname];
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new errors.ConnectTimeoutError(`DNS lookup of ${hostname} took over ${timeoutMs}ms`)),
      timeoutMs,
    );
  });
  try {
    const addresses = await Promise.race([lookup(hostname), deadline]);
    if (addresses.length === 0)
      throw Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' });
    return addresses;
  } finally {
    clearTimeout(timer);
  }
}
