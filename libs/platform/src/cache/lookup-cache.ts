import { LRUCache } from 'lru-cache';

export interface LookupCacheOptions<V> {
  /** Values kept at most; the least recently used goes first. */
  max: number;
  /** How long a value is kept; 0: until it is the least recently used of `max`. */
  ttlMs: number;
  /** Reads the value for `key` (`undefined` is not kept); may set `entry.ttlMs` for this one. */
  load(key: string, entry: { ttlMs: number }): Promise<V | undefined>;
}

/** Values read from the database by key, loads shared (docs/architecture.md, Batching and caching). */
export class LookupCache<V extends object> {
  private readonly values: LRUCache<string, V>;
  private readonly loading = new Map<string, Promise<V | undefined>>();
  /** Bumped by clear(). */
  private generation = 0;

  constructor(private readonly options: LookupCacheOptions<V>) {
    this.values = new LRUCache<string, V>({ max: options.max, ttl: options.ttlMs });
  }

  get(key: string): Promise<V | undefined> {
    const hit = this.values.get(key);
    if (hit !== undefined) return Promise.resolve(hit);
    let pending = this.loading.get(key);
    if (!pending) {
      pending = this.load(key).finally(() => this.loading.delete(key));
      this.loading.set(key, pending);
    }
    return pending;
  }

  clear(): void {
    this.generation++;
    this.values.clear();
  }

  private async load(key: string): Promise<V | undefined> {
    for (;;) {
      const generation = this.generation;
      const entry = { ttlMs: this.options.ttlMs };
      const value = await this.options.load(key, entry);
      if (generation !== this.generation) continue;
      if (value !== undefined) this.values.set(key, value, { ttl: entry.ttlMs });
      return value;
    }
  }
}
