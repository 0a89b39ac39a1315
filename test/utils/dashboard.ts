import { existsSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { HookflowHarness, type HarnessOptions } from './hookflow-harness';

/** Debian's chromium (`apt-get install chromium`); Playwright's own download does not work here. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// Tests run from the repository root (npm test), as ESM without __dirname.
export const WEB_ROOT = path.resolve('dist/apps/web');

// The network is closed: without these, Chromium keeps trying to reach Google's hosts.
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`no Chromium at ${CHROMIUM_PATH}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}

/**
 * The built dashboard in a real headless Chromium, served by a real API (in process) with a real
 * worker over PostgreSQL and Redis: what a user gets after `npm start`.
 */
export class Dashboard {
  browser: Browser;
  context: BrowserContext;
  page: Page;
  hf: HookflowHarness;

  static async start(options: HarnessOptions = {}): Promise<Dashboard> {
    if (!existsSync(path.join(WEB_ROOT, 'index.html'))) {
      throw new Error(`the dashboard is not built (${WEB_ROOT}): npm run build`);
    }
    const d = new Dashboard();
    d.hf = await HookflowHarness.start({ ...options, env: { WEB_ROOT, ...options.env } });
    d.browser = await launchChromium();
    d.context = await d.browser.newContext({ baseURL: d.baseUrl, viewport: { width: 1400, height: 900 } });
    d.context.setDefaultTimeout(15_000);
    d.page = await d.context.newPage();
    return d;
  }

  /** The API's own origin, which serves the dashboard under /ui. */
  get baseUrl(): string {
    const address = this.hf.api.getHttpServer().address();
    if (!address || typeof address === 'string') throw new Error('the API is not listening');
    return `http://127.0.0.1:${address.port}`;
  }

  /** Opens `path` (under /ui) and signs in with `key` (the harness's admin key by default). */
  async signIn(pathname = '/ui/', key = this.hf.apiKey): Promise<Page> {
    await this.page.goto(pathname);
    await this.page.getByLabel('API key', { exact: true }).fill(key);
    await this.page.getByRole('button', { name: 'Sign in' }).click();
    await this.page.getByRole('navigation', { name: 'Main' }).waitFor();
    return this.page;
  }

  async close(): Promise<void> {
    await this.browser?.close();
    await this.hf?.close();
  }
}
