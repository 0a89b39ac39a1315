import { Injectable } from '@nestjs/common';
import { MAX_NAME_LENGTH } from '@hookflow/flows';
import { API_KEY_SCOPES, ApiKeyRepository, hashApiKey, newApiKey, type ApiKeyScope } from '@hookflow/store';
import { AppError } from '../common/app-error';
import { insufficientScope, scopeAllows, type ApiCaller } from './api-key-scope';
import { ApiKeyVerifier } from './api-key-verifier';
import { isUuid } from '../common/ids';

/** A key made without a scope can only read: more has to be asked for. */
const DEFAULT_SCOPE: ApiKeyScope = 'read';

export interface ApiKeyInfo {
  id: string;
  name: string;
  scope: ApiKeyScope;
  createdAt: Date;
}

/** Management API keys: created with the key shown once, listed without it, deleted for good. */
@Injectable()
export class ApiKeysService {
  constructor(
    private readonly keys: ApiKeyRepository,
    private readonly verifier: ApiKeyVerifier,
  ) {}

  /** A new key of the requested scope, which may not be above the caller's own. */
  async create(body: unknown, caller: ApiCaller): Promise<ApiKeyInfo & { key: string }> {
    const { name, scope } = (body ?? {}) as { name?: unknown; scope?: unknown };
    if (typeof name !== 'string' || name.trim() === '') {
      throw AppError.invalid('/name', 'must be a non-empty string');
    }
    if (name.length > MAX_NAME_LENGTH) {
      throw AppError.invalid('/name', `must be at most ${MAX_NAME_LENGTH} characters`);
    }
    if (scope !== undefined && !API_KEY_SCOPES.includes(scope as ApiKeyScope)) {
      throw AppError.invalid('/scope', `must be one of ${API_KEY_SCOPES.join(', ')}`);
    }
    const wanted = (scope as ApiKeyScope | undefined) ?? DEFAULT_SCOPE;
    if (!scopeAllows(caller.scope, wanted)) {
      throw insufficientScope(caller, wanted, `a key with the '${wanted}' scope`);
    }
    const key = newApiKey();
    const row = await this.keys.create(name.trim(), hashApiKey(key), wanted);
    return { id: row.id, name: row.name, scope: row.scope, key, createdAt: row.createdAt };
  }

  async list(): Promise<{ items: (ApiKeyInfo & { lastUsedAt: Date | null })[] }> {
    const rows = await this.keys.list();
    return {
      items: rows.map((r) => ({
        id: r.id,
        name: r.name,
        scope: r.scope,
        createdAt: r.createdAt,
        lastUsedAt: r.lastUsedAt,
      })),
    };
  }

  async delete(id: string): Promise<void> {
    const deleted = isUuid(id) && (await this.keys.delete(id));
    if (!deleted) throw AppError.notFound(`API key '${id}'`);
    this.verifier.forgetDeleted();
  }
}
