import { mkdtempSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { Dashboard } from '../utils/dashboard';
import { SinkServer } from '../utils/sink-server';

/**
 * Every page opens directly at its URL, shows what it is for and no error. Each is photographed
 * (into SCREENSHOTS_DIR when set, e.g. docs/screenshots; into a temporary folder otherwise).
 */
describe('dashboard: every page at its URL', () => {
  let d: Dashboard;
  let sink: SinkServer;
  let page: Page;
  let runId: string;
  const shots = process.env.SCREENSHOTS_DIR
    ? path.resolve(process.env.SCREENSHOTS_DIR)
    : mkdtempSync(path.join(os.tmpdir(), 'hookflow-shots-'));

  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    sink = await SinkServer.start();
    // Trigger URLs as a deployment shows them (the test API listens on a random port).
    d = await Dashboard.start({ env: { PUBLIC_URL: 'https://hooks.example.com' } });
    const { hookPath } = await d.hf.createFlow({
      slug: 'shop-orders',
      name: 'Shop orders to the CRM',
      description: 'Each paid order becomes a CRM deal; big orders also go to the sales channel.',
      trigger: { type: 'webhook' },
      steps: [
        { id: 'paid', type: 'filter', condition: "status = 'paid'" },
        {
          id: 'deal',
          type: 'transform',
          expression: '{ "order": id, "value": total, "email": customer.email }',
        },
        { id: 'size', type: 'router', paths: [{ name: 'big', when: 'value >= 100' }, { name: 'small' }] },
        {
          id: 'crm',
          type: 'action',
          needs: ['deal'],
          connector: 'http',
          with: { url: `${sink.url}/crm/deals`, json: '{{input}}' },
          retry: { attempts: 2, backoff: 'fixed', delay: '10ms' },
        },
        {
          id: 'sales',
          type: 'action',
          needs: ['size.big'],
          connector: 'http',
          with: {
            url: `${sink.url}/sales`,
            json: { text: 'Big order {{input.order}}: {{input.value}} EUR' },
          },
        },
      ],
    });
    sink.script('/crm/deals', [{ status: 201, body: { id: 'deal_1' } }, 500, 500]);
    const orders = [
      { id: 'ord_1001', status: 'paid', total: 250, customer: { email: 'ada@example.com' } },
      { id: 'ord_1002', status: 'pending', total: 20, customer: { email: 'bob@example.com' } },
      { id: 'ord_1003', status: 'paid', total: 40, customer: { email: 'cy@example.com' } },
    ];
    const runIds: string[] = [];
    for (const order of orders) {
      const { body } = await d.hf.http().post(hookPath).send(order).expect(202);
      runIds.push(body.runId);
      await d.hf.waitForRun(body.runId);
    }
    runId = runIds[0];
    // A request the trigger refuses, for the inspector.
    await d.hf.http().post(hookPath).set('content-type', 'application/json').send('{"id": ').expect(400);
    page = await d.signIn('/ui/');
  });

  afterAll(async () => {
    await d?.close();
    await sink?.close();
  });

  const pages: [name: string, url: () => string, ready: () => Locator][] = [
    ['home', () => '/ui/', () => page.getByRole('heading', { name: 'Home' })],
    ['flows', () => '/ui/flows', () => page.getByTestId('flow-row-shop-orders')],
    ['flow', () => '/ui/flows/shop-orders', () => page.getByTestId('graph-node-sales')],
    [
      'editor',
      () => '/ui/flows/shop-orders/edit',
      () => page.getByTestId('flow-editor').locator('.cm-content'),
    ],
    ['inspector', () => '/ui/flows/shop-orders/events', () => page.getByText('invalid_body').first()],
    ['runs', () => '/ui/runs', () => page.getByRole('heading', { name: 'Runs' })],
    ['run', () => `/ui/runs/${runId}`, () => page.getByRole('heading').first()],
    ['settings', () => '/ui/settings', () => page.getByRole('heading', { name: 'API keys' })],
  ];

  it.each(pages.map(([name, url, ready]) => ({ name, url, ready })))(
    '$name opens directly and shows no error',
    async ({ name, url, ready }) => {
      await page.goto(url());
      await ready().waitFor();
      expect(await page.getByRole('alert').count()).toBe(0);
      if (name === 'run') {
        // The photo shows what an attempt sent and got back.
        await page.getByRole('button', { name: /crm/ }).click();
        await page.getByTestId('attempt-crm-1').locator('summary').click();
        await page.getByTestId('attempt-crm-1').getByText('deal_1').first().waitFor();
        await page.getByTestId('attempt-crm-1').scrollIntoViewIfNeeded();
      }
      await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: false });
    },
  );
});
