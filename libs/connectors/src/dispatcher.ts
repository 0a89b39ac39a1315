import { Agent } from 'undici';
import { createGuardedConnector, type LookupAll } from './guard/outbound-guard';
import { parseOutboundAllow, type OutboundAllowList } from './guard/outbound-allow';

export interface OutboundAgentOptions {
  /** Idle time before a kept-alive socket is closed. Default 4s, below the 5s many servers use. */
  keepAliveTimeoutMs?: number;
  /** Sockets per origin, so one slow receiver cannot take every file descriptor. Default 16. */
  connectionsPerOrigin?: number;
  /** DNS lookup budget, and TCP + TLS handshake budget. Each request's own deadline still bounds both. Default 10s. */
  connectTimeoutMs?: number;
  /** Exceptions to the SSRF guard (`OUTBOUND_ALLOW`), parsed or not; default none. */
  allow?: OutboundAllowList | string | readonly string[];
  /** Replaces `dns.lookup` in the guard (tests). */
  lookup?: LookupAll;
}

/** The keep-alive undici `Agent` all connectors share; every new socket passes the SSRF guard. */
export function createOutboundAgent(options: OutboundAgentOptions = {}): Agent {
  const allow =
    typeof options.allow === 'string' || Array.isArray(options.allow)
      ? parseOutboundAllow(options.allow as string | readonly string[])
      : (options.allow as OutboundAllowList | undefined);
  return new Agent({
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 4_000,
    // Servers may ask for longer via Keep-Alive: timeout=N; never keep an idle socket past a minute.
    keepAliveMaxTimeout: 60_000,
    connections: options.connectionsPerOrigin ?? 16,
    // No pipelining: a slow response must not hold up the next request.
    pipelining: 1,
    connect: createGuardedConnector({
      allow,
      timeoutMs: options.connectTimeoutMs ?? 10_000,
      lookup: options.lookup,
    }),
  });
}
