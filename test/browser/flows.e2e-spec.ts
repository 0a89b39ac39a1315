import type { Page } from 'playwright-core';
import { Dashboard } from '../utils/dashboard';
import { waitFor } from '../utils/wait-for';

/** The flow pages in a real Chromium: the list, a flow's page and graph, the editor, versions. */
describe('dashboard: flows', () => {
  let d: Dashboard;
  let page: Page;

  const orders = {
    slug: 'orders',
    name: 'Orders',
    trigger: { type: 'webhook' },
    steps: [
      { id: 'shape', type: 'transform', expression: '{ "total": total, "vip": total >= 100 }' },
      {
        id: 'route',
        type: 'router',
        paths: [{ name: 'big', when: 'total >= 100' }, { name: 'small' }],
      },
      { id: 'big-order', type: 'transform', needs: ['route.big'], expression: '{ "big": total }' },
      { id: 'small-order', type: 'transform', needs: ['route.small'], expression: '{ "small": total }' },
      {
        id: 'done',
        type: 'transform',
        needs: ['big-order', 'small-order'],
        join: 'any',
        expression: '$',
      },
    ],
  };

  beforeAll(async () => {
    d = await Dashboard.start();
    const { hookPath } = await d.hf.createFlow(orders);
    const { body } = await d.hf.http().post(hookPath).send({ total: 150 }).expect(202);
    await d.hf.waitForRun(body.runId);
    page = await d.signIn('/ui/flows');
  });

  afterAll(async () => {
    await d?.close();
  });

  const flowApi = async () => (await d.hf.http().get('/api/flows/orders').set(d.hf.auth).expect(200)).body;

  it('lists the flow and opens its page, whose graph shows its steps and router paths', async () => {
    const row = page.getByTestId('flow-row-orders');
    await row.waitFor();
    await row.getByText('enabled').waitFor();
    await row.getByRole('link', { name: 'Orders' }).click();
    await page.waitForURL('**/ui/flows/orders');
    await page.getByTestId('trigger-url').waitFor();

    for (const id of ['shape', 'route', 'big-order', 'small-order', 'done']) {
      await page.getByTestId(`graph-node-${id}`).waitFor();
    }
    await page.getByTestId('graph-node-done').getByText('join: any').waitFor();
    // The router's paths label the edges they start.
    await page.locator('.react-flow__edge-text', { hasText: 'big' }).waitFor();
    await page.locator('.react-flow__edge-text', { hasText: 'small' }).waitFor();
    // The run above counts on its steps.
    await page.getByTestId('graph-counts-shape').getByText('1 run').waitFor();
  });

  it('disables and enables the flow', async () => {
    await page.goto('/ui/flows/orders');
    await page.getByRole('button', { name: 'Disable' }).click();
    await page.getByRole('button', { name: 'Enable' }).waitFor();
    await page.locator('.page-header .badge-disabled').waitFor();
    expect((await flowApi()).enabled).toBe(false);
    await page.getByRole('button', { name: 'Enable' }).click();
    await page.getByRole('button', { name: 'Disable' }).waitFor();
    expect((await flowApi()).enabled).toBe(true);
  });

  it('tests the flow in the editor: the dry run shows a step output', async () => {
    await page.goto('/ui/flows/orders/edit');
    await page.getByTestId('flow-editor').locator('.cm-content').waitFor();
    await page.getByLabel('Sample payload (JSON body)').fill('{ "total": 42 }');
    await page.getByRole('button', { name: 'Run test' }).click();
    await page.locator('[data-testid="graph-node-small-order"][data-status="succeeded"]').waitFor();
    await page.locator('[data-testid="graph-node-big-order"][data-status="skipped"]').waitFor();
    await page.getByTestId('graph-node-small-order').click();
    const output = page.getByTestId('dry-output-small-order');
    await output.getByText('"small": 42').waitFor();
  });

  async function replaceDefinition(definition: unknown) {
    const content = page.getByTestId('flow-editor').locator('.cm-content');
    await content.click();
    await page.keyboard.press('Control+A');
    await page.keyboard.insertText(JSON.stringify(definition, null, 2));
  }

  it('shows a validation error inline at its place after typing a bad value', async () => {
    await page.goto('/ui/flows/orders/edit');
    await page.getByTestId('flow-editor').locator('.cm-content').waitFor();
    const bad = structuredClone(orders);
    (bad.steps[0] as { type: string }).type = 'transfrom';
    await replaceDefinition(bad);
    const mark = page.locator('.cm-lintRange-error', { hasText: 'transfrom' });
    await mark.waitFor();
    await page.getByTestId('editor-issues').getByText('/steps/0/type').first().waitFor();
  });

  it('saves version 2, and the diff of versions 1 and 2 shows the change', async () => {
    await page.goto('/ui/flows/orders/edit');
    await page.getByTestId('flow-editor').locator('.cm-content').waitFor();
    await replaceDefinition({ ...orders, name: 'Orders renamed' });
    await page.getByTestId('editor-issues').getByText('No problems found.').waitFor();
    await page.getByRole('button', { name: 'Save' }).click();
    await page.waitForURL('**/ui/flows/orders');
    await waitFor(async () => ((await flowApi()).version === 2 ? true : undefined), { what: 'version 2' });
    await page
      .getByRole('heading', { name: /Orders renamed/ })
      .first()
      .waitFor();
    await page.getByRole('heading', { name: 'v1 → v2' }).waitFor();
    const diff = page.getByTestId('version-diff');
    await diff.getByText('"Orders renamed"').waitFor();
    await diff.locator('.cm-changedLine', { hasText: 'Orders' }).first().waitFor();
  });
});
