import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { HookflowHarness } from '../utils/hookflow-harness';
import { SinkServer, type SinkRequest } from '../utils/sink-server';

/** Outbound delivery: retries with one Idempotency-Key, Standard Webhooks signing, 410 Gone, chat connectors. */
describe('outbound delivery (API + worker, PostgreSQL + Redis)', () => {
  let hf: HookflowHarness;
  let sink: SinkServer;
  // Keeps the default 8 attempts and exponential full jitter, from 50 ms instead of 1 s.
  const quickRetry = { delay: '50ms' };
  const signingSecret = `whsec_${randomBytes(32).toString('base64')}`;

  beforeAll(async () => {
    sink = await SinkServer.start();
    // The sink is on loopback, which the outbound guard refuses unless allowed.
    hf = await HookflowHarness.start({ env: { OUTBOUND_ALLOW: '127.0.0.1/32' } });
    await hf.http().put('/api/secrets/SHIP_WHSEC').set(hf.auth).send({ value: signingSecret }).expect(204);
  });

  afterAll(async () => {
    await hf?.close();
    await sink?.close();
  });

  async function deliver(slug: string, step: Record<string, unknown>, body: unknown) {
    const { hookPath } = await hf.createFlow({
      slug,
      trigger: { type: 'webhook' },
      steps: [{ id: 'send', type: 'action', ...step }],
    });
    const accepted = await hf
      .http()
      .post(hookPath)
      .send(body as object)
      .expect(202);
    const run = await hf.waitForRun(accepted.body.runId);
    return { runId: accepted.body.runId as string, run };
  }

  it('retries a 503 and delivers on 200, sending the same Idempotency-Key both times', async () => {
    sink.script('/retry-503', [503, 200]);
    const { runId, run } = await deliver(
      'retry-503',
      { connector: 'http', retry: quickRetry, with: { url: `${sink.url}/retry-503`, json: '{{input}}' } },
      { n: 1 },
    );

    expect(run.status).toBe('succeeded');
    const received = sink.received('/retry-503');
    expect(received.map((r) => r.headers['idempotency-key'])).toEqual([`${runId}_send`, `${runId}_send`]);
    expect(run.steps[0].attempts.map((a: any) => [a.n, a.outcome, a.responseStatus])).toEqual([
      [1, 'retrying', 503],
      [2, 'succeeded', 200],
    ]);
  });

  it('signs every attempt with Standard Webhooks headers that the reference library verifies', async () => {
    sink.script('/signed', [503, 200]);
    const payload = { order: 'A-1', note: 'caf\u00e9 \u{1F680}', amount: 12.5 };
    const { run } = await deliver(
      'signed-delivery',
      {
        connector: 'http',
        retry: quickRetry,
        with: { url: `${sink.url}/signed`, json: '{{input}}', sign: { secret: 'SHIP_WHSEC' } },
      },
      payload,
    );

    expect(run.status).toBe('succeeded');
    const received = sink.received('/signed');
    expect(received).toHaveLength(2);
    const webhook = new Webhook(signingSecret);
    for (const req of received) {
      expect(webhook.verify(req.body, signatureHeaders(req))).toEqual(payload);
      expect(Math.abs(Number(req.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
    }
    // Stable across attempts, so a receiver can drop a repeat by webhook-id alone.
    expect(received[0].headers['webhook-id']).toMatch(/^msg_/);
    expect(received[1].headers['webhook-id']).toBe(received[0].headers['webhook-id']);
    // Signed for another secret, or with the body changed, it must not verify.
    const other = new Webhook(`whsec_${randomBytes(32).toString('base64')}`);
    expect(() => other.verify(received[1].body, signatureHeaders(received[1]))).toThrow();
    expect(() => webhook.verify(`${received[1].body} `, signatureHeaders(received[1]))).toThrow();
    // The secret's value is nowhere in what the run stored.
    expect(JSON.stringify(run)).not.toContain(signingSecret.slice(6));
  });

  it('shows the signing secret as a placeholder in a dry run', async () => {
    const res = await hf
      .http()
      .post('/api/flows/test')
      .set(hf.auth)
      .send({
        definition: {
          slug: 'signed-dry-run',
          trigger: { type: 'webhook' },
          steps: [
            {
              id: 'send',
              type: 'action',
              connector: 'http',
              with: { url: `${sink.url}/never`, json: '{{input}}', sign: { secret: 'SHIP_WHSEC' } },
            },
          ],
        },
        body: { a: 1 },
      })
      .expect(200);

    expect(res.body.steps[0].request).toMatchObject({ sign: { secret: '[secret SHIP_WHSEC]' } });
    expect(JSON.stringify(res.body)).not.toContain(signingSecret.slice(6));
    expect(sink.received('/never')).toHaveLength(0);
  });

  it('fails at once on 410 Gone, after a single attempt', async () => {
    sink.script('/gone', [410, 200]);
    const { run } = await deliver(
      'gone-receiver',
      { connector: 'http', retry: quickRetry, with: { url: `${sink.url}/gone`, json: '{{input}}' } },
      { n: 1 },
    );

    expect(run.status).toBe('failed');
    expect(sink.received('/gone')).toHaveLength(1);
    expect(run.steps[0].attempts.map((a: any) => [a.n, a.outcome, a.responseStatus])).toEqual([
      [1, 'failed', 410],
    ]);
    expect(run.steps[0].error).toMatchObject({ code: 'http_error', retryable: false, status: 410 });
  });

  it("sends each chat connector's body to its receiver", async () => {
    const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*A-1* paid' } }];
    const embeds = [{ title: 'A-1', description: 'paid' }];
    const card = { type: 'AdaptiveCard', version: '1.5', body: [{ type: 'TextBlock', text: 'A-1 paid' }] };
    const { hookPath } = await hf.createFlow({
      slug: 'chat-fanout',
      trigger: { type: 'webhook' },
      // Steps without needs run in order, each seeing the previous output: read the trigger.
      steps: [
        {
          id: 'slack',
          type: 'action',
          connector: 'slack',
          with: {
            url: `${sink.url}/slack`,
            text: 'Order {{trigger.body.id}} paid',
            blocks: '{{trigger.body.blocks}}',
          },
        },
        {
          id: 'discord',
          type: 'action',
          connector: 'discord',
          with: {
            url: `${sink.url}/discord`,
            content: 'Order {{trigger.body.id}} paid',
            embeds: '{{trigger.body.embeds}}',
          },
        },
        {
          id: 'teams-text',
          type: 'action',
          connector: 'teams',
          with: { url: `${sink.url}/teams-text`, text: 'Order {{trigger.body.id}} paid' },
        },
        {
          id: 'teams-card',
          type: 'action',
          connector: 'teams',
          with: { url: `${sink.url}/teams-card`, card: '{{trigger.body.card}}' },
        },
      ],
    });
    const accepted = await hf.http().post(hookPath).send({ id: 'A-1', blocks, embeds, card }).expect(202);
    const run = await hf.waitForRun(accepted.body.runId);

    expect(run.steps.filter((s: any) => s.status !== 'succeeded')).toEqual([]);
    expect(run.status).toBe('succeeded');
    const [slack] = await sink.waitForRequests('/slack', 1);
    expect(slack.json).toEqual({ text: 'Order A-1 paid', blocks });
    const [discord] = await sink.waitForRequests('/discord', 1);
    expect(discord.json).toEqual({ content: 'Order A-1 paid', embeds });
    const [teamsText] = await sink.waitForRequests('/teams-text', 1);
    expect(teamsText.json).toEqual({ text: 'Order A-1 paid' });
    const [teamsCard] = await sink.waitForRequests('/teams-card', 1);
    expect(teamsCard.json).toEqual({
      type: 'message',
      attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: card }],
    });
    for (const req of [slack, discord, teamsText, teamsCard]) {
      expect(req.headers['content-type']).toContain('application/json');
      expect(req.headers['idempotency-key']).toMatch(new RegExp(`^${accepted.body.runId}_`));
    }
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['an unknown connector', { connector: 'slak', with: { url: 'https://x' } }, '/steps/0/connector'],
    ['slack without text', { connector: 'slack', with: { url: 'https://x' } }, '/steps/0/with/text'],
    [
      'teams with text and a card',
      { connector: 'teams', with: { url: 'https://x', text: 't', card: {} } },
      '/steps/0/with',
    ],
    [
      'an http signing secret given as a value',
      { connector: 'http', with: { url: 'https://x', sign: { secret: 'whsec_eA==' } } },
      '/steps/0/with/sign/secret',
    ],
  ])('refuses %s when the flow is saved', async (_name, step, path) => {
    const res = await hf
      .http()
      .post('/api/flows')
      .set(hf.auth)
      .send({
        slug: `bad-${randomBytes(3).toString('hex')}`,
        trigger: { type: 'webhook' },
        steps: [{ id: 'a', type: 'action', ...step }],
      });

    expect(res.status).toBe(400);
    expect(res.body.details.map((d: { path: string }) => d.path)).toContain(path);
  });
});

function signatureHeaders(req: SinkRequest): Record<string, string> {
  return {
    'webhook-id': String(req.headers['webhook-id']),
    'webhook-timestamp': String(req.headers['webhook-timestamp']),
    'webhook-signature': String(req.headers['webhook-signature']),
  };
}
