import { Injectable, Logger } from '@nestjs/common';
import { SECRET_NAME_PATTERN } from '@hookflow/flows';
import { LookupCache } from '@hookflow/platform';
import {
  SecretDecryptionError,
  SecretRepository,
  SecretsUnavailableError,
  type SecretInfo,
} from '@hookflow/store';
import { AppError, ErrorCode } from '../common/app-error';

const SECRET_NAME = new RegExp(SECRET_NAME_PATTERN);
/** Values are signing keys and tokens, not documents; the cap keeps the table and the cache small. */
export const MAX_SECRET_VALUE_BYTES = 64 * 1024;
/** How long a resolved value (or miss) is reused: other replicas see a change within this time. */
const SECRET_CACHE_TTL_MS = 5_000;
const MAX_CACHED = 1_000;

/** The secret store behind `/api/secrets`; only `resolve()` (for ingress) returns clear values. */
@Injectable()
export class SecretsService {
  private readonly logger = new Logger(SecretsService.name);
  /** Misses are kept too (value undefined). */
  private readonly cache = new LookupCache<{ value: string | undefined }>({
    max: MAX_CACHED,
    ttlMs: SECRET_CACHE_TTL_MS,
    load: async (name) => ({ value: SECRET_NAME.test(name) ? await this.secrets.value(name) : undefined }),
  });

  constructor(private readonly secrets: SecretRepository) {}

  async put(name: string, body: unknown): Promise<void> {
    this.checkName(name);
    const value = (body as { value?: unknown } | null | undefined)?.value;
    if (typeof value !== 'string') throw AppError.invalid('/value', 'must be a string');
    if (value === '') throw AppError.invalid('/value', 'must not be empty');
    if (Buffer.byteLength(value, 'utf8') > MAX_SECRET_VALUE_BYTES) {
      throw AppError.invalid('/value', `must be at most ${MAX_SECRET_VALUE_BYTES} bytes`);
    }
    this.requireStore();
    await this.secrets.put(name, value);
    this.invalidate();
  }

  async list(): Promise<{ items: SecretInfo[] }> {
    this.requireStore();
    return { items: await this.secrets.list() };
  }

  async delete(name: string): Promise<void> {
    this.checkName(name);
    this.requireStore();
    const deleted = await this.secrets.delete(name);
    this.invalidate();
    if (!deleted) throw AppError.notFound(`secret '${name}'`);
  }

  /** A secret's clear value; misses are cached too, so a flood for a missing one spares the database. */
  async resolve(name: string): Promise<string | undefined> {
    this.requireStore();
    try {
      return (await this.cache.get(name))?.value;
    } catch (err) {
      if (err instanceof SecretDecryptionError) {
        this.logger.error(err.message);
        throw new AppError(ErrorCode.Unavailable, `secret '${name}' cannot be read; see the server log`);
      }
      throw err;
    }
  }

  private invalidate(): void {
    this.cache.clear();
  }

  private checkName(name: string): void {
    if (!SECRET_NAME.test(name)) {
      throw AppError.invalid(
        '/name',
        'must be letters, digits and _, not starting with a digit, at most 128 characters',
      );
    }
  }

  private requireStore(): void {
    if (!this.secrets.available) {
      throw new AppError(ErrorCode.Unavailable, new SecretsUnavailableError().message);
    }
  }
}
