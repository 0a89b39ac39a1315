import type { Dispatcher } from 'undici';
import type { Connector, ConnectorRegistry } from '@hookflow/flows';
import { createOutboundAgent } from './dispatcher';
import { HttpConnector } from './http/http.connector';

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

/** Builds the registry of built-in connectors (currently `http`) over one shared dispatcher. */
export function createConnectorRegistry(opts: ConnectorRegistryOptions = {}): MapConnectorRegistry {
  const dispatcher = opts.dispatcher ?? createOutboundAgent();
  return new MapConnectorRegistry().register(
    new HttpConnector(dispatcher, { maxResponseBytes: opts.maxResponseBytes }),
  );
}
