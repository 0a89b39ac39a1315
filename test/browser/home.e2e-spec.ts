import { Dashboard } from '../utils/dashboard';
import { SinkServer } from '../utils/sink-server';

/** The home page's counts and failing destinations in a real Chromium. */
describe('home page (browser)', () => {
  let d: Dashboard;
  let good: SinkServer;
  let bad: SinkServer;

  beforeAll(async () => {
    good = await SinkServer.start();
    bad = await SinkServer.start();
    d = await Dashboard.start();
  });

  afterAll(async () => {
    await d?.close();
    await good?.close();
    await bad?.close();
  });

  const deliverTo = (slug: string, url: string) =>
    d.hf.createFlow({
      slug,
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'deliver',
          type: 'action',
          connector: 'http',
          with: { url, json: '{{input}}' },
          retry: { attempts: 1 },
        },
      ],
    });

  it('says there is nothing yet, then shows the counts and the failing destination', async () => {
    const page = await d.signIn('/ui/?range=1h');
    await page.getByText('No runs in this range yet.').waitFor();
    await page.getByText('No destination failed in this range.').waitFor();

    bad.script('/down', [500, 500]);
    const ok = await deliverTo('home-ok', `${good.url}/up`);
    const failing = await deliverTo('home-failing', `${bad.url}/down`);
    const runIds: string[] = [];
    for (const hookPath of [ok.hookPath, ok.hookPath, ok.hookPath, failing.hookPath, failing.hookPath]) {
      const res = await d.hf.http().post(hookPath).send({ n: runIds.length }).expect(202);
      runIds.push(res.body.runId);
    }
    for (const id of runIds) await d.hf.waitForRun(id);

    await page.reload();
    await page.getByTestId('total-succeeded').getByText('3', { exact: true }).waitFor();
    await expect(page.getByTestId('total-failed').innerText()).resolves.toBe('2');
    await expect(page.getByTestId('total-all').innerText()).resolves.toBe('5');
    await page.getByTestId('chart').locator('canvas').waitFor();

    const flows = page.getByRole('table', { name: 'Flows that fail most' });
    await flows.getByRole('link', { name: 'home-failing' }).waitFor();
    await expect(flows.getByRole('link', { name: 'home-ok' }).count()).resolves.toBe(0);
    await expect(flows.innerText()).resolves.toContain('100.0 %');

    const destination = new URL(bad.url).host;
    const row = page.getByTestId('failing-destination');
    await expect(row.count()).resolves.toBe(1);
    await expect(row.innerText()).resolves.toContain(destination);
    await expect(row.innerText()).resolves.toContain('HTTP 500');

    // A total links to the runs it counts.
    await page.getByTestId('total-failed').click();
    await page.waitForURL(
      (url) => url.pathname === '/ui/runs' && url.searchParams.get('status') === 'failed',
    );
    await page.getByTestId('run-row').nth(1).waitFor();
    await expect(page.getByTestId('run-row').count()).resolves.toBe(2);
  });
});
