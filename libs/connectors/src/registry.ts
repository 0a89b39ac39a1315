import type { Dispatcher } from 'undici';
import type { Connector, ConnectorRegistry } from '@hookflow/flows';
import { createOutboundAgent } from './dispatcher';
import { DiscordConnector } from './discord/discord.connector';
import { HttpConnector } from './http/http.connector';
import { SlackConnector } from './slack/slack.connector';
import { TeamsConnector } from './teams/teams.connector';

/** A connector registry backed by a Map; keys are unique. */
export class MapConnectorRegistry implements ConnectorRegistry {
  private readonly connectors = new Map<string, Connector>();

  /** Adds a connector; a second connector with the same key is a wiring bug and throws. */
  register(connector: Connector): this {
    if (this.connectors.has(connector.key)) {
      throw new Error(`connector "${connector.key}" is already registered`);
    }
    this.connectors.set(connector.key, connector);
    return this;
  }

  get(key: string): Connector | undefined {
    return this.connectors.get(key);
  }

  keys(): string[] {
    return [...this.connectors.keys()];
  }
}

export interface ConnectorRegistryOptions {
  /** Shared outbound dispatcher; defaults to a new `createOutboundAgent()`. */
  dispatcher?: Dispatcher;
  /** Passed to the http connector (default 1 MiB). */
  maxResponseBytes?: number;
}

/** The registry of built-in connectors (`http`, and the chat ones built on it) over one dispatcher. */
export function createConnectorRegistry(opts: ConnectorRegistryOptions = {}): MapConnectorRegistry {
  const dispatcher = opts.dispatcher ?? createOutboundAgent();
  const http = new HttpConnector(dispatcher, { maxResponseBytes: opts.maxResponseBytes });
  return new MapConnectorRegistry()
    .register(http)
    .register(new SlackConnector(http))
    .register(new DiscordConnector(http))
    .register(new TeamsConnector(http));
}
