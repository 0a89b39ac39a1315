import { Dashboard } from '../utils/dashboard';
import { waitFor } from '../utils/wait-for';

/** Secrets by name and API keys shown once, in a real Chromium against the real API. */
describe('dashboard: settings', () => {
  let d: Dashboard;

  beforeAll(async () => {
    d = await Dashboard.start({ worker: false });
  });

  afterAll(async () => {
    await d?.close();
  });

  it('sets, replaces and deletes a secret without ever showing its value', async () => {
    const page = await d.signIn('/ui/settings');
    const secrets = page.getByRole('region', { name: 'Secrets' });
    await secrets.getByLabel('Name').fill('SLACK_TOKEN');
    await secrets.getByLabel('Value').fill('xoxb-very-secret-1');
    await secrets.getByRole('button', { name: 'Set secret' }).click();
    await secrets.getByRole('cell', { name: 'SLACK_TOKEN' }).waitFor();
    expect(await page.content()).not.toContain('xoxb-very-secret-1');

    await secrets.getByRole('button', { name: 'Replace' }).click();
    expect(await secrets.getByLabel('Name').inputValue()).toBe('SLACK_TOKEN');
    await secrets.getByLabel('Value').fill('xoxb-very-secret-2');
    await secrets.getByRole('button', { name: 'Set secret' }).click();
    // The form empties once the server has stored the new value.
    await waitFor(async () => (await secrets.getByLabel('Value').inputValue()) === '', {
      what: 'the secret form to empty',
    });
    const listed = await d.hf.http().get('/api/secrets').set(d.hf.auth).expect(200);
    expect(listed.body.items.map((s: { name: string }) => s.name)).toEqual(['SLACK_TOKEN']);

    page.once('dialog', (dialog) => void dialog.accept());
    await secrets.getByRole('button', { name: 'Delete' }).click();
    await secrets.getByText('No secrets yet.').waitFor();
  });

  it('shows a new key once, and a read key signed in sees no way to change anything', async () => {
    const page = d.page;
    const keys = page.getByRole('region', { name: 'API keys' });
    await keys.getByLabel('Name').fill('viewer');
    await keys.getByLabel('Scope').selectOption('read');
    await keys.getByRole('button', { name: 'Create key' }).click();
    const key = (await page.getByTestId('new-key').locator('code').textContent())!.trim();
    expect(key).toMatch(/^hfk_/);
    await keys.getByRole('cell', { name: 'viewer' }).waitFor();
    // Without a clipboard (plain http off localhost) the button says so rather than "Copied".
    await page.evaluate(() =>
      Object.defineProperty((globalThis as unknown as { navigator: object }).navigator, 'clipboard', {
        value: undefined,
      }),
    );
    await page.getByTestId('new-key').getByRole('button', { name: 'Copy' }).click();
    await page
      .getByTestId('new-key')
      .getByRole('button', { name: /Copy failed/ })
      .waitFor();

    await page.reload();
    await keys.getByRole('cell', { name: 'viewer' }).waitFor();
    expect(await page.content()).not.toContain(key);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await d.signIn('/ui/settings', key);
    await page.getByRole('region', { name: 'Secrets' }).waitFor();
    expect(await page.getByRole('region', { name: 'API keys' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Set secret' }).count()).toBe(0);
    await page.getByTestId('who').getByText('read').waitFor();
  });
});
