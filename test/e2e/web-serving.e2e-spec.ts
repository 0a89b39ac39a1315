import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Response } from 'supertest';
import { HookflowHarness } from '../utils/hookflow-harness';

const INDEX =
  '<!doctype html><html><head><script type="module" src="/ui/assets/app.js"></script></head></html>';
const APP_JS = 'console.log("hookflow dashboard");';
const CSP =
  "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; " +
  "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

function expectUiHeaders(res: Response): void {
  expect(res.headers['content-security-policy']).toBe(CSP);
  expect(res.headers['x-content-type-options']).toBe('nosniff');
  expect(res.headers['referrer-policy']).toBe('same-origin');
}

/** The dashboard: its build folder served at /ui without a key, index.html for the app's own routes. */
describe('serving the web dashboard', () => {
  let hf: HookflowHarness;
  let webRoot: string;

  beforeAll(async () => {
    webRoot = mkdtempSync(path.join(tmpdir(), 'hookflow-web-'));
    mkdirSync(path.join(webRoot, 'assets'));
    writeFileSync(path.join(webRoot, 'index.html'), INDEX);
    writeFileSync(path.join(webRoot, 'assets', 'app.js'), APP_JS);
    hf = await HookflowHarness.start({ worker: false, env: { WEB_ROOT: webRoot } });
  });

  afterAll(async () => {
    await hf?.close();
    rmSync(webRoot, { recursive: true, force: true });
  });

  it('sends / to /ui/', async () => {
    const res = await hf.http().get('/').expect(302);
    expect(res.headers.location).toBe('/ui/');
  });

  it('serves index.html at /ui, /ui/ and any path of the app, never cached without asking', async () => {
    for (const url of [
      '/ui',
      '/ui/',
      '/ui/index.html',
      '/ui/runs/123',
      '/ui/flows/a/b?tab=runs',
      '/ui/favicon.ico',
    ]) {
      const res = await hf.http().get(url);
      expect({ url, status: res.status, type: res.headers['content-type'], text: res.text }).toEqual({
        url,
        status: 200,
        type: expect.stringContaining('text/html'),
        text: INDEX,
      });
      expect(res.headers['cache-control']).toBe('no-cache');
      expectUiHeaders(res);
    }
  });

  it('serves assets with an immutable cache, and a missing asset is a 404, not the page', async () => {
    const res = await hf.http().get('/ui/assets/app.js').expect(200);
    expect(res.text).toBe(APP_JS);
    expect(res.headers['content-type']).toContain('javascript');
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expectUiHeaders(res);
    const missing = await hf.http().get('/ui/assets/missing.js').expect(404);
    expect(missing.body).toMatchObject({ error: 'not_found' });
    expectUiHeaders(missing);
  });

  it('serves nothing outside the folder', async () => {
    for (const url of [
      '/ui/../package.json',
      '/ui/%2e%2e/package.json',
      '/ui/assets/%2e%2e/%2e%2e/package.json',
    ]) {
      const res = await hf.http().get(url);
      expect({ url, leaked: res.text.includes('"hookflow"') }).toEqual({ url, leaked: false });
    }
  });

  it('leaves the API, ingress, health, metrics and the API docs as they were', async () => {
    // The UI is public; the API behind it is not.
    await hf.http().get('/api/flows').expect(401);
    const flows = await hf.http().get('/api/flows').set(hf.auth).expect(200);
    expect(flows.headers['content-security-policy']).toBeUndefined();
    const unknownApi = await hf.http().get('/api/nothing-here').set(hf.auth).expect(404);
    expect(unknownApi.body).toMatchObject({ error: 'not_found' });
    await hf.http().get('/health/live').expect(200);
    await hf.http().get('/metrics').expect(200);
    await hf.http().get('/api/docs-json').expect(200);
    const { hookPath } = await hf.createFlow({
      slug: 'web-hook',
      trigger: { type: 'webhook' },
      steps: [{ id: 'noop', type: 'transform', expression: '$' }],
    });
    await hf.http().post(hookPath).send({ a: 1 }).expect(202);
    await hf.http().post('/hooks/no-such-key').send({}).expect(404);
    // Other paths that start alike are no part of /ui.
    await hf.http().get('/uix').expect(404);
    // The page is only for GET and HEAD.
    await hf.http().post('/ui/runs').send({}).expect(404);
    await hf.http().head('/ui/runs/1').expect(200);
  });

  it('answers 503 naming the build step when the folder has no index.html', async () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'hookflow-web-empty-'));
    const bare = await HookflowHarness.start({
      worker: false,
      env: { WEB_ROOT: path.join(empty, 'not-built') },
    });
    try {
      for (const url of ['/ui', '/ui/', '/ui/runs/1']) {
        const res = await bare.http().get(url);
        expect({ url, status: res.status, error: res.body.error }).toEqual({
          url,
          status: 503,
          error: 'unavailable',
        });
        expect(res.body.message).toContain('npm run build');
      }
      await bare.http().get('/ui/assets/app.js').expect(404);
      await bare.http().get('/health/live').expect(200);
    } finally {
      await bare.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
