import { LRUCache } from 'lru-cache';

export interface LookupCacheOptions<V> {
  /** Entries kept at most; the least recently used goes first. */
  max: number;
  ttlMs: number;
  /**
   * Reads the value for `key`; `undefined` is returned to the caller and not kept.
   * `entry.ttlMs` may be changed to keep this one for a different time.
   */
  load(key: string, entry: { ttlMs: number }): Promise<V | undefined>;
}

/**
 * Values read from the database, kept for a while by key (lru-cache). Gets of a key that is
 * being loaded share that load, so a burst of requests after a start or a change costs one
 * query per key, not one per request. `clear()` also drops the loads in flight: they started
 * before the change that cleared, so their callers load again rather than keep what they read.
 */
export class LookupCache<V extends object> {
  private readonly cache: LRUCache<string, V>;

  constructor(options: LookupCacheOptions<V>) {
    this.cache = new LRUCache<string, V>({
      max: options.max,
      ttl: options.ttlMs,
      fetchMethod: async (key, _stale, { options: set }) => {
        const entry = { ttlMs: options.ttlMs };
        const value = await options.load(key, entry);
        set.ttl = entry.ttlMs;
        return value;
      },
    });
  }

  async get(key: string): Promise<V | undefined> {
    for (;;) {
      const status: LRUCache.Status<string, V> = {};
      try {
        return await this.cache.fetch(key, { status });
      } catch (err) {
        // Dropped by clear() (or evicted) while loading: load again. Anything else is the load's.
        if (!status.fetchAborted) throw err;
      }
    }
  }

  clear(): void {
    this.cache.clear();
  }
}
