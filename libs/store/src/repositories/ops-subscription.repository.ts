import { randomBytes, randomUUID } from 'node:crypto';
import type { OpsEventType } from '@hookflow/flows';
import type { DataSource } from 'typeorm';
import { openSecret, sealSecret } from '../secrets/secret-cipher';
import { SecretsUnavailableError } from './secret.repository';

/** Random bytes of a subscription's signing key (Standard Webhooks asks for 24 to 64). */
const SIGNING_KEY_BYTES = 32;

/** A new Standard Webhooks signing secret: `whsec_` and base64 of 32 random bytes. */
export function newSigningSecret(): string {
  return `whsec_${randomBytes(SIGNING_KEY_BYTES).toString('base64')}`;
}

/** An operational webhook subscription as the API shows it: never its secret. */
export interface OpsSubscription {
  id: string;
  url: string;
  events: OpsEventType[];
  flows: string[];
  description: string | null;
  enabled: boolean;
  createdAt: Date;
  updatedAt: Date;
}

/** What a subscription is made of, or changed to (every field of a change optional). */
export interface OpsSubscriptionInput {
  url: string;
  events: OpsEventType[];
  flows: string[];
  description: string | null;
  enabled: boolean;
}

/** A subscription with its secret in clear: only for the worker that signs its deliveries. */
export interface OpsSubscriptionTarget {
  id: string;
  url: string;
  enabled: boolean;
  secret: string;
}

const COLUMNS = `id, url, events, flows, description, enabled, created_at AS "createdAt", updated_at AS "updatedAt"`;

/** The secret's AAD: a sealed secret moved to another subscription does not open. */
function aad(id: string): string {
  return `ops_subscription:${id}`;
}

/** Operational webhook subscriptions (docs/alerts.md); signing secrets sealed under HOOKFLOW_MASTER_KEY. */
export class OpsSubscriptionRepository {
  constructor(
    private readonly ds: DataSource,
    private readonly masterKey: Buffer | undefined,
  ) {}

  /** False without a master key: secrets can then be neither sealed nor opened. */
  get available(): boolean {
    return this.masterKey !== undefined;
  }

  /** Stores a subscription with a new secret; the secret is returned here and never again. */
  async create(input: OpsSubscriptionInput): Promise<{ subscription: OpsSubscription; secret: string }> {
    const id = randomUUID();
    const secret = newSigningSecret();
    const sealed = sealSecret(this.key(), aad(id), secret);
    const rows: OpsSubscription[] = await this.ds.query(
      `INSERT INTO ops_subscriptions (id, url, events, flows, description, enabled, secret_iv, secret_ciphertext, secret_auth_tag)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ${COLUMNS}`,
      [
        id,
        input.url,
        input.events,
        input.flows,
        input.description,
        input.enabled,
        sealed.iv,
        sealed.ciphertext,
        sealed.authTag,
      ],
    );
    return { subscription: rows[0], secret };
  }

  /** Oldest first. */
  list(): Promise<OpsSubscription[]> {
    return this.ds.query(`SELECT ${COLUMNS} FROM ops_subscriptions ORDER BY created_at, id`);
  }

  async get(id: string): Promise<OpsSubscription | null> {
    const rows: OpsSubscription[] = await this.ds.query(
      `SELECT ${COLUMNS} FROM ops_subscriptions WHERE id = $1`,
      [id],
    );
    return rows[0] ?? null;
  }

  /** Changes the given fields; null when there is no such subscription. */
  async update(id: string, change: Partial<OpsSubscriptionInput>): Promise<OpsSubscription | null> {
    // UPDATE and DELETE answer [rows, count] through TypeORM's pg driver.
    const [rows]: [OpsSubscription[], number] = await this.ds.query(
      `UPDATE ops_subscriptions SET
         url = COALESCE($2, url), events = COALESCE($3, events), flows = COALESCE($4, flows),
         description = CASE WHEN $5 THEN $6 ELSE description END, enabled = COALESCE($7, enabled),
         updated_at = now()
       WHERE id = $1 RETURNING ${COLUMNS}`,
      [
        id,
        change.url ?? null,
        change.events ?? null,
        change.flows ?? null,
        change.description !== undefined,
        change.description ?? null,
        change.enabled ?? null,
      ],
    );
    return rows[0] ?? null;
  }

  /** Deletes it with its deliveries; false when there was none. */
  async delete(id: string): Promise<boolean> {
    const [rows]: [unknown[], number] = await this.ds.query(
      `DELETE FROM ops_subscriptions WHERE id = $1 RETURNING id`,
      [id],
    );
    return rows.length > 0;
  }

  /** A new secret replaces the old one at once; returned here and never again. Null: no such subscription. */
  async rotateSecret(id: string): Promise<string | null> {
    const secret = newSigningSecret();
    const sealed = sealSecret(this.key(), aad(id), secret);
    const [rows]: [unknown[], number] = await this.ds.query(
      `UPDATE ops_subscriptions SET secret_iv = $2, secret_ciphertext = $3, secret_auth_tag = $4, updated_at = now()
       WHERE id = $1 RETURNING id`,
      [id, sealed.iv, sealed.ciphertext, sealed.authTag],
    );
    return rows.length > 0 ? secret : null;
  }

  /** The enabled subscriptions listening for any of `types`, for the worker to match events against. */
  listening(
    types: readonly OpsEventType[],
  ): Promise<Array<Pick<OpsSubscription, 'id' | 'events' | 'flows'>>> {
    return this.ds.query(
      `SELECT id, events, flows FROM ops_subscriptions WHERE enabled AND events && $1::text[]`,
      [types],
    );
  }

  /** The URL and clear secret of a subscription, to sign one delivery; null when it is gone. */
  async target(id: string): Promise<OpsSubscriptionTarget | null> {
    const rows: Array<{
      id: string;
      url: string;
      enabled: boolean;
      iv: Buffer;
      ciphertext: Buffer;
      authTag: Buffer;
    }> = await this.ds.query(
      `SELECT id, url, enabled, secret_iv AS iv, secret_ciphertext AS ciphertext, secret_auth_tag AS "authTag"
           FROM ops_subscriptions WHERE id = $1`,
      [id],
    );
    const row = rows[0];
    if (!row) return null;
    return {
      id: row.id,
      url: row.url,
      enabled: row.enabled,
      secret: openSecret(this.key(), aad(row.id), row),
    };
  }

  private key(): Buffer {
    if (!this.masterKey) throw new SecretsUnavailableError();
    return this.masterKey;
  }
}
