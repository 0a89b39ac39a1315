import { openDatabase } from '@hookflow/store';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { TEST_DATABASE_URL } from '../utils/hookflow-harness';

/** API and worker start at the same moment on a fresh database: both migrate it, one after the other. */
describe('migrations started by two processes at once', () => {
  const schema = `hf_m${randomBytes(5).toString('hex')}`;

  afterAll(async () => {
    const client = new Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
    try {
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    } finally {
      await client.end();
    }
  });

  it('both open the database: one waits for the lock while the other builds indexes concurrently', async () => {
    const opened = await Promise.allSettled([
      openDatabase({ url: TEST_DATABASE_URL, schema, poolSize: 2 }),
      openDatabase({ url: TEST_DATABASE_URL, schema, poolSize: 2 }),
    ]);
    for (const result of opened) if (result.status === 'fulfilled') await result.value.destroy();
    expect(opened.map((r) => (r.status === 'rejected' ? String(r.reason) : 'opened'))).toEqual([
      'opened',
      'opened',
    ]);
  }, 30_000);
});
