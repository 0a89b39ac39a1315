import { Injectable } from '@nestjs/common';
import { ApiKeyRepository, hashApiKey, newApiKey } from '@hookflow/store';
import { AppError } from '../common/app-error';
import { ApiKeyVerifier } from './api-key-verifier';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_NAME_LENGTH = 200;

/** Management API keys: created with the key shown once, listed without it, deleted for good. */
@Injectable()
export class ApiKeysService {
  constructor(
    private readonly keys: ApiKeyRepository,
    private readonly verifier: ApiKeyVerifier,
  ) {}

  async create(body: unknown): Promise<{ id: string; name: string; key: string; createdAt: Date }> {
    const name = (body as { name?: unknown } | null | undefined)?.name;
    if (typeof name !== 'string' || name.trim() === '') {
      throw AppError.invalid('/name', 'must be a non-empty string');
    }
    if (name.length > MAX_NAME_LENGTH) {
      throw AppError.invalid('/name', `must be at most ${MAX_NAME_LENGTH} characters`);
    }
    const key = newApiKey();
    const row = await this.keys.create(name.trim(), hashApiKey(key));
    return { id: row.id, name: row.name, key, createdAt: row.createdAt };
  }

  async list(): Promise<{
    items: { id: string; name: string; createdAt: Date; lastUsedAt: Date | null }[];
  }> {
    const rows = await this.keys.list();
    return {
      items: rows.map((r) => ({ id: r.id, name: r.name, createdAt: r.createdAt, lastUsedAt: r.lastUsedAt })),
    };
  }

  async delete(id: string): Promise<void> {
    const deleted = UUID.test(id) && (await this.keys.delete(id));
    if (!deleted) throw AppError.notFound(`API key '${id}'`);
    this.verifier.forgetDeleted();
  }
}
