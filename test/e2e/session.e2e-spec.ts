import type { AddressInfo } from 'node:net';
import type { Response, Test } from 'supertest';
import { DataSource } from 'typeorm';
import { HookflowHarness } from '../utils/hookflow-harness';

const flowDoc = (slug: string) => ({
  slug,
  trigger: { type: 'webhook' },
  steps: [{ id: 'noop', type: 'transform', expression: '$' }],
});

/** A signed-in browser: its cookie (`name=value`) and the CSRF token sign-in answered. */
interface Browser {
  cookie: string;
  csrfToken: string;
  res: Response;
}

/** Browser sign-in: a session cookie instead of a bearer key, with CSRF and origin checks. */
describe('session sign-in', () => {
  let hf: HookflowHarness;
  let ownOrigin: string;

  async function signIn(key: string): Promise<Browser> {
    const res = await hf.http().post('/api/session').send({ key });
    expect({ status: res.status, body: res.body }).toMatchObject({ status: 200 });
    const setCookie = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
    expect(setCookie).toHaveLength(1);
    return { cookie: setCookie[0].split(';')[0], csrfToken: res.body.csrfToken, res };
  }

  async function mintKey(scope: string): Promise<{ id: string; key: string }> {
    const res = await hf
      .http()
      .post('/api/keys')
      .set(hf.auth)
      .send({ name: `${scope} browser`, scope });
    expect(res.status).toBe(201);
    return res.body;
  }

  const withCookie = (b: Browser, req: Test) => req.set('cookie', b.cookie);

  beforeAll(async () => {
    hf = await HookflowHarness.start({ worker: false });
    const { port } = hf.api.getHttpServer().address() as AddressInfo;
    ownOrigin = `http://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    await hf?.close();
  });

  it('trades a key for an HttpOnly, SameSite=Strict cookie and tells the scope and CSRF token', async () => {
    const admin = await signIn(hf.apiKey);
    const setCookie = admin.res.headers['set-cookie'][0];
    expect(setCookie).toMatch(/^hookflow_session=[A-Za-z0-9_-]{43}; /);
    const attributes = setCookie.split('; ').slice(1);
    expect(attributes).toEqual(
      expect.arrayContaining(['HttpOnly', 'SameSite=Strict', 'Path=/', 'Max-Age=604800']),
    );
    // Plain http here: the cookie must still reach the API.
    expect(attributes).not.toContain('Secure');
    expect(admin.res.body).toEqual({
      scope: 'admin',
      keyId: null,
      keyName: 'HOOKFLOW_API_KEY',
      csrfToken: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      expiresAt: expect.any(String),
    });
    const lifetimeMs = new Date(admin.res.body.expiresAt).getTime() - Date.now();
    expect(lifetimeMs).toBeGreaterThan(7 * 86_400_000 - 60_000);
    expect(lifetimeMs).toBeLessThanOrEqual(7 * 86_400_000 + 5_000);

    // Only a hash of the token is stored.
    const token = admin.cookie.split('=')[1];
    const rows: { id: Buffer }[] = await hf.api.get(DataSource).query(`SELECT id FROM api_sessions`);
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(row.id.toString('base64url')).not.toBe(token);
    expect(JSON.stringify(rows)).not.toContain(token);
  });

  it('sets Secure when the request came over https through a trusted proxy', async () => {
    const proxied = await HookflowHarness.start({ worker: false, env: { TRUST_PROXY: 'true' } });
    try {
      const res = await proxied
        .http()
        .post('/api/session')
        .set('x-forwarded-proto', 'https')
        .send({ key: proxied.apiKey })
        .expect(200);
      expect(res.headers['set-cookie'][0].split('; ')).toContain('Secure');
    } finally {
      await proxied.close();
    }
    // Without TRUST_PROXY the header is not believed.
    const res = await hf
      .http()
      .post('/api/session')
      .set('x-forwarded-proto', 'https')
      .send({ key: hf.apiKey });
    expect(res.headers['set-cookie'][0].split('; ')).not.toContain('Secure');
  });

  it('lets the cookie read, and write only with the CSRF token', async () => {
    const admin = await signIn(hf.apiKey);
    await withCookie(admin, hf.http().get('/api/flows')).expect(200);

    const missing = await withCookie(admin, hf.http().post('/api/flows')).send(flowDoc('no-token'));
    expect(missing.status).toBe(403);
    expect(missing.body).toMatchObject({ error: 'csrf_token_missing', details: [] });

    const wrong = await withCookie(admin, hf.http().post('/api/flows'))
      .set('x-csrf-token', 'A'.repeat(43))
      .send(flowDoc('wrong-token'));
    expect(wrong.status).toBe(403);
    expect(wrong.body).toMatchObject({ error: 'csrf_token_invalid' });

    // Another session's token is just as wrong.
    const other = await signIn(hf.apiKey);
    const foreign = await withCookie(admin, hf.http().delete('/api/flows/x')).set(
      'x-csrf-token',
      other.csrfToken,
    );
    expect(foreign.body).toMatchObject({ error: 'csrf_token_invalid' });

    await withCookie(admin, hf.http().post('/api/flows'))
      .set('x-csrf-token', admin.csrfToken)
      .send(flowDoc('by-browser'))
      .expect(201);
    // Nothing was made by the refused requests.
    await hf.http().get('/api/flows/no-token').set(hf.auth).expect(404);
    await hf.http().get('/api/flows/wrong-token').set(hf.auth).expect(404);
  });

  it('answers GET /api/session with the same session info, the CSRF token included', async () => {
    const admin = await signIn(hf.apiKey);
    const res = await withCookie(admin, hf.http().get('/api/session')).expect(200);
    expect(res.body).toEqual(admin.res.body);
    await hf.http().get('/api/session').expect(401);
    await hf
      .http()
      .get('/api/session')
      .set('cookie', `hookflow_session=${'x'.repeat(43)}`)
      .expect(401);
  });

  it('refuses cookie requests from another origin or site, and accepts its own origin', async () => {
    const admin = await signIn(hf.apiKey);
    const evil = await withCookie(admin, hf.http().get('/api/flows')).set('origin', 'https://evil.example');
    expect(evil.status).toBe(403);
    expect(evil.body).toMatchObject({ error: 'origin_mismatch' });
    const nullOrigin = await withCookie(admin, hf.http().get('/api/flows')).set('origin', 'null');
    expect(nullOrigin.body).toMatchObject({ error: 'origin_mismatch' });
    const crossSite = await withCookie(admin, hf.http().get('/api/flows')).set(
      'sec-fetch-site',
      'cross-site',
    );
    expect(crossSite.body).toMatchObject({ error: 'origin_mismatch' });
    // Even with the right CSRF token.
    const post = await withCookie(admin, hf.http().post('/api/flows'))
      .set('origin', 'https://evil.example')
      .set('x-csrf-token', admin.csrfToken)
      .send(flowDoc('cross'));
    expect(post.status).toBe(403);

    await withCookie(admin, hf.http().get('/api/flows'))
      .set('origin', ownOrigin)
      .set('sec-fetch-site', 'same-origin')
      .expect(200);
    // A sign-in from another site is refused too.
    const signInElsewhere = await hf
      .http()
      .post('/api/session')
      .set('origin', 'https://evil.example')
      .send({ key: hf.apiKey });
    expect(signInElsewhere.status).toBe(403);
  });

  it('answers 401 without a cookie, and lets a bearer key win over a cookie', async () => {
    const res = await hf.http().get('/api/flows');
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ error: 'unauthorized' });
    const admin = await signIn(hf.apiKey);
    // A bearer request needs no CSRF token, cookie or not.
    await withCookie(admin, hf.http().post('/api/flows/validate'))
      .set(hf.auth)
      .send(flowDoc('v'))
      .expect(200);
    const badBearer = await withCookie(admin, hf.http().get('/api/flows')).set(
      'authorization',
      'Bearer nope',
    );
    expect(badBearer.status).toBe(401);
  });

  it("holds a session to its key's scope", async () => {
    const reader = await signIn((await mintKey('read')).key);
    expect(reader.res.body).toMatchObject({
      scope: 'read',
      keyName: 'read browser',
      keyId: expect.any(String),
    });
    await withCookie(reader, hf.http().get('/api/flows')).expect(200);
    const write = await withCookie(reader, hf.http().post('/api/flows'))
      .set('x-csrf-token', reader.csrfToken)
      .send(flowDoc('by-reader'));
    expect(write.status).toBe(403);
    expect(write.body).toMatchObject({
      error: 'insufficient_scope',
      message: expect.stringContaining("'write'"),
    });
    const keys = await withCookie(reader, hf.http().get('/api/keys'));
    expect(keys.body).toMatchObject({ error: 'insufficient_scope' });
  });

  it("ends a key's sessions the moment the key is deleted", async () => {
    const writer = await mintKey('write');
    const browser = await signIn(writer.key);
    await withCookie(browser, hf.http().get('/api/runs')).expect(200);
    await hf.http().delete(`/api/keys/${writer.id}`).set(hf.auth).expect(204);
    await withCookie(browser, hf.http().get('/api/runs')).expect(401);
    await withCookie(browser, hf.http().get('/api/session')).expect(401);
    const rows = await hf.api
      .get(DataSource)
      .query(`SELECT 1 FROM api_sessions WHERE api_key_id = $1`, [writer.id]);
    expect(rows).toHaveLength(0);
  });

  it('signs out: the row goes, the cookie is cleared and refused afterwards', async () => {
    const admin = await signIn(hf.apiKey);
    const out = await withCookie(admin, hf.http().delete('/api/session')).expect(204);
    expect(out.headers['set-cookie'][0]).toMatch(/^hookflow_session=; .*Max-Age=0/);
    await withCookie(admin, hf.http().get('/api/flows')).expect(401);
    await withCookie(admin, hf.http().get('/api/session')).expect(401);
    // Again, or with no cookie at all: still 204.
    await withCookie(admin, hf.http().delete('/api/session')).expect(204);
    await hf.http().delete('/api/session').expect(204);
  });

  it('refuses a malformed or oversized sign-in: 400 naming /key, an unknown field, 413', async () => {
    for (const body of [{}, { key: 42 }, { key: '' }]) {
      const res = await hf.http().post('/api/session').send(body);
      expect({ body, status: res.status, details: res.body.details }).toEqual({
        body,
        status: 400,
        details: [{ path: '/key', message: expect.any(String) }],
      });
    }
    const extra = await hf.http().post('/api/session').send({ key: hf.apiKey, remember: true });
    expect(extra.status).toBe(400);
    expect(extra.body.details).toEqual([{ path: '/remember', message: expect.any(String) }]);
    const big = await hf
      .http()
      .post('/api/session')
      .send({ key: 'k'.repeat(5000) });
    expect(big.status).toBe(413);
    const notJson = await hf.http().post('/api/session').set('content-type', 'application/json').send('{');
    expect(notJson.status).toBe(400);
  });

  // Last: it locks this address out of sign-in for the rest of the window.
  it('throttles failed sign-ins per client address with 429 and Retry-After', async () => {
    const wrong = await hf.http().post('/api/session').send({ key: 'hfk_wrong' });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatchObject({ error: 'unauthorized' });
    let throttled: Response | undefined;
    // The limit is 10 per 5-minute window (counting the one above and any failed before);
    // a window may end in between, so allow for two.
    for (let attempt = 0; attempt < 25 && !throttled; attempt++) {
      const res = await hf.http().post('/api/session').send({ key: 'hfk_wrong' });
      if (res.status === 429) throttled = res;
      else expect(res.status).toBe(401);
    }
    expect(throttled?.body).toMatchObject({ error: 'rate_limited' });
    expect(Number(throttled?.headers['retry-after'])).toBeGreaterThan(0);
    // While throttled, even the right key is refused.
    await hf.http().post('/api/session').send({ key: hf.apiKey }).expect(429);
    // Bearer keys are not affected.
    await hf.http().get('/api/flows').set(hf.auth).expect(200);
  });
});
