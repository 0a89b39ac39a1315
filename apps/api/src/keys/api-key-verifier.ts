import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  API_KEY_PREFIX,
  ApiKeyRepository,
  HOOKFLOW_CONFIG,
  hashApiKey,
  type HookflowConfig,
} from '@hookflow/store';
import { timingSafeEqual } from 'node:crypto';

/**
 * How long a stored key, once found, is accepted without asking the database again. A key
 * deleted through this replica stops working at once (its entry is dropped); other API replicas
 * stop accepting it within this time.
 */
export const API_KEY_CACHE_TTL_MS = 5_000;
const MAX_CACHED = 1_000;
/** Generated keys are the prefix and 43 base64url characters; longer tokens are not looked up. */
const MAX_KEY_LENGTH = 128;

/**
 * Decides whether a bearer token is a valid management key: the bootstrap `HOOKFLOW_API_KEY`, or
 * a key created through `/api/keys`. Every comparison is made on SHA-256 digests in constant
 * time, so neither a key's content nor its length leaks through timing.
 */
@Injectable()
export class ApiKeyVerifier {
  private readonly logger = new Logger(ApiKeyVerifier.name);
  private readonly bootstrap: Buffer;
  /** Positive answers only, by digest (base64); an unknown token always asks the database. */
  private readonly cache = new Map<string, { id: string; expiresAt: number }>();
  /** Bumped by every delete; lookups that started before it re-check instead of caching. */
  private generation = 0;

  constructor(
    private readonly keys: ApiKeyRepository,
    @Inject(HOOKFLOW_CONFIG) config: HookflowConfig,
  ) {
    this.bootstrap = hashApiKey(config.apiKey);
  }

  async verify(token: string): Promise<boolean> {
    const digest = hashApiKey(token);
    if (timingSafeEqual(digest, this.bootstrap)) return true;
    // Only generated keys are stored: anything else is refused without a query.
    if (!token.startsWith(API_KEY_PREFIX) || token.length > MAX_KEY_LENGTH) return false;
    // Finding the entry by digest (a map lookup, an index scan) can only leak timing about the
    // digest, which does not help anyone construct a key that hashes to a stored one.
    const cacheKey = digest.toString('base64');
    const now = Date.now();
    const hit = this.cache.get(cacheKey);
    if (hit && hit.expiresAt > now) return true;
    this.cache.delete(cacheKey);
    const generation = this.generation;
    const row = await this.keys.findByHash(digest);
    if (!row || row.keyHash.length !== digest.length || !timingSafeEqual(row.keyHash, digest)) return false;
    // A key deleted while this lookup ran must not be cached from the row read before the delete.
    if (generation !== this.generation) return this.verify(token);
    this.cache.set(cacheKey, { id: row.id, expiresAt: now + API_KEY_CACHE_TTL_MS });
    if (this.cache.size > MAX_CACHED) this.cache.delete(this.cache.keys().next().value as string);
    this.keys
      .touch(row.id)
      .catch((err: Error) =>
        this.logger.warn(`recording the use of API key ${row.id} failed: ${err.message}`),
      );
    return true;
  }

  /** Stops accepting a deleted key on this replica at once. */
  forget(id: string): void {
    this.generation++;
    for (const [digest, entry] of this.cache) if (entry.id === id) this.cache.delete(digest);
  }
}
