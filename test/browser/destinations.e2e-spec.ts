import { Dashboard } from '../utils/dashboard';
import { SinkServer } from '../utils/sink-server';

/** The destinations page (the circuit breaker) in a real Chromium. */
describe('destinations page (browser)', () => {
  let d: Dashboard;
  let sink: SinkServer;

  beforeAll(async () => {
    sink = await SinkServer.start();
    d = await Dashboard.start({
      env: { OUTBOUND_ALLOW: '127.0.0.1/32', DESTINATION_PAUSE_AFTER: '2', DESTINATION_COOLDOWN: '1h' },
    });
  });

  afterAll(async () => {
    await d?.close();
    await sink?.close();
  });

  it('lists a paused destination with its failures and waiting steps; Resume and Pause change its state', async () => {
    const page = await d.signIn('/ui/');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Destinations' }).click();
    await page.waitForURL((url) => url.pathname === '/ui/destinations');
    await page.getByText('No destination has failed.').waitFor();

    sink.script('/down', [503, 503]);
    const { hookPath } = await d.hf.createFlow({
      slug: 'to-down',
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'deliver',
          type: 'action',
          connector: 'http',
          with: { url: `${sink.url}/down`, json: '{{input}}' },
          retry: { attempts: 1 },
        },
      ],
    });
    for (let i = 0; i < 2; i++) {
      const res = await d.hf.http().post(hookPath).send({ i }).expect(202);
      await d.hf.waitForRun(res.body.runId);
    }
    // Paused: a third run's step waits for it.
    const held = await d.hf.http().post(hookPath).send({ i: 2 }).expect(202);

    const host = new URL(sink.url).host;
    const row = page.getByTestId(`destination-${host}`);
    await page.reload();
    await row.waitFor();
    await row.getByText('paused', { exact: true }).waitFor();
    await row.getByTestId('waiting-steps').getByText('1', { exact: true }).waitFor({ timeout: 10_000 });
    await expect(row.innerText()).resolves.toContain('http_error 503');
    await expect(row.innerText()).resolves.toContain('100.0 %');

    await row.getByTestId('resume').click();
    await row.getByText('healthy', { exact: true }).waitFor();
    await expect((await d.hf.waitForRun(held.body.runId)).status).toBe('succeeded');

    await row.getByTestId('pause').click();
    await row.getByText('by hand').waitFor();
    await row.getByTestId('resume').waitFor();
  });
});
