import { setTimeout as sleep } from 'node:timers/promises';
import { DataSource, type QueryRunner } from 'typeorm';
import { ENTITIES } from '../entities';
import { MIGRATIONS } from '../migrations';

export interface DatabaseOptions {
  url: string;
  /** PostgreSQL schema holding Hookflow's tables (tests use one each). */
  schema?: string;
  poolSize?: number;
  applicationName?: string;
  /** False: `synchronous_commit = off`, for the worker only, whose writes can be derived again. */
  synchronousCommit?: boolean;
}

/** Builds the DataSource both apps use. Never `synchronize`: the schema comes from migrations. */
export function createDataSource(opts: DatabaseOptions): DataSource {
  const schema = opts.schema ?? 'public';
  return new DataSource({
    type: 'postgres',
    url: opts.url,
    schema,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'hookflow_migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    // Errors reach the callers, which know which ones are expected (a taken slug) and log the rest.
    logging: false,
    extra: {
      max: opts.poolSize ?? 10,
      application_name: opts.applicationName ?? 'hookflow',
      options: `-c search_path=${schema}${opts.synchronousCommit === false ? ' -c synchronous_commit=off' : ''}`,
      connectionTimeoutMillis: 5000,
    },
  });
}

/** Connects and migrates, under an advisory lock since API and worker may start at the same moment. */
export async function openDatabase(opts: DatabaseOptions): Promise<DataSource> {
  const schema = opts.schema ?? 'public';
  const ds = createDataSource(opts);
  await ds.initialize();
  const runner = ds.createQueryRunner();
  try {
    await runner.connect();
    await lockMigrations(runner, schema);
    try {
      if (schema !== 'public') await runner.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
      await ds.runMigrations({ transaction: 'each' });
    } finally {
      await runner.query(`SELECT pg_advisory_unlock(hashtext('hookflow_migrations_' || $1))`, [schema]);
    }
  } catch (err) {
    await runner.release();
    await ds.destroy();
    throw err;
  }
  await runner.release();
  return ds;
}

/** How often a process waiting for another's migrations asks for the lock again. */
const MIGRATION_LOCK_POLL_MS = 200;

/**
 * Takes the migration lock by asking again until it is free: a session blocked in
 * `pg_advisory_lock` keeps its snapshot, which a `CREATE INDEX CONCURRENTLY` of the holder's
 * migrations waits for, and the holder waits on it through another connection: a deadlock
 * PostgreSQL cannot see.
 */
async function lockMigrations(runner: QueryRunner, schema: string): Promise<void> {
  for (;;) {
    const rows: { locked: boolean }[] = await runner.query(
      `SELECT pg_try_advisory_lock(hashtext('hookflow_migrations_' || $1)) AS locked`,
      [schema],
    );
    if (rows[0].locked) return;
    await sleep(MIGRATION_LOCK_POLL_MS);
  }
}
