import { Agent } from 'undici';

export interface OutboundAgentOptions {
  /** Idle time before a kept-alive socket is closed. Default 4s, below the 5s many servers use. */
  keepAliveTimeoutMs?: number;
  /** Sockets per origin, so one slow receiver cannot take every file descriptor. Default 16. */
  connectionsPerOrigin?: number;
  /** TCP + TLS handshake budget. Each request's own deadline still bounds it. Default 10s. */
  connectTimeoutMs?: number;
}

/**
 * Creates the keep-alive undici `Agent` that every outbound connector shares. Requests are not
 * pipelined (a slow response must not hold up the next step's request) and redirects are not
 * followed (undici 7 follows none unless a redirect interceptor is composed in).
 */
export function createOutboundAgent(options: OutboundAgentOptions = {}): Agent {
  return new Agent({
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 4_000,
    // Servers may ask for longer via Keep-Alive: timeout=N; never keep an idle socket past a minute.
    keepAliveMaxTimeout: 60_000,
    connections: options.connectionsPerOrigin ?? 16,
    pipelining: 1,
    // SSRF seam: the guard that refuses private, loopback, link-local and metadata addresses
    // (checked on the resolved IP, with the OUTBOUND_ALLOW allow-list) replaces this `connect`
    // option with a connector function wrapping undici's buildConnector.
    connect: { timeout: options.connectTimeoutMs ?? 10_000 },
  });
}
