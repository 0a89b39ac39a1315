import { Agent } from 'undici';
import { connectorInputIssues, type ConnectorContext } from '@hookflow/flows';
import { HttpConnector } from '../http/http.connector';
import { LocalReceiver } from '../testing/local-receiver';
import { DiscordConnector } from './discord.connector';

const ctx: ConnectorContext = {
  runId: 'run-1',
  stepId: 'notify',
  attempt: 1,
  timeoutMs: 5000,
  idempotencyKey: 'run-1_notify',
};

describe('DiscordConnector', () => {
  let receiver: LocalReceiver;
  let agent: Agent;
  let discord: DiscordConnector;

  beforeAll(async () => {
    receiver = await LocalReceiver.start();
    agent = new Agent();
    discord = new DiscordConnector(new HttpConnector(agent));
  });

  afterAll(async () => {
    await agent.destroy();
    await receiver.stop();
  });

  it('posts { content } as JSON', async () => {
    const output = await discord.execute({ url: receiver.url('/content', 204), content: 'Deployed v2' }, ctx);

    expect(output).toMatchObject({ status: 204 });
    const req = receiver.only('/content');
    expect(req.method).toBe('POST');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.json).toEqual({ content: 'Deployed v2' });
  });

  it('posts embeds as they are', async () => {
    const embeds = [{ title: 'v2', description: 'all green', color: 0x2ecc71 }];
    await discord.execute({ url: receiver.url('/embeds'), content: 'Deployed', embeds }, ctx);
    expect(receiver.only('/embeds').json).toEqual({ content: 'Deployed', embeds });
  });

  it('a 429 from Discord is retryable', async () => {
    const error = await discord
      .execute({ url: receiver.url('/busy', 429), content: 'x' }, ctx)
      .catch((e) => e);
    expect(error).toMatchObject({ code: 'http_error', retryable: true, extra: { status: 429 } });
  });

  it.each<[string, unknown, boolean]>([
    ['url and content', { url: 'https://discord.com/api/webhooks/1/t', content: 'hi' }, true],
    ['with embeds', { url: 'u', content: 'hi', embeds: [{ title: 't' }] }, true],
    ['no content', { url: 'u', embeds: [] }, false],
    ['content over 2000 characters', { url: 'u', content: 'x'.repeat(2001) }, false],
    ['11 embeds', { url: 'u', content: 'hi', embeds: Array(11).fill({}) }, false],
    ['slack-style text', { url: 'u', text: 'hi' }, false],
  ])('schema: %s -> valid %p', (_name, value, valid) => {
    expect(connectorInputIssues(discord, value).length === 0).toBe(valid);
  });
});
