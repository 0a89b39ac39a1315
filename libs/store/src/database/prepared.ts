import type { Pool } from 'pg';
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
  const pool = (ds.driver as unknown as { master: Pool }).master;
  const result = await pool.query({ name, text, values });
  return result.rows as T[];
}
