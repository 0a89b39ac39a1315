import * as fs from 'node:fs';
import * as path from 'node:path';
// The real connectors, so the examples are checked against the options the server accepts.
// libs/flows itself never imports another lib; a test may.
import { createConnectorRegistry, createOutboundAgent } from '../../../connectors/src';
import { compileFlow } from '../execute/compile-flow';
import { runFlowInProcess, type InProcessRunResult } from '../execute/run-in-process';
import { canonicalFlowJson } from '../model/canonical';
import { webhookOf, type FlowDefinition } from '../model/flow-definition';
import type { TriggerData } from '../model/run-context';
import { InProcessEvaluator } from '../transform/expression-evaluator';
import { validateFlow } from './validate-flow';

const expressions = new InProcessEvaluator();

const FLOWS_DIR = path.resolve(process.cwd(), 'flows');
const SAMPLES_DIR = path.join(FLOWS_DIR, 'samples');
const files = fs.existsSync(FLOWS_DIR)
  ? fs
      .readdirSync(FLOWS_DIR)
      .filter((f) => f.endsWith('.flow.json'))
      .sort()
  : [];

const dispatcher = createOutboundAgent();
const connectors = createConnectorRegistry({ dispatcher });
afterAll(() => dispatcher.close());

const readText = (file: string) => fs.readFileSync(path.join(FLOWS_DIR, file), 'utf8');
const readFlow = (file: string) => JSON.parse(readText(file)) as FlowDefinition;

describe('flows/*.flow.json', () => {
  it('has the documented examples', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'order-fanout.flow.json',
        'stripe-payment-to-chat.flow.json',
        'github-push-to-webhook.flow.json',
        'contact-list-to-crm.flow.json',
        'order-lines.flow.json',
        'order-pipeline.flow.json',
        'daily-sales-digest.flow.json',
        'new-shop-orders.flow.json',
        'slack-slash-command.flow.json',
        'failures-to-slack.flow.json',
      ]),
    );
  });

  it.each(files)('%s is valid against the real connectors, without warnings, and compiles', (file) => {
    const doc = readFlow(file);
    expect(validateFlow(doc, { connectors })).toEqual({ valid: true, flow: doc, warnings: [] });
    expect(() => compileFlow(doc)).not.toThrow();
  });

  it.each(files)('%s is named after its slug, with a name and a description', (file) => {
    const doc = readFlow(file);
    expect(file).toBe(`${doc.slug}.flow.json`);
    expect(doc.name).toEqual(expect.any(String));
    expect(doc.description).toEqual(expect.any(String));
  });

  it.each(files)('%s points editors at the published schema', (file) => {
    const doc = readFlow(file);
    expect(doc.$schema).toBe('../schema/flow.schema.json');
    expect(fs.existsSync(path.resolve(FLOWS_DIR, doc.$schema!))).toBe(true);
  });

  // The examples double as the round-trip fixture of the canonical format.
  it.each(files)('%s is stored in canonical form', (file) => {
    const text = readText(file);
    expect(canonicalFlowJson(JSON.parse(text) as FlowDefinition)).toBe(text);
  });

  it.each(files)('%s has a sample payload under flows/samples', (file) => {
    expect(fs.existsSync(path.join(SAMPLES_DIR, file.replace('.flow.json', '.json')))).toBe(true);
  });
});

/**
 * Runs an example on its sample as a dry run. A sample is the request body (what
 * `hookflow test --payload` takes), except for a GET trigger, whose data is the query string.
 */
async function dryRun(
  slug: string,
  change: (sample: Record<string, unknown>) => void = () => {},
): Promise<InProcessRunResult> {
  const def = readFlow(`${slug}.flow.json`);
  const sample = JSON.parse(fs.readFileSync(path.join(SAMPLES_DIR, `${slug}.json`), 'utf8')) as Record<
    string,
    unknown
  >;
  change(sample);
  const method = webhookOf(def)?.methods?.[0] ?? 'POST';
  const trigger: TriggerData =
    method === 'GET'
      ? { body: null, query: sample, headers: {}, method, receivedAt: '2024-06-10T09:15:00.000Z' }
      : {
          body: sample,
          query: {},
          headers: { 'content-type': 'application/json' },
          method,
          receivedAt: '2024-06-10T09:15:00.000Z',
        };
  return runFlowInProcess(compileFlow(def), trigger, {
    connectors,
    expressions,
    dryRun: true,
    runId: 'run-1',
  });
}

const statuses = (result: InProcessRunResult) =>
  Object.fromEntries(result.steps.map((s) => [s.id, s.status]));
const requestOf = (result: InProcessRunResult, id: string) => result.steps.find((s) => s.id === id)?.request;

describe('the examples, run as dry runs on their samples', () => {
  it('order-fanout: transforms the order and fans out to three actions with typed JSON', async () => {
    const result = await dryRun('order-fanout');
    expect(result.status).toBe('succeeded');
    expect(statuses(result)).toEqual({
      order: 'succeeded',
      billing: 'succeeded',
      shipping: 'succeeded',
      inventory: 'succeeded',
    });
    const items = [
      { sku: 'tea-earl-grey', quantity: 2 },
      { sku: 'mug-white', quantity: 1 },
    ];
    const address = { line1: '12 Rue de la Paix', city: 'Lyon', postalCode: '69002', country: 'FR' };
    expect(result.steps[0].output).toEqual({
      id: 'ord_1001',
      email: 'ada@example.com',
      currency: 'EUR',
      total: 21,
      items,
      address,
    });
    expect(requestOf(result, 'billing')).toEqual({
      method: 'POST',
      url: 'https://billing.example.com/orders/ord_1001/invoice',
      json: { orderId: 'ord_1001', amount: 21, currency: 'EUR', email: 'ada@example.com' },
    });
    expect(requestOf(result, 'shipping')).toEqual({
      method: 'POST',
      url: 'https://shipping.example.com/shipments',
      json: { reference: 'ord_1001', address, items },
    });
    expect(requestOf(result, 'inventory')).toEqual({
      method: 'PUT',
      url: 'https://inventory.example.com/reservations/ord_1001',
      headers: { 'Idempotency-Key': 'run-1' },
      json: { items },
    });
  });

  it('order-by-size: the router sends a small order past sales, and the warehouse hears of it once (join: any)', async () => {
    const result = await dryRun('order-by-size');
    expect(result.status).toBe('succeeded');
    expect(statuses(result)).toEqual({
      order: 'succeeded',
      size: 'succeeded',
      sales: 'skipped',
      warehouse: 'succeeded',
    });
    expect(result.steps.find((s) => s.id === 'size')?.routes).toEqual(['small']);
    expect(result.steps.find((s) => s.id === 'warehouse')?.input).toEqual({
      'size.small': { id: 'ord_1001', email: 'ada@example.com', total: 21 },
    });
    expect(requestOf(result, 'warehouse')).toEqual({
      method: 'POST',
      url: 'https://warehouse.example.com/orders',
      json: { orderId: 'ord_1001', route: 'direct' },
    });
  });

  it('order-pipeline: a code step totals the order, the router sends it through the loop, one reservation per line, and the shop hears once', async () => {
    const result = await dryRun('order-pipeline');
    expect(result.status).toBe('succeeded');
    expect(statuses(result)).toEqual({
      order: 'succeeded',
      size: 'succeeded',
      reserve: 'succeeded',
      confirm: 'succeeded',
    });
    expect(result.steps[0]).toMatchObject({ output: { id: 'ord_2002', total: 161 }, logs: ['3 lines'] });
    const reserve = result.steps.find((s) => s.id === 'reserve')!;
    expect(reserve.items!.map((item) => (item.steps[0].request as { json: unknown }).json)).toEqual([
      { orderId: 'ord_2002', line: 0, sku: 'teapot-cast-iron', quantity: 2 },
      { orderId: 'ord_2002', line: 1, sku: 'tea-sencha', quantity: 3 },
      { orderId: 'ord_2002', line: 2, sku: 'cup-stoneware', quantity: 4 },
    ]);
    expect(reserve.output).toEqual([
      { sku: 'teapot-cast-iron' },
      { sku: 'tea-sencha' },
      { sku: 'cup-stoneware' },
    ]);
    expect((requestOf(result, 'confirm') as { json: unknown }).json).toEqual({
      orderId: 'ord_2002',
      total: 161,
      reserved: reserve.output,
    });
  });

  it('order-pipeline: a small order skips the loop, and the shop still hears of it once', async () => {
    const result = await dryRun('order-pipeline', (sample) => {
      sample.items = [{ sku: 'tea-sencha', quantity: 1, unitPrice: 900 }];
    });
    expect(result.status).toBe('succeeded');
    expect(statuses(result)).toEqual({
      order: 'succeeded',
      size: 'succeeded',
      reserve: 'skipped',
      confirm: 'succeeded',
    });
    expect(Object.keys(result.steps.find((s) => s.id === 'confirm')!.input as object)).toEqual([
      'size.small',
    ]);
  });

  it('stripe-payment-to-chat: posts the payment as a chat message', async () => {
    const result = await dryRun('stripe-payment-to-chat');
    expect(result.status).toBe('succeeded');
    expect(statuses(result)).toEqual({
      'succeeded-only': 'succeeded',
      message: 'succeeded',
      'post-to-chat': 'succeeded',
    });
    expect(requestOf(result, 'post-to-chat')).toEqual({
      method: 'POST',
      url: 'https://hooks.slack.example.com/services/T000/B000/XXXX',
      json: { text: 'Payment of 12.50 EUR from ada@example.com' },
    });
  });

  it('stripe-payment-to-chat: ignores other event types', async () => {
    const result = await dryRun('stripe-payment-to-chat', (event) => (event.type = 'payment_intent.created'));
    expect(result.status).toBe('filtered');
    expect(statuses(result)).toEqual({
      'succeeded-only': 'filtered',
      message: 'skipped',
      'post-to-chat': 'skipped',
    });
  });

  it('failures-to-slack: posts a failed run to Slack with its failed steps and a link to it', async () => {
    const result = await dryRun('failures-to-slack');
    expect(result.status).toBe('succeeded');
    expect(requestOf(result, 'post-to-slack')).toEqual({
      url: '[secret OPS_SLACK]',
      text:
        ':rotating_light: *Run of order-fanout (v3) failed*\n' +
        '• notify-warehouse: HTTP 503 from warehouse.example.com:443 (5 tries)\n' +
        '<https://hookflow.example.com/ui/runs/0b9c6a52-2c53-4c1e-9f55-3f6f8f3b2f0e|Open the run>',
    });
  });

  it('slack-slash-command: answers Slack at once with a message built from the command, then asks the order service', async () => {
    const result = await dryRun('slack-slash-command');
    expect(result.status).toBe('succeeded');
    expect(statuses(result)).toEqual({
      command: 'succeeded',
      reply: 'succeeded',
      'known-only': 'succeeded',
      lookup: 'succeeded',
    });
    expect(result.response).toMatchObject({
      status: 200,
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
    expect(JSON.parse(result.response!.body)).toEqual({
      blocks: [
        {
          text: {
            text: '*Order ord_1001*: looking it up for <@U2147483697>; the order service answers here shortly.',
            type: 'mrkdwn',
          },
          type: 'section',
        },
      ],
      response_type: 'ephemeral',
      text: 'Looking up order ord_1001…',
    });
    expect(requestOf(result, 'lookup')).toEqual({
      method: 'POST',
      url: 'https://orders.example.com/slack/lookups',
      json: {
        order: 'ord_1001',
        userId: 'U2147483697',
        channelId: 'C2147483705',
        known: true,
        responseUrl: 'https://hooks.slack.com/commands/1234/5678',
      },
    });
  });

  it('slack-slash-command: answers an empty command with its usage and looks nothing up', async () => {
    const result = await dryRun('slack-slash-command', (command) => (command.text = '  '));
    expect(result.status).toBe('filtered');
    expect(statuses(result)).toMatchObject({
      reply: 'succeeded',
      'known-only': 'filtered',
      lookup: 'skipped',
    });
    expect(JSON.parse(result.response!.body)).toMatchObject({ text: 'Usage: /order <order id>' });
  });

  it('github-push-to-webhook: sends the repository, commit count and pusher', async () => {
    const result = await dryRun('github-push-to-webhook');
    expect(result.status).toBe('succeeded');
    expect(statuses(result)).toEqual({
      'main-only': 'succeeded',
      deploy: 'succeeded',
      'notify-ci': 'succeeded',
    });
    expect(requestOf(result, 'notify-ci')).toEqual({
      method: 'POST',
      url: 'https://ci.example.com/hooks/deploy',
      json: { repo: 'octo-org/hello-world', commits: 2, pusher: 'ada' },
    });
  });

  it('github-push-to-webhook: ignores pushes to other branches', async () => {
    const result = await dryRun('github-push-to-webhook', (push) => (push.ref = 'refs/heads/feature'));
    expect(result.status).toBe('filtered');
    expect(statuses(result)).toEqual({ 'main-only': 'filtered', deploy: 'skipped', 'notify-ci': 'skipped' });
  });

  it('contact-list-to-crm: turns the query string into a contact, token masked', async () => {
    const result = await dryRun('contact-list-to-crm');
    expect(result.status).toBe('succeeded');
    expect(statuses(result)).toEqual({
      contact: 'succeeded',
      'has-email': 'succeeded',
      'create-contact': 'succeeded',
    });
    expect(requestOf(result, 'create-contact')).toEqual({
      method: 'POST',
      url: 'https://crm.example.com/api/contacts',
      headers: { Authorization: 'Bearer [secret CRM_TOKEN]' },
      json: {
        email: 'grace.hopper@example.com',
        firstName: 'Grace',
        lastName: 'Hopper',
        company: 'Example Navy Labs',
        lists: ['newsletter', 'product-updates'],
        source: 'webhook',
      },
    });
  });

  it('contact-list-to-crm: makes a single list a list and skips calls without an email', async () => {
    const one = await dryRun('contact-list-to-crm', (query) => (query.list = 'newsletter'));
    expect((requestOf(one, 'create-contact') as { json: { lists: unknown } }).json.lists).toEqual([
      'newsletter',
    ]);
    const none = await dryRun('contact-list-to-crm', (query) => delete query.email);
    expect(none.status).toBe('filtered');
    expect(statuses(none)).toEqual({
      contact: 'succeeded',
      'has-email': 'filtered',
      'create-contact': 'skipped',
    });
  });

  it('daily-sales-digest: a tick asks for the last day of sales and posts them', async () => {
    const result = await dryRun('daily-sales-digest');
    expect(result.status).toBe('succeeded');
    expect(result.steps[0].output).toEqual({
      from: '2024-06-09T06:00:00.000Z',
      to: '2024-06-10T06:00:00.000Z',
    });
    expect(requestOf(result, 'sales')).toEqual({
      method: 'GET',
      url: 'https://shop.example.com/api/reports/sales',
      query: { from: '2024-06-09T06:00:00.000Z', to: '2024-06-10T06:00:00.000Z' },
      headers: { authorization: 'Bearer [secret SHOP_TOKEN]' },
    });
  });

  it('new-shop-orders: a polled order becomes a CRM deal', async () => {
    const result = await dryRun('new-shop-orders');
    expect(result.status).toBe('succeeded');
    expect(requestOf(result, 'crm')).toEqual({
      url: 'https://crm.example.com/api/deals',
      headers: { authorization: 'Bearer [secret CRM_TOKEN]' },
      json: { externalId: 'ord_2002', contact: 'grace@example.com', amount: 41, currency: 'EUR' },
    });
  });
});
