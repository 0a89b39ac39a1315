import {
  crossSiteRefusal,
  csrfRefusal,
  csrfTokenOf,
  sessionCookie,
  sessionToken,
  type BrowserRequest,
} from './browser-request';

const TOKEN = 'a'.repeat(43);
const request = (over: Partial<BrowserRequest> = {}): BrowserRequest => ({
  method: 'GET',
  headers: {},
  protocol: 'http',
  host: 'hooks.example:3000',
  ...over,
});

describe('sessionToken', () => {
  it.each([
    [undefined, undefined],
    ['', undefined],
    [`hookflow_session=${TOKEN}`, TOKEN],
    [`theme=dark; hookflow_session=${TOKEN}; x=1`, TOKEN],
    [[`a=1`, `hookflow_session=${TOKEN}`], TOKEN],
    ['hookflow_session=short', undefined],
    [`hookflow_session=${TOKEN}x`, undefined],
    [`hookflow_session=${'a'.repeat(42)}+`, undefined],
    [`other_hookflow_session=${TOKEN}`, undefined],
  ])('%j -> %j', (header, expected) => {
    expect(sessionToken(header)).toBe(expected);
  });
});

describe('sessionCookie', () => {
  it('sets the attributes, Secure only over https, and clears with Max-Age=0', () => {
    expect(sessionCookie(TOKEN, 60, false)).toBe(
      `hookflow_session=${TOKEN}; HttpOnly; SameSite=Strict; Path=/; Max-Age=60`,
    );
    expect(sessionCookie(TOKEN, 60, true)).toMatch(/; Secure$/);
    expect(sessionCookie('', 0, false)).toBe(
      'hookflow_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0',
    );
  });
});

describe('crossSiteRefusal', () => {
  const publicOrigin = 'https://hookflow.example';
  it.each([
    ['no Origin', {}, undefined],
    ['its own origin', { origin: 'http://hooks.example:3000' }, undefined],
    ['its own origin in capitals', { origin: 'HTTP://HOOKS.EXAMPLE:3000' }, undefined],
    ['PUBLIC_URL', { origin: 'https://hookflow.example' }, undefined],
    ['same-origin fetch', { 'sec-fetch-site': 'same-origin' }, undefined],
    ['another origin', { origin: 'https://evil.example' }, 'origin_mismatch'],
    ['another port', { origin: 'http://hooks.example:3001' }, 'origin_mismatch'],
    ['another scheme', { origin: 'https://hooks.example:3000' }, 'origin_mismatch'],
    ['Origin: null', { origin: 'null' }, 'origin_mismatch'],
    ['not a URL', { origin: '%%%' }, 'origin_mismatch'],
    ['cross-site fetch', { 'sec-fetch-site': 'cross-site' }, 'origin_mismatch'],
  ])('%s', (_name, headers, code) => {
    expect(crossSiteRefusal(request({ headers }), publicOrigin)?.code).toBe(code);
  });

  it('compares with the default port dropped', () => {
    const req = request({
      protocol: 'https',
      host: 'hooks.example',
      headers: { origin: 'https://hooks.example:443' },
    });
    expect(crossSiteRefusal(req, '')).toBeUndefined();
  });
});

describe('csrfRefusal', () => {
  it.each([
    ['GET', undefined, undefined],
    ['HEAD', undefined, undefined],
    ['OPTIONS', undefined, undefined],
    ['POST', undefined, 'csrf_token_missing'],
    ['DELETE', '', 'csrf_token_missing'],
    ['PUT', 'wrong', 'csrf_token_invalid'],
    ['PATCH', csrfTokenOf('b'.repeat(43)), 'csrf_token_invalid'],
    ['POST', csrfTokenOf(TOKEN), undefined],
  ])('%s with %j', (method, given, code) => {
    const headers = given === undefined ? {} : { 'x-csrf-token': given };
    expect(csrfRefusal(request({ method, headers }), TOKEN)?.code).toBe(code);
  });

  it('derives a token that is not the session token and is stable', () => {
    expect(csrfTokenOf(TOKEN)).toBe(csrfTokenOf(TOKEN));
    expect(csrfTokenOf(TOKEN)).not.toContain(TOKEN);
    expect(csrfTokenOf(TOKEN)).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});
