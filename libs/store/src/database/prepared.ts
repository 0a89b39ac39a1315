import type { Pool, PoolClient } from 'pg';
import type { DataSource } from 'typeorm';

/**
 * Runs a hot-path statement as a named prepared statement, planned once per connection. Only for
 * fixed texts, one name each; safe because every pooled connection shares one search_path.
 */
export async function preparedQuery<T>(
  ds: DataSource,
  name: string,
  text: string,
  values: unknown[],
): Promise<T[]> {
  const result = await poolOf(ds).query({ name, text, values });
  return result.rows as T[];
}

/** A pooled connection of the caller's own, for statements that share one (a transaction); release it. */
export function pooledClient(ds: DataSource): Promise<PoolClient> {
  return poolOf(ds).connect();
}

/** A named prepared statement on `client`, planned once per connection as `preparedQuery`'s. */
export async function preparedOn<T>(
  client: PoolClient,
  name: string,
  text: string,
  values: unknown[],
): Promise<T[]> {
  const result = await client.query({ name, text, values });
  return result.rows as T[];
}

function poolOf(ds: DataSource): Pool {
  return (ds.driver as unknown as { master: Pool }).master;
}
