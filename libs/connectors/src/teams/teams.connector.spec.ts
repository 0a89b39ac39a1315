import { Agent } from 'undici';
import { connectorInputIssues, type ConnectorContext } from '@hookflow/flows';
import { HttpConnector } from '../http/http.connector';
import { LocalReceiver } from '../testing/local-receiver';
import { ADAPTIVE_CARD_CONTENT_TYPE, TeamsConnector } from './teams.connector';

const ctx: ConnectorContext = {
  runId: 'run-1',
  stepId: 'notify',
  attempt: 1,
  timeoutMs: 5000,
  idempotencyKey: 'run-1_notify',
};

const card = {
  type: 'AdaptiveCard' as const,
  $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
  version: '1.5',
  body: [{ type: 'TextBlock', text: 'Order A-1 paid', weight: 'Bolder' }],
};

describe('TeamsConnector', () => {
  let receiver: LocalReceiver;
  let agent: Agent;
  let teams: TeamsConnector;

  beforeAll(async () => {
    receiver = await LocalReceiver.start();
    agent = new Agent();
    teams = new TeamsConnector(new HttpConnector(agent));
  });

  afterAll(async () => {
    await agent.destroy();
    await receiver.stop();
  });

  it('posts { text } for a text message', async () => {
    await teams.execute({ url: receiver.url('/text'), text: 'Order A-1 paid' }, ctx);
    const req = receiver.only('/text');
    expect(req.method).toBe('POST');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.json).toEqual({ text: 'Order A-1 paid' });
  });

  it('wraps an Adaptive Card in the Teams message envelope', async () => {
    await teams.execute({ url: receiver.url('/card'), card }, ctx);
    expect(receiver.only('/card').json).toEqual({
      type: 'message',
      attachments: [{ contentType: ADAPTIVE_CARD_CONTENT_TYPE, content: card }],
    });
    expect(ADAPTIVE_CARD_CONTENT_TYPE).toBe('application/vnd.microsoft.card.adaptive');
  });

  it.each<[string, unknown, boolean]>([
    ['text', { url: 'https://x.webhook.office.com/a', text: 'hi' }, true],
    ['card', { url: 'u', card }, true],
    ['neither', { url: 'u' }, false],
    ['both', { url: 'u', text: 'hi', card }, false],
    ['card that is not an Adaptive Card', { url: 'u', card: { type: 'MessageCard' } }, false],
    ['card not an object', { url: 'u', card: '{"type":"AdaptiveCard"}' }, false],
  ])('schema: %s -> valid %p', (_name, value, valid) => {
    expect(connectorInputIssues(teams, value).length === 0).toBe(valid);
  });
});
