import { Dashboard } from '../utils/dashboard';
import { SinkServer } from '../utils/sink-server';

/** The runs list and a run's page in a real Chromium, against the real API and worker. */
describe('runs pages (browser)', () => {
  let d: Dashboard;
  let sink: SinkServer;

  beforeAll(async () => {
    sink = await SinkServer.start();
    d = await Dashboard.start();
    // One session for all: the cookie stays in the browser context, each test opens its page.
    await d.signIn('/ui/runs');
  });

  afterAll(async () => {
    await d?.close();
    await sink?.close();
  });

  const deliverTo = (slug: string, path: string, attempts = 1) =>
    d.hf.createFlow({
      slug,
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'deliver',
          type: 'action',
          connector: 'http',
          with: { url: `${sink.url}${path}`, json: '{{input}}' },
          retry: { attempts, backoff: 'fixed', delay: '10ms' },
        },
      ],
    });

  const send = async (hookPath: string, payload: object): Promise<string> => {
    const res = await d.hf.http().post(hookPath).send(payload).expect(202);
    return res.body.runId as string;
  };

  /** A mark on the page's window: still there afterwards means the page never reloaded. */
  const markPage = () => d.page.evaluate(() => ((globalThis as unknown as { hfMark: number }).hfMark = 1));
  const stillMarked = () =>
    d.page.evaluate(() => (globalThis as unknown as { hfMark?: number }).hfMark === 1);

  it('shows a new run as it arrives and moves it to succeeded without a reload', async () => {
    sink.script('/live', [{ status: 200, body: { received: 'ord_live', ok: true } }]);
    const { hookPath } = await deliverTo('live-orders', '/live');
    const page = d.page;
    await page.goto('/ui/runs?flow=live-orders');
    await page.getByText('No runs match this filter.').waitFor();
    // Sent only once the stream is open, or the run could arrive before the page listens.
    await page.getByTestId('live-indicator').filter({ hasText: 'live' }).waitFor();
    await markPage();

    const runId = await send(hookPath, { order: 'ord_live' });
    const row = page.locator(`tr[data-run-id="${runId}"]`);
    await row.locator('[data-status="succeeded"]').waitFor();
    await expect(row.getByRole('link', { name: 'live-orders' }).count()).resolves.toBe(1);
    await expect(stillMarked()).resolves.toBe(true);

    // The run's page: the attempt shows what the receiver answered.
    await row.getByRole('link', { name: runId.slice(0, 8) }).click();
    await page.waitForURL(`**/ui/runs/${runId}`);
    await page.getByRole('heading', { level: 1 }).locator('[data-status="succeeded"]').waitFor();
    await page.locator('[data-step-id="deliver"] .step-row').click();
    await page.getByTestId('attempt-deliver-1').locator('summary').click();
    const response = page.getByTestId('attempt-deliver-1').getByTestId('response-body');
    await response.waitFor();
    expect(JSON.parse(await response.innerText())).toEqual({ received: 'ord_live', ok: true });
    const sent = page.getByTestId('attempt-deliver-1').getByRole('region', { name: 'Request sent' });
    await expect(sent.innerText()).resolves.toContain(`${sink.url}/live`);
    await expect(page.getByTestId('event-body').innerText()).resolves.toContain('ord_live');
  });

  it('retries a failed run from its page once the receiver is fixed, and replays it', async () => {
    sink.script('/flaky', [500]);
    const { hookPath } = await deliverTo('flaky-orders', '/flaky');
    const runId = await send(hookPath, { order: 'ord_flaky' });
    await expect(d.hf.waitForRun(runId)).resolves.toMatchObject({ status: 'failed' });

    const page = d.page;
    await page.goto(`/ui/runs/${runId}`);
    const heading = page.getByRole('heading', { level: 1 });
    await heading.locator('[data-status="failed"]').waitFor();
    // A failed step opens by itself, showing the receiver's 500.
    await page.locator('[data-step-id="deliver"]').getByText('HTTP 500').first().waitFor();
    await markPage();

    // The receiver answers 200 from now on (its script ran out).
    await page.getByRole('button', { name: 'Retry', exact: true }).click();
    await page.getByRole('status').getByText('Retrying deliver.').waitFor();
    await heading.locator('[data-status="succeeded"]').waitFor();
    await expect(stillMarked()).resolves.toBe(true);
    await page.getByTestId('attempt-deliver-2').waitFor();

    await page.getByRole('button', { name: 'Replay on v1' }).click();
    await page.waitForURL(
      (url) => /\/ui\/runs\/[0-9a-f-]{36}$/.test(url.pathname) && !url.pathname.endsWith(runId),
    );
    await page.getByText('Replay of').waitFor();
    await page.getByRole('link', { name: runId.slice(0, 8) }).waitFor();
    await heading.locator('[data-status="succeeded"]').waitFor();
  });

  it('finds a run by a value in its payload', async () => {
    const { hookPath } = await deliverTo('search-orders', '/search');
    const wanted = await send(hookPath, { order: { id: 'ord_find_42' } });
    const other = await send(hookPath, { order: { id: 'ord_other_7' } });
    await d.hf.waitForRun(wanted);
    await d.hf.waitForRun(other);

    const page = d.page;
    await page.goto('/ui/runs');
    await page.locator(`tr[data-run-id="${other}"]`).waitFor();
    await page.getByLabel('Search').fill('ord_find_42');
    await page.getByLabel('Search').press('Enter');
    await page.waitForURL(
      (url) => url.pathname === '/ui/runs' && url.searchParams.get('q') === 'ord_find_42',
    );
    await page.locator(`tr[data-run-id="${other}"]`).waitFor({ state: 'detached' });
    await page.locator(`tr[data-run-id="${wanted}"]`).waitFor();
    await expect(page.getByTestId('run-row').count()).resolves.toBe(1);

    // The filtered view is a link: opened directly, it shows the same.
    await page.goto('/ui/runs?flow=search-orders&q=ord_find_42');
    await page.locator(`tr[data-run-id="${wanted}"]`).waitFor();
    await expect(page.getByLabel('Search').inputValue()).resolves.toBe('ord_find_42');
    await expect(page.getByLabel('Flow').inputValue()).resolves.toBe('search-orders');
    await expect(page.getByTestId('run-row').count()).resolves.toBe(1);
  });

  it('retries in bulk the failed runs the filter shows', async () => {
    sink.script('/bulk', [500, 500, 500]);
    const { hookPath } = await deliverTo('bulk-orders', '/bulk');
    const runIds: string[] = [];
    for (const n of [1, 2, 3]) runIds.push(await send(hookPath, { order: `ord_bulk_${n}` }));
    for (const id of runIds) await expect(d.hf.waitForRun(id)).resolves.toMatchObject({ status: 'failed' });

    const page = d.page;
    await page.goto('/ui/runs?flow=bulk-orders&status=failed');
    for (const id of runIds) await page.locator(`tr[data-run-id="${id}"]`).waitFor();
    const asked: string[] = [];
    page.once('dialog', (dialog) => {
      asked.push(dialog.message());
      void dialog.accept();
    });
    await page.getByTestId('bulk-retry').click();
    await page.getByTestId('bulk-retry-result').getByText('Retried 3 runs.').waitFor();
    expect(asked).toEqual(['Retry 3 failed runs?']);
    for (const id of runIds)
      await expect(d.hf.waitForRun(id)).resolves.toMatchObject({ status: 'succeeded' });
    expect(sink.received('/bulk')).toHaveLength(6);
  });

  it('shows a read key no way to retry, replay or cancel', async () => {
    sink.script('/read-only', [500]);
    const { hookPath } = await deliverTo('read-only-orders', '/read-only');
    const runId = await send(hookPath, { order: 'ord_read' });
    await expect(d.hf.waitForRun(runId)).resolves.toMatchObject({ status: 'failed' });
    const { body } = await d.hf
      .http()
      .post('/api/keys')
      .set(d.hf.auth)
      .send({ name: 'viewer', scope: 'read' })
      .expect(201);

    const page = d.page;
    await page.getByRole('button', { name: 'Sign out' }).click();
    await d.signIn(`/ui/runs/${runId}`, body.key);
    await page.getByRole('heading', { level: 1 }).locator('[data-status="failed"]').waitFor();
    await page.getByRole('heading', { name: 'Timeline' }).waitFor();
    await expect(page.getByRole('button', { name: /Retry|Replay|Cancel/ }).count()).resolves.toBe(0);

    await page.goto('/ui/runs?status=failed');
    await page.locator(`tr[data-run-id="${runId}"]`).waitFor();
    await expect(page.getByTestId('bulk-retry').count()).resolves.toBe(0);
  });
});
