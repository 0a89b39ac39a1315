import type { DataSource } from 'typeorm';
import type { ApiKeyScope } from '../entities/api-key.entity';

/** Whose session it is: a stored key, or the bootstrap key by its fingerprint. */
export type ApiSessionOwner = { apiKeyId: string } | { bootstrapFingerprint: Buffer };

/** A live session as the API needs it: its key (null: the bootstrap key), that key's scope and name. */
export interface ApiSession {
  apiKeyId: string | null;
  /** The stored key's scope and name; null for the bootstrap key. */
  scope: ApiKeyScope | null;
  keyName: string | null;
  bootstrapFingerprint: Buffer | null;
  lastSeenAt: Date;
  expiresAt: Date;
}

/** How long a session lasts from sign-in, and how long it may go unused. */
export interface ApiSessionLimits {
  lifetimeMs: number;
  idleMs: number;
}

interface SessionRow {
  api_key_id: string | null;
  scope: ApiKeyScope | null;
  key_name: string | null;
  bootstrap_fingerprint: Buffer | null;
  last_seen_at: Date;
  expires_at: Date;
}

/** Browser sessions by the SHA-256 of their cookie token, on the database clock. */
export class ApiSessionRepository {
  constructor(private readonly ds: DataSource) {}

  async create(id: Buffer, owner: ApiSessionOwner, limits: ApiSessionLimits): Promise<ApiSession> {
    const rows: SessionRow[] = await this.ds.query(
      `WITH s AS (
         INSERT INTO api_sessions (id, api_key_id, bootstrap_fingerprint, created_at, last_seen_at, expires_at)
         VALUES ($1, $2, $3, now(), now(), now() + make_interval(secs => $4::double precision / 1000))
         RETURNING *
       )
       SELECT s.api_key_id, k.scope, k.name AS key_name, s.bootstrap_fingerprint, s.last_seen_at, s.expires_at
         FROM s LEFT JOIN api_keys k ON k.id = s.api_key_id`,
      [
        id,
        'apiKeyId' in owner ? owner.apiKeyId : null,
        'bootstrapFingerprint' in owner ? owner.bootstrapFingerprint : null,
        limits.lifetimeMs,
      ],
    );
    return toSession(rows[0]);
  }

  /** The session, unless it has expired or gone unused for longer than `idleMs`. */
  async findLive(id: Buffer, idleMs: number): Promise<ApiSession | undefined> {
    const rows: SessionRow[] = await this.ds.query(
      `SELECT s.api_key_id, k.scope, k.name AS key_name, s.bootstrap_fingerprint, s.last_seen_at, s.expires_at
         FROM api_sessions s LEFT JOIN api_keys k ON k.id = s.api_key_id
        WHERE s.id = $1 AND s.expires_at > now()
          AND s.last_seen_at > now() - make_interval(secs => $2::double precision / 1000)`,
      [id, idleMs],
    );
    return rows.length === 0 ? undefined : toSession(rows[0]);
  }

  /** Records a use, at most once per `resolutionMs`, so a busy session does not write on every request. */
  async touch(id: Buffer, resolutionMs: number): Promise<void> {
    await this.ds.query(
      `UPDATE api_sessions SET last_seen_at = now()
        WHERE id = $1 AND last_seen_at < now() - make_interval(secs => $2::double precision / 1000)`,
      [id, resolutionMs],
    );
  }

  async delete(id: Buffer): Promise<void> {
    await this.ds.query(`DELETE FROM api_sessions WHERE id = $1`, [id]);
  }

  /** Deletes up to `limit` sessions that expired or went idle; returns how many. */
  async deleteEnded(idleMs: number, limit: number): Promise<number> {
    const rows: { n: number }[] = await this.ds.query(
      `WITH gone AS (
         DELETE FROM api_sessions WHERE id = ANY(ARRAY(
           SELECT id FROM api_sessions
            WHERE expires_at <= now()
               OR last_seen_at <= now() - make_interval(secs => $1::double precision / 1000)
            LIMIT $2
            FOR UPDATE SKIP LOCKED))
         RETURNING 1
       )
       SELECT count(*)::int AS n FROM gone`,
      [idleMs, limit],
    );
    return rows[0].n;
  }
}

function toSession(row: SessionRow): ApiSession {
  return {
    apiKeyId: row.api_key_id,
    scope: row.scope,
    keyName: row.key_name,
    bootstrapFingerprint: row.bootstrap_fingerprint,
    lastSeenAt: row.last_seen_at,
    expiresAt: row.expires_at,
  };
}
