import { MockAgent } from 'undici';
import type { Connector } from '@hookflow/flows';
import { createConnectorRegistry, MapConnectorRegistry } from './registry';
import { HttpConnector } from './http/http.connector';

describe('createConnectorRegistry', () => {
  const dispatcher = new MockAgent();
  afterAll(() => dispatcher.close());

  it('holds the http connector with its schema', () => {
    const registry = createConnectorRegistry({ dispatcher });
    expect(registry.keys()).toEqual(['http']);
    const http = registry.get('http');
    expect(http).toBeInstanceOf(HttpConnector);
    expect(http?.schema).toMatchObject({ required: ['url'] });
    expect(registry.get('slack')).toBeUndefined();
  });

  it('passes maxResponseBytes on and rejects a bad one', () => {
    expect(() => createConnectorRegistry({ dispatcher, maxResponseBytes: -1 })).toThrow(RangeError);
  });

  it('registers more connectors and refuses a duplicate key', () => {
    const stub: Connector = { key: 'stub', schema: {}, execute: async () => 'done' };
    const registry = createConnectorRegistry({ dispatcher }).register(stub);
    expect(registry.keys()).toEqual(['http', 'stub']);
    expect(registry.get('stub')).toBe(stub);
    expect(() => registry.register(stub)).toThrow('connector "stub" is already registered');
  });

  it('starts empty when built directly', () => {
    expect(new MapConnectorRegistry().keys()).toEqual([]);
  });
});
