import { Agent } from 'undici';
import { ConnectorError, connectorInputIssues, type ConnectorContext } from '@hookflow/flows';
import { HttpConnector } from '../http/http.connector';
import { LocalReceiver } from '../testing/local-receiver';
import { SlackConnector } from './slack.connector';

const ctx: ConnectorContext = {
  runId: 'run-1',
  stepId: 'notify',
  attempt: 1,
  timeoutMs: 5000,
  idempotencyKey: 'run-1_notify',
};

describe('SlackConnector', () => {
  let receiver: LocalReceiver;
  let agent: Agent;
  let slack: SlackConnector;

  beforeAll(async () => {
    receiver = await LocalReceiver.start();
    agent = new Agent();
    slack = new SlackConnector(new HttpConnector(agent));
  });

  afterAll(async () => {
    await agent.destroy();
    await receiver.stop();
  });

  it('posts { text } as JSON with the idempotency key', async () => {
    const output = await slack.execute({ url: receiver.url('/text'), text: 'Order A-1 paid' }, ctx);

    expect(output).toMatchObject({ status: 200, body: 'ok' });
    const req = receiver.only('/text');
    expect(req.method).toBe('POST');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['idempotency-key']).toBe('run-1_notify');
    expect(req.json).toEqual({ text: 'Order A-1 paid' });
  });

  it('posts blocks as they are, next to the fallback text', async () => {
    const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*A-1* paid' } }];
    await slack.execute({ url: receiver.url('/blocks'), text: 'A-1 paid', blocks }, ctx);
    expect(receiver.only('/blocks').json).toEqual({ text: 'A-1 paid', blocks });
  });

  it("fails like the http connector on the receiver's errors", async () => {
    const error = await slack.execute({ url: receiver.url('/gone', 410), text: 'x' }, ctx).catch((e) => e);
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error).toMatchObject({ code: 'http_error', retryable: false, extra: { status: 410 } });
  });

  it.each<[string, unknown, boolean]>([
    ['url and text', { url: 'https://hooks.slack.com/services/x', text: 'hi' }, true],
    ['with blocks', { url: 'u', text: 'hi', blocks: [{ type: 'divider' }] }, true],
    ['no text', { url: 'u' }, false],
    ['empty text', { url: 'u', text: '' }, false],
    ['blocks not an array', { url: 'u', text: 'hi', blocks: { type: 'divider' } }, false],
    ['51 blocks', { url: 'u', text: 'hi', blocks: Array(51).fill({ type: 'divider' }) }, false],
    ['unknown option', { url: 'u', text: 'hi', channel: '#x' }, false],
  ])('schema: %s -> valid %p', (_name, value, valid) => {
    expect(connectorInputIssues(slack, value).length === 0).toBe(valid);
  });
});
