import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { AppError, ErrorCode } from '../common/app-error';

/** The session cookie's name. */
export const SESSION_COOKIE = 'hookflow_session';
/** The header a cookie-authenticated request with an unsafe method must carry. */
export const CSRF_HEADER = 'x-csrf-token';
/** Tokens are 32 random bytes in base64url: 43 characters. */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** What the checks read of a request (a FastifyRequest has all of it). */
export interface BrowserRequest {
  method: string;
  headers: Record<string, string | string[] | undefined>;
  /** `https` or `http`; X-Forwarded-Proto only when TRUST_PROXY is set (Fastify's `protocol`). */
  protocol: string;
  /** Host, or X-Forwarded-Host when TRUST_PROXY is set (Fastify's `host`). */
  host: string;
}

/** The session token in the request's cookies; undefined when there is none of the right shape. */
export function sessionToken(cookieHeader: string | string[] | undefined): string | undefined {
  const header = Array.isArray(cookieHeader) ? cookieHeader.join('; ') : cookieHeader;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== SESSION_COOKIE) continue;
    const value = part.slice(eq + 1).trim();
    return TOKEN_PATTERN.test(value) ? value : undefined;
  }
  return undefined;
}

/** The stored id of a session: the SHA-256 of its token, so a database read gives no usable cookie. */
export function sessionId(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** The session's CSRF token: an HMAC of the cookie's token, so it is never stored and can be told again. */
export function csrfTokenOf(token: string): string {
  return createHmac('sha256', token).update('hookflow csrf token').digest('base64url');
}

/** `Set-Cookie` for a new session, or (maxAgeSeconds 0) one that removes it. */
export function sessionCookie(token: string, maxAgeSeconds: number, secure: boolean): string {
  return [
    `${SESSION_COOKIE}=${token}`,
    'HttpOnly',
    'SameSite=Strict',
    'Path=/',
    `Max-Age=${maxAgeSeconds}`,
    ...(secure ? ['Secure'] : []),
  ].join('; ');
}

/**
 * 403 `origin_mismatch` for a request a browser says came from another site: `Sec-Fetch-Site:
 * cross-site`, or an `Origin` that is neither the API's own (scheme and host of the request) nor
 * `publicOrigin`. Requests without these headers (curl, older browsers' same-origin GETs) pass.
 */
export function crossSiteRefusal(req: BrowserRequest, publicOrigin: string): AppError | undefined {
  if (header(req, 'sec-fetch-site') === 'cross-site') {
    return new AppError(ErrorCode.OriginMismatch, 'the browser says this request came from another site');
  }
  const origin = header(req, 'origin');
  if (origin === undefined) return undefined;
  const own = originOf(`${req.protocol}://${req.host}`);
  const given = originOf(origin);
  if (given !== undefined && (given === own || given === publicOrigin)) return undefined;
  return new AppError(
    ErrorCode.OriginMismatch,
    `requests signed in with a session cookie must come from the API's own origin, not ${JSON.stringify(origin.slice(0, 200))}`,
  );
}

/** 403 for an unsafe method without the session's CSRF token in `X-CSRF-Token` (compared in constant time). */
export function csrfRefusal(req: BrowserRequest, token: string): AppError | undefined {
  if (SAFE_METHODS.has(req.method)) return undefined;
  const given = header(req, CSRF_HEADER);
  if (given === undefined || given === '') {
    return new AppError(
      ErrorCode.CsrfTokenMissing,
      `a request signed in with a session cookie needs the session's CSRF token in ${CSRF_HEADER}`,
    );
  }
  const expected = Buffer.from(csrfTokenOf(token));
  const actual = Buffer.from(given);
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
    return new AppError(ErrorCode.CsrfTokenInvalid, `${CSRF_HEADER} is not this session's CSRF token`);
  }
  return undefined;
}

/** `scheme://host[:port]` normalised (default port dropped, lower case); undefined when not a URL. */
export function originOf(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    return parsed.origin === 'null' ? undefined : parsed.origin;
  } catch {
    return undefined;
  }
}

function header(req: BrowserRequest, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
