import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';

/**
 * Runs one of the hot path's statements as a named prepared statement: PostgreSQL parses and
 * plans it once per connection instead of once per call (planning the step claim costs about
 * twice its execution). Only for fixed statement texts, each under its own name; the pool's
 * connections all share one search_path, so a prepared statement means the same on each.
 */
export async function preparedQuery<T>(
  ds: DataSource,
  name: string,
  text: string,
  values: unknown[],
): Promise<T[]> {
  const pool = (ds.driver as unknown as { master: Pool }).master;
  const result = await pool.query({ name, text, values });
  return result.rows as T[];
}
