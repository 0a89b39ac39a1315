import { HttpConnector, SlackConnector, MapConnectorRegistry } from '@hookflow/connectors';
import { InProcessEvaluator, type ExpressionEvaluator } from '@hookflow/flows';
import type { HookflowConfig } from '@hookflow/platform';
import type {
  ClaimedOpsDelivery,
  OpsDeliveryOutcome,
  OpsDeliveryRepository,
  OpsSubscriptionRepository,
  OpsSubscriptionTarget,
  SecretRepository,
} from '@hookflow/store';
import { Webhook } from 'standardwebhooks';
import { MockAgent } from 'undici';
import type { OpsDeliveries } from './ops-deliveries';
import { OpsSender } from './ops-sender';
import { StepSecrets } from '../steps/step-secrets';

const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
const ORIGIN = 'https://ops.example.com';

interface Sent {
  headers: Record<string, string>;
  body: string;
}

/** The sender over a MockAgent (no network) and repositories as fakes that keep what they were told. */
function newTestService(
  options: { target?: Partial<OpsSubscriptionTarget>; secrets?: Record<string, string> } = {},
) {
  const agent = new MockAgent();
  agent.disableNetConnect();
  const http = new HttpConnector(agent);
  const connectors = new MapConnectorRegistry().register(http).register(new SlackConnector(http));
  const recorded: OpsDeliveryOutcome[] = [];
  const sent: Sent[] = [];
  const deliveries = {
    record: (_: unknown, outcome: OpsDeliveryOutcome) => Promise.resolve(void recorded.push(outcome)),
  };
  const subscriptions = {
    target: () =>
      Promise.resolve({ id: 's1', url: `${ORIGIN}/hook`, enabled: true, secret: SECRET, ...options.target }),
  };
  const secrets = {
    available: true,
    values: (names: string[]) =>
      Promise.resolve(Object.fromEntries(names.map((n) => [n, options.secrets?.[n]]).filter(([, v]) => v))),
  };
  const evaluator = new InProcessEvaluator();
  const sut = new OpsSender(
    connectors,
    { evaluate: (r) => evaluator.evaluate(r) } as ExpressionEvaluator,
    deliveries as unknown as OpsDeliveryRepository,
    subscriptions as unknown as OpsSubscriptionRepository,
    new StepSecrets(secrets as unknown as SecretRepository),
    {} as OpsDeliveries,
    {} as HookflowConfig,
  );
  /** Answers the next POST to `path` with `status`, keeping what was sent. */
  const answer = (path: string, status: number, headers: Record<string, string> = {}) =>
    agent
      .get(ORIGIN)
      .intercept({ path, method: 'POST' })
      .reply((req) => {
        sent.push({ headers: req.headers as Record<string, string>, body: String(req.body) });
        return { statusCode: status, data: '{}', responseOptions: { headers } };
      });
  return { sut, recorded, sent, answer };
}

const event = { type: 'run.failed', at: '2026-12-08T01:00:00.000Z', run: { id: 'r1' } };

function delivery(overrides: Partial<ClaimedOpsDelivery> = {}): ClaimedOpsDelivery {
  return {
    id: '1',
    kind: 'subscription',
    key: 'sub_s1_42',
    subscriptionId: 's1',
    flowId: null,
    eventId: '42',
    eventType: 'run.failed',
    body: event,
    attempts: 1,
    createdAt: new Date(),
    ...overrides,
  };
}

describe('OpsSender', () => {
  it('signs the event with Standard Webhooks, the same webhook-id on every try', async () => {
    const { sut, recorded, sent, answer } = newTestService();
    answer('/hook', 500);
    answer('/hook', 200);
    await sut.send(delivery({ attempts: 1 }));
    await sut.send(delivery({ attempts: 2 }));
    expect(sent).toHaveLength(2);
    for (const { headers, body } of sent) expect(new Webhook(SECRET).verify(body, headers)).toEqual(event);
    expect(sent[0].headers['webhook-id']).toBe(sent[1].headers['webhook-id']);
    expect(recorded[0]).toMatchObject({ status: 'pending', responseStatus: 500 });
    expect(recorded[1]).toEqual({ status: 'delivered', responseStatus: 200 });
  });

  it("waits at least a receiver's Retry-After", async () => {
    const { sut, recorded, answer } = newTestService();
    answer('/hook', 429, { 'retry-after': '3600' });
    const before = Date.now();
    await sut.send(delivery());
    const outcome = recorded[0] as Extract<OpsDeliveryOutcome, { status: 'pending' }>;
    expect(outcome.status).toBe('pending');
    expect(outcome.nextAt.getTime() - before).toBeGreaterThanOrEqual(3_600_000 - 1000);
  });

  it('fails after the eighth try', async () => {
    const { sut, recorded, answer } = newTestService();
    answer('/hook', 500);
    await sut.send(delivery({ attempts: 8 }));
    expect(recorded[0]).toMatchObject({ status: 'failed', responseStatus: 500 });
  });

  it('sends nothing to a disabled subscription, and fails the delivery', async () => {
    const { sut, recorded, sent } = newTestService({ target: { enabled: false } });
    await sut.send(delivery());
    expect(sent).toHaveLength(0);
    expect(recorded[0]).toMatchObject({ status: 'failed', error: expect.stringContaining('disabled') });
  });

  it('never records the secret in an error', async () => {
    const { sut, recorded } = newTestService({ target: { url: `${ORIGIN}/nobody-answers` } });
    await sut.send(delivery());
    expect(JSON.stringify(recorded)).not.toContain(SECRET.slice(6));
  });

  it("posts an alert through the rule's connector, its URL from a secret", async () => {
    const { sut, recorded, sent, answer } = newTestService({
      secrets: { OPS_SLACK: `${ORIGIN}/slack/T0/B0` },
    });
    answer('/slack/T0/B0', 200);
    const message = {
      type: 'alert.run_failed',
      flow: 'orders',
      text: 'A run of orders failed. {{not a template}}',
    };
    await sut.send(
      delivery({
        kind: 'alert',
        key: 'alert_f1_42',
        subscriptionId: null,
        body: { slug: 'orders', target: { connector: 'slack', url: "{{secret 'OPS_SLACK'}}" }, message },
      }),
    );
    expect(JSON.parse(sent[0].body)).toEqual({ text: message.text });
    expect(recorded[0]).toEqual({ status: 'delivered', responseStatus: 200 });
  });

  it('fails an alert whose secret is missing at once', async () => {
    const { sut, recorded } = newTestService();
    await sut.send(
      delivery({
        kind: 'alert',
        key: 'alert_f1_43',
        body: {
          slug: 'orders',
          target: { connector: 'slack', url: "{{secret 'MISSING'}}" },
          message: { text: 'x' },
        },
      }),
    );
    expect(recorded[0]).toMatchObject({ status: 'failed', error: expect.stringContaining('template_error') });
  });
});
