import { MockAgent } from 'undici';
import { validateFlow, type Connector } from '@hookflow/flows';
import { createConnectorRegistry, MapConnectorRegistry } from './registry';
import { DiscordConnector } from './discord/discord.connector';
import { HttpConnector } from './http/http.connector';
import { SlackConnector } from './slack/slack.connector';
import { TeamsConnector } from './teams/teams.connector';

describe('createConnectorRegistry', () => {
  const dispatcher = new MockAgent();
  afterAll(() => dispatcher.close());

  it('holds the http connector and the chat connectors with their schemas', () => {
    const registry = createConnectorRegistry({ dispatcher });
    expect(registry.keys()).toEqual(['http', 'slack', 'discord', 'teams']);
    const http = registry.get('http');
    expect(http).toBeInstanceOf(HttpConnector);
    expect(http?.schema).toMatchObject({ required: ['url'] });
    expect(registry.get('slack')).toBeInstanceOf(SlackConnector);
    expect(registry.get('discord')).toBeInstanceOf(DiscordConnector);
    expect(registry.get('teams')).toBeInstanceOf(TeamsConnector);
    expect(registry.get('email')).toBeUndefined();
  });

  // The flow validator checks each action against these at save time (see validate-flow.spec).
  it.each<[string, Record<string, unknown>, boolean]>([
    ['slack', { url: 'https://hooks.slack.com/x', text: 'hi' }, true],
    ['slack', { url: 'https://hooks.slack.com/x' }, false],
    ['discord', { url: 'https://discord.com/api/webhooks/1/t', content: 'hi', embeds: [{}] }, true],
    ['discord', { url: 'https://discord.com/api/webhooks/1/t', text: 'hi' }, false],
    ['teams', { url: 'https://x.webhook.office.com/1', text: 'hi' }, true],
    ['teams', { url: 'https://x.webhook.office.com/1', card: { type: 'AdaptiveCard' } }, true],
  ])('validates %s options %j -> %p', (key, value, valid) => {
    const registry = createConnectorRegistry({ dispatcher });
    const result = validateFlow(
      {
        slug: 's',
        trigger: { type: 'webhook' },
        steps: [{ id: 'a', type: 'action', connector: key, with: value }],
      },
      { connectors: registry },
    );
    expect(result.valid).toBe(valid);
  });

  it('makes an unknown connector a validation error', () => {
    const result = validateFlow(
      {
        slug: 's',
        trigger: { type: 'webhook' },
        steps: [{ id: 'a', type: 'action', connector: 'slak', with: {} }],
      },
      { connectors: createConnectorRegistry({ dispatcher }) },
    );
    expect(result).toMatchObject({
      valid: false,
      errors: [{ path: '/steps/0/connector', message: "unknown connector 'slak'; did you mean 'slack'?" }],
    });
  });

  it('passes maxResponseBytes on and rejects a bad one', () => {
    expect(() => createConnectorRegistry({ dispatcher, maxResponseBytes: -1 })).toThrow(RangeError);
  });

  it('registers more connectors and refuses a duplicate key', () => {
    const stub: Connector = { key: 'stub', schema: {}, execute: async () => 'done' };
    const registry = createConnectorRegistry({ dispatcher }).register(stub);
    expect(registry.keys()).toEqual(['http', 'slack', 'discord', 'teams', 'stub']);
    expect(registry.get('stub')).toBe(stub);
    expect(() => registry.register(stub)).toThrow('connector "stub" is already registered');
  });

  it('starts empty when built directly', () => {
    expect(new MapConnectorRegistry().keys()).toEqual([]);
  });
});
