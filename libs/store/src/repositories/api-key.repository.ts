import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { ApiKey, type ApiKeyScope } from '../entities/api-key.entity';

/** Every generated key starts with this, so a leaked one is recognisable (and scannable) as ours. */
export const API_KEY_PREFIX = 'hfk_';
const API_KEY_BYTES = 32;
/** `last_used_at` is written at most this often per key, so a busy key does not write on every request. */
const LAST_USED_RESOLUTION_MS = 60_000;

/** A new management API key: the prefix and 32 random bytes (256 bits) in base64url. */
export function newApiKey(): string {
  return API_KEY_PREFIX + randomBytes(API_KEY_BYTES).toString('base64url');
}

/** The stored form of an API key: unsalted SHA-256 suffices for 256 random bits, and is deterministic. */
export function hashApiKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/** Management API keys, stored as hashes. */
export class ApiKeyRepository {
  constructor(private readonly ds: DataSource) {}

  async create(name: string, keyHash: Buffer, scope: ApiKeyScope): Promise<ApiKey> {
    const row = this.ds.manager.create(ApiKey, {
      id: randomUUID(),
      name,
      keyHash,
      scope,
      createdAt: new Date(),
      lastUsedAt: null,
    });
    await this.ds.manager.insert(ApiKey, row);
    return row;
  }

  /** Oldest first; hashes are not read. */
  list(): Promise<Pick<ApiKey, 'id' | 'name' | 'scope' | 'createdAt' | 'lastUsedAt'>[]> {
    return this.ds.manager.find(ApiKey, {
      select: { id: true, name: true, scope: true, createdAt: true, lastUsedAt: true },
      order: { createdAt: 'ASC', id: 'ASC' },
    });
  }

  async findByHash(keyHash: Buffer): Promise<ApiKey | null> {
    return this.ds.manager.findOne(ApiKey, { where: { keyHash } });
  }

  /** False when there was no such key. */
  async delete(id: string): Promise<boolean> {
    const result = await this.ds.manager.delete(ApiKey, { id });
    return (result.affected ?? 0) > 0;
  }

  /** Records a use, at most once per minute per key. */
  async touch(id: string, now = new Date()): Promise<void> {
    await this.ds.query(
      `UPDATE api_keys SET last_used_at = $2
        WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)`,
      [id, now, new Date(now.getTime() - LAST_USED_RESOLUTION_MS)],
    );
  }
}
