import { Dashboard } from '../utils/dashboard';

/** Signing in and out of the dashboard, in a real Chromium against the real API. */
describe('dashboard: sign in and out', () => {
  let d: Dashboard;

  beforeAll(async () => {
    d = await Dashboard.start({ worker: false });
  });

  afterAll(async () => {
    await d?.close();
  });

  it('shows nothing but the sign-in form before signing in, refuses a wrong key, and opens the page asked for', async () => {
    const page = d.page;
    await page.goto('/');
    await page.waitForURL('**/ui/');
    await page.goto('/ui/settings');
    await page.getByLabel('API key', { exact: true }).waitFor();
    expect(await page.getByRole('navigation', { name: 'Main' }).count()).toBe(0);

    await page.getByLabel('API key', { exact: true }).fill('not-a-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').getByText('That key was not accepted.').waitFor();

    await page.getByLabel('API key', { exact: true }).fill(d.hf.apiKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Settings' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/ui/settings');

    // The key itself is nowhere the page's scripts can read; the session cookie is HttpOnly.
    const cookies = await d.context.cookies();
    const session = cookies.find((c) => c.name === 'hookflow_session');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(await page.evaluate('document.cookie')).toBe('');
    expect(
      await page.evaluate<string>('JSON.stringify({ ...localStorage, ...sessionStorage })'),
    ).not.toContain(d.hf.apiKey);
  });

  it('keeps the session across a reload, and signing out ends it on the server', async () => {
    const page = d.page;
    await page.reload();
    await page.getByRole('heading', { name: 'Settings' }).waitFor();
    const cookie = (await d.context.cookies()).find((c) => c.name === 'hookflow_session')!;

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key', { exact: true }).waitFor();
    // The old cookie, sent again by hand, is refused: the session is gone, not just forgotten by the page.
    const res = await d.hf.http().get('/api/flows').set('cookie', `hookflow_session=${cookie.value}`);
    expect(res.status).toBe(401);
  });
});
