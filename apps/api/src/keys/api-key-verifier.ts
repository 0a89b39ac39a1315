import { Inject, Injectable, Logger } from '@nestjs/common';
import { HOOKFLOW_CONFIG, LookupCache, type HookflowConfig } from '@hookflow/platform';
import { API_KEY_PREFIX, ApiKeyRepository, hashApiKey } from '@hookflow/store';
import { timingSafeEqual } from 'node:crypto';
import type { ApiCaller } from './api-key-scope';

/** How long a found key is accepted without a query: other replicas see a deletion within this time. */
const API_KEY_CACHE_TTL_MS = 5_000;
const MAX_CACHED = 1_000;
/** Generated keys are the prefix and 43 base64url characters; longer tokens are not looked up. */
const MAX_KEY_LENGTH = 128;
/** The bootstrap `HOOKFLOW_API_KEY` may do everything. */
const BOOTSTRAP: ApiCaller = { keyId: null, scope: 'admin' };

/** Maps a bearer token to its caller; digests compared in constant time, leaking no content or length. */
@Injectable()
export class ApiKeyVerifier {
  private readonly logger = new Logger(ApiKeyVerifier.name);
  private readonly bootstrap: Buffer;
  /** Positive answers only, by digest (base64); an unknown token always asks the database. */
  private readonly found = new LookupCache<ApiCaller>({
    max: MAX_CACHED,
    ttlMs: API_KEY_CACHE_TTL_MS,
    load: (digest) => this.find(Buffer.from(digest, 'base64')),
  });

  constructor(
    private readonly keys: ApiKeyRepository,
    @Inject(HOOKFLOW_CONFIG) config: HookflowConfig,
  ) {
    this.bootstrap = hashApiKey(config.apiKey);
  }

  /** The caller a token stands for; undefined when it is no valid key. */
  async verify(token: string): Promise<ApiCaller | undefined> {
    const digest = hashApiKey(token);
    if (timingSafeEqual(digest, this.bootstrap)) return BOOTSTRAP;
    // Only generated keys are stored: anything else is refused without a query.
    if (!token.startsWith(API_KEY_PREFIX) || token.length > MAX_KEY_LENGTH) return undefined;
    // Finding the entry by digest (a map lookup, an index scan) can only leak timing about the
    // digest, which does not help anyone construct a key that hashes to a stored one.
    return this.found.get(digest.toString('base64'));
  }

  private async find(digest: Buffer): Promise<ApiCaller | undefined> {
    const row = await this.keys.findByHash(digest);
    if (!row || row.keyHash.length !== digest.length || !timingSafeEqual(row.keyHash, digest))
      return undefined;
    this.keys
      .touch(row.id)
      .catch((err: Error) =>
        this.logger.warn(`recording the use of API key ${row.id} failed: ${err.message}`),
      );
    return { keyId: row.id, scope: row.scope };
  }

  /** Stops accepting a deleted key on this replica at once; clears everything, since deletes are rare. */
  forgetDeleted(): void {
    this.found.clear();
  }
}
