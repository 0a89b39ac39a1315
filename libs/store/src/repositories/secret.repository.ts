import type { DataSource } from 'typeorm';
import { Secret } from '../entities/secret.entity';
import { openSecret, sealSecret } from '../secrets/secret-cipher';

/** Names and dates of a stored secret: everything about it that may leave the server. */
export interface SecretInfo {
  name: string;
  createdAt: Date;
  updatedAt: Date;
}

/** Secrets cannot be written or read: no HOOKFLOW_MASTER_KEY is configured. */
export class SecretsUnavailableError extends Error {
  constructor() {
    super('the secret store is not available: set HOOKFLOW_MASTER_KEY (32 random bytes as base64 or hex)');
    this.name = 'SecretsUnavailableError';
  }
}

/** The secret store: values are encrypted before they reach the database. */
export class SecretRepository {
  constructor(
    private readonly ds: DataSource,
    private readonly masterKey: Buffer | undefined,
  ) {}

  /** False when no master key is configured: values can then be neither stored nor read. */
  get available(): boolean {
    return this.masterKey !== undefined;
  }

  /** Creates or replaces a secret; `created` tells which. */
  async put(name: string, value: string): Promise<{ created: boolean }> {
    const sealed = sealSecret(this.key(), name, value);
    const now = new Date();
    const rows: { created: boolean }[] = await this.ds.query(
      `INSERT INTO secrets (name, iv, ciphertext, auth_tag, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $5)
       ON CONFLICT (name) DO UPDATE
         SET iv = EXCLUDED.iv, ciphertext = EXCLUDED.ciphertext, auth_tag = EXCLUDED.auth_tag,
             updated_at = EXCLUDED.updated_at
       RETURNING (xmax = 0) AS created`,
      [name, sealed.iv, sealed.ciphertext, sealed.authTag, now],
    );
    return { created: rows[0]?.created === true };
  }

  async list(): Promise<SecretInfo[]> {
    const rows = await this.ds.manager.find(Secret, {
      select: { name: true, createdAt: true, updatedAt: true },
      order: { name: 'ASC' },
    });
    return rows.map(({ name, createdAt, updatedAt }) => ({ name, createdAt, updatedAt }));
  }

  /** False when there was no such secret. */
  async delete(name: string): Promise<boolean> {
    const result = await this.ds.manager.delete(Secret, { name });
    return (result.affected ?? 0) > 0;
  }

  /** Clear values of the named secrets that exist; throws without a master key or if one does not decrypt. */
  async values(names: readonly string[]): Promise<Record<string, string>> {
    const key = this.key();
    if (names.length === 0) return {};
    const rows: Secret[] = await this.ds.manager
      .createQueryBuilder(Secret, 's')
      .where('s.name IN (:...names)', { names: [...new Set(names)] })
      .getMany();
    return Object.fromEntries(rows.map((row) => [row.name, openSecret(key, row.name, row)]));
  }

  /** One clear value, or undefined when there is no such secret. */
  async value(name: string): Promise<string | undefined> {
    return (await this.values([name]))[name];
  }

  private key(): Buffer {
    if (!this.masterKey) throw new SecretsUnavailableError();
    return this.masterKey;
  }
}
