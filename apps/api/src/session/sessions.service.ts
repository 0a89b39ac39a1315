import { Inject, Injectable, Logger } from '@nestjs/common';
import { HOOKFLOW_CONFIG, type HookflowConfig } from '@hookflow/platform';
import { ApiSessionRepository, RateLimitRepository, type ApiSession } from '@hookflow/store';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { AppError, ErrorCode } from '../common/app-error';
import type { ApiCaller } from '../keys/api-key-scope';
import { ApiKeyVerifier } from '../keys/api-key-verifier';
import {
  crossSiteRefusal,
  csrfRefusal,
  csrfTokenOf,
  originOf,
  sessionCookie,
  sessionId,
  sessionToken,
  type BrowserRequest,
} from './browser-request';

/** A session ends this long after sign-in, used or not. */
export const SESSION_LIFETIME_MS = 7 * 86_400_000;
/** A session unused for this long ends. */
export const SESSION_IDLE_MS = 12 * 3_600_000;
/** `last_seen_at` is written at most this often, so a busy dashboard does not write on every request. */
const SEEN_RESOLUTION_MS = 60_000;
/** Failed sign-ins one client address may make per window before it must wait. */
export const SIGN_IN_FAILURE_LIMIT = { limit: 10, perMs: 5 * 60_000 };
/** Longest key the sign-in reads; generated keys have 47 characters, the bootstrap key what its owner chose. */
const MAX_KEY_CHARS = 1024;
/** Ended sessions deleted per sign-in: every row comes from a sign-in, so this keeps the table bounded. */
const SWEEP_BATCH = 1000;
/** Name shown for a session of the bootstrap key, which has no stored name. */
const BOOTSTRAP_KEY_NAME = 'HOOKFLOW_API_KEY';

/** What sign-in and `GET /api/session` answer. */
export interface SessionInfo {
  scope: string;
  keyId: string | null;
  keyName: string;
  csrfToken: string;
  expiresAt: Date;
}

/** A request as the session endpoints need it. */
export interface SessionRequest extends BrowserRequest {
  ip: string;
}

/** Browser sign-in: an API key traded for an HttpOnly session cookie (docs/api.md#signing-in-from-a-browser). */
@Injectable()
export class SessionsService {
  private readonly logger = new Logger(SessionsService.name);
  private readonly publicOrigin: string | undefined;
  private readonly bootstrapFingerprint: Buffer;

  constructor(
    private readonly sessions: ApiSessionRepository,
    private readonly rateLimits: RateLimitRepository,
    private readonly verifier: ApiKeyVerifier,
    @Inject(HOOKFLOW_CONFIG) config: HookflowConfig,
  ) {
    this.publicOrigin = originOf(config.publicUrl);
    this.bootstrapFingerprint = fingerprint(config.apiKey);
  }

  /** Checks the key, opens a session; answers its info and the `Set-Cookie` value. */
  async signIn(req: SessionRequest, body: unknown): Promise<{ info: SessionInfo; cookie: string }> {
    this.refuseCrossSite(req);
    const key = keyOf(body);
    const throttle = throttleKey(req.ip);
    const past = await this.rateLimits.peek(throttle, SIGN_IN_FAILURE_LIMIT.perMs);
    if (past.count >= SIGN_IN_FAILURE_LIMIT.limit) throw tooManyFailures(past.resetInMs);
    const caller = await this.verifier.verify(key);
    if (!caller) {
      await this.rateLimits.hit(throttle, SIGN_IN_FAILURE_LIMIT.perMs);
      throw new AppError(ErrorCode.Unauthorized, 'the key is not a valid API key');
    }
    await this.sessions.deleteEnded(SESSION_IDLE_MS, SWEEP_BATCH);
    const token = randomBytes(32).toString('base64url');
    const session = await this.sessions.create(
      sessionId(token),
      caller.keyId === null
        ? { bootstrapFingerprint: this.bootstrapFingerprint }
        : { apiKeyId: caller.keyId },
      { lifetimeMs: SESSION_LIFETIME_MS, idleMs: SESSION_IDLE_MS },
    );
    return {
      info: this.infoOf(token, session),
      cookie: sessionCookie(token, SESSION_LIFETIME_MS / 1000, req.protocol === 'https'),
    };
  }

  /** The signed-in session's info (its CSRF token again, after a reload); 401 without one. */
  async current(req: SessionRequest): Promise<SessionInfo> {
    this.refuseCrossSite(req);
    const found = await this.live(req);
    if (!found) throw noSession();
    return this.infoOf(found.token, found.session);
  }

  /** Ends the request's session, if it has one; answers the `Set-Cookie` value that removes the cookie. */
  async signOut(req: SessionRequest): Promise<string> {
    this.refuseCrossSite(req);
    const token = sessionToken(req.headers.cookie);
    if (token !== undefined) await this.sessions.delete(sessionId(token));
    return sessionCookie('', 0, req.protocol === 'https');
  }

  /**
   * The caller a session cookie stands for, after the browser checks (origin, CSRF token on unsafe
   * methods); undefined without a live session.
   */
  async callerOf(req: BrowserRequest): Promise<ApiCaller | undefined> {
    const found = await this.live(req);
    if (!found) return undefined;
    const refusal = crossSiteRefusal(req, this.publicOrigin ?? '') ?? csrfRefusal(req, found.token);
    if (refusal) throw refusal;
    return { keyId: found.session.apiKeyId, scope: found.session.scope ?? 'admin' };
  }

  private refuseCrossSite(req: BrowserRequest): void {
    const refusal = crossSiteRefusal(req, this.publicOrigin ?? '');
    if (refusal) throw refusal;
  }

  /** The request's live session: not expired, not idle, its key still there (or still the bootstrap key). */
  private async live(req: BrowserRequest): Promise<{ token: string; session: ApiSession } | undefined> {
    const token = sessionToken(req.headers.cookie);
    if (token === undefined) return undefined;
    const id = sessionId(token);
    const session = await this.sessions.findLive(id, SESSION_IDLE_MS);
    if (!session) return undefined;
    if (session.apiKeyId === null && !this.isBootstrapFingerprint(session.bootstrapFingerprint)) {
      return undefined;
    }
    if (Date.now() - session.lastSeenAt.getTime() >= SEEN_RESOLUTION_MS) {
      this.sessions
        .touch(id, SEEN_RESOLUTION_MS)
        .catch((err: Error) => this.logger.warn(`recording the use of a session failed: ${err.message}`));
    }
    return { token, session };
  }

  private isBootstrapFingerprint(stored: Buffer | null): boolean {
    return (
      stored !== null &&
      stored.length === this.bootstrapFingerprint.length &&
      timingSafeEqual(stored, this.bootstrapFingerprint)
    );
  }

  private infoOf(token: string, session: ApiSession): SessionInfo {
    return {
      scope: session.scope ?? 'admin',
      keyId: session.apiKeyId,
      keyName: session.keyName ?? BOOTSTRAP_KEY_NAME,
      csrfToken: csrfTokenOf(token),
      expiresAt: session.expiresAt,
    };
  }
}

/** `{ "key": "<api key>" }`; 400 naming `/key` otherwise. */
function keyOf(body: unknown): string {
  const key = body && typeof body === 'object' ? (body as { key?: unknown }).key : undefined;
  if (typeof key !== 'string' || key === '') throw AppError.invalid('/key', 'must be a non-empty string');
  if (key.length > MAX_KEY_CHARS)
    throw AppError.invalid('/key', `must be at most ${MAX_KEY_CHARS} characters`);
  return key;
}

/**
 * Names the bootstrap key without storing it: 8 bytes of a hash tell a changed key from the same
 * one, and say little about a key its owner chose.
 */
function fingerprint(apiKey: string): Buffer {
  return createHash('sha256').update(`hookflow session ${apiKey}`, 'utf8').digest().subarray(0, 8);
}

/** The rate-limit counters are keyed by uuid: a client address becomes one through a hash. */
function throttleKey(ip: string): string {
  const h = createHash('sha256').update(`sign-in ${ip}`, 'utf8').digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

function tooManyFailures(resetInMs: number): AppError {
  const seconds = Math.max(1, Math.ceil(resetInMs / 1000));
  return new AppError(
    ErrorCode.RateLimited,
    `too many failed sign-ins from this address; try again in ${seconds} s`,
    [],
    { 'retry-after': String(seconds) },
  );
}

function noSession(): AppError {
  return new AppError(ErrorCode.Unauthorized, 'not signed in: POST /api/session with an API key');
}
