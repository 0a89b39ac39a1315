import type { Page } from 'playwright-core';
import { Dashboard } from '../utils/dashboard';
import { waitFor } from '../utils/wait-for';

/** The inbound inspector in a real Chromium: refusals with their reason, replays that start runs. */
describe('dashboard: inspector', () => {
  let d: Dashboard;
  let page: Page;

  beforeAll(async () => {
    d = await Dashboard.start();
    page = await d.signIn('/ui/flows');
  });

  afterAll(async () => {
    await d?.close();
  });

  const runsOf = async (slug: string): Promise<{ id: string }[]> =>
    (await d.hf.http().get(`/api/runs?flow=${slug}`).set(d.hf.auth).expect(200)).body.items;

  it('shows a refused request with its reason, and replays it as a new run', async () => {
    // Its secret is not in the store: every request fails verification.
    const { hookPath } = await d.hf.createFlow({
      slug: 'signed',
      trigger: { type: 'webhook', verify: { scheme: 'stripe', secret: 'STRIPE_WHSEC' } },
      steps: [{ id: 'echo', type: 'transform', expression: '$' }],
    });
    await d.hf.http().post(hookPath).set('stripe-signature', 't=1,v1=forged').send({ order: 1 }).expect(401);

    await page.goto('/ui/flows/signed/events');
    const row = page.getByRole('row', { name: /signature_mismatch/ });
    await row.getByText('refused').waitFor();
    await row.click();
    const detail = page.getByRole('region', { name: 'Request' });
    await detail.getByText('signature_mismatch').waitFor();
    await detail.getByText('"order": 1').waitFor();

    page.once('dialog', (dialog) => void dialog.accept());
    await detail.getByRole('button', { name: 'Replay this request' }).click();
    await detail.getByRole('status').getByText('Started run').waitFor();
    const [run] = await waitFor(async () => {
      const runs = await runsOf('signed');
      return runs.length === 1 ? runs : undefined;
    });
    expect((await d.hf.waitForRun(run.id)).status).toBe('succeeded');
  });

  it('shows a request refused by a disabled flow', async () => {
    const { hookPath } = await d.hf.createFlow({
      slug: 'paused',
      trigger: { type: 'webhook' },
      steps: [{ id: 'noop', type: 'transform', expression: '$' }],
    });
    await d.hf.http().patch('/api/flows/paused').set(d.hf.auth).send({ enabled: false }).expect(200);
    await d.hf.http().post(hookPath).send({}).expect(409);
    await page.goto('/ui/flows/paused/events?accepted=false');
    const row = page.getByRole('row', { name: /flow_disabled/ });
    await row.getByText('refused').waitFor();
    // No run link: the keyboard opens the request by the row's button.
    await row.getByRole('button').press('Enter');
    await page.getByRole('region', { name: 'Request' }).getByText('flow_disabled').waitFor();
  });

  it('replays an accepted request: a new run starts', async () => {
    const { hookPath } = await d.hf.createFlow({
      slug: 'plain',
      trigger: { type: 'webhook' },
      steps: [{ id: 'noop', type: 'transform', expression: '$' }],
    });
    const { body } = await d.hf.http().post(hookPath).send({ a: 1 }).expect(202);
    await d.hf.waitForRun(body.runId);

    await page.goto('/ui/flows/plain/events');
    const row = page.getByRole('row', { name: /accepted/ });
    await row.getByRole('link', { name: body.runId.slice(0, 8) }).waitFor();
    await row.click();
    const detail = page.getByRole('region', { name: 'Request' });
    await detail.getByRole('button', { name: 'Replay this request' }).click();
    const started = detail.getByRole('status').getByRole('link');
    await started.waitFor();
    const newRunId = (await started.textContent())!;
    expect(newRunId).not.toBe(body.runId);
    expect((await d.hf.waitForRun(newRunId)).originRunId).toBe(body.runId);
  });

  it("opens with the request a run page links to selected, from the run's event link", async () => {
    const { hookPath } = await d.hf.createFlow({
      slug: 'linked',
      trigger: { type: 'webhook' },
      steps: [{ id: 'noop', type: 'transform', expression: '$' }],
    });
    const { body } = await d.hf.http().post(hookPath).send({ marker: 'from-the-run-page' }).expect(202);
    await d.hf.waitForRun(body.runId);
    await page.goto(`/ui/runs/${body.runId}`);
    await page.getByRole('link', { name: "Open in the flow's inspector" }).click();
    await page.waitForURL(`**/ui/flows/linked/events?event=${body.eventId}`);
    await page.getByRole('region', { name: 'Request' }).getByText('from-the-run-page').waitFor();
  });

  it('loads the next page of requests once: the first page is not appended again', async () => {
    const { hookPath } = await d.hf.createFlow({
      slug: 'busy',
      trigger: { type: 'webhook' },
      steps: [{ id: 'noop', type: 'transform', expression: '$' }],
    });
    // One more than the page holds (50).
    for (let i = 0; i < 51; i++) await d.hf.http().post(hookPath).send({ i }).expect(202);
    await page.goto('/ui/flows/busy/events');
    const rows = page.getByRole('table', { name: 'Received requests' }).locator('tbody tr');
    await waitFor(async () => ((await rows.count()) === 50 ? true : undefined));
    await page.getByRole('button', { name: 'Load more' }).click();
    await page.getByRole('button', { name: 'Load more' }).waitFor({ state: 'detached' });
    await waitFor(async () => ((await rows.count()) === 51 ? true : undefined));
    // Still 51 once settled (the old page appended again made 101).
    expect(await rows.count()).toBe(51);
  });
});
