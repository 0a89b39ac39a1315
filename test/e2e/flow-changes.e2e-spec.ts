import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FlowDefinition } from '@hookflow/flows';
import { Client } from 'pg';
import request from 'supertest';
import { createApiApp } from '../../apps/api/src/bootstrap';
import { FlowSyncService } from '../../apps/api/src/flows/flow-sync.service';
import { HookflowHarness, TEST_DATABASE_URL } from '../utils/hookflow-harness';
import { waitFor } from '../utils/wait-for';

const flowDoc = (slug: string, extra: Partial<FlowDefinition> = {}): FlowDefinition => ({
  slug,
  trigger: { type: 'webhook' },
  steps: [{ id: 'shape', type: 'transform', expression: '$' }],
  ...extra,
});

/** Far below the trigger cache's 60 s TTL: only the change announced by the flow repository gets there in time. */
const ANNOUNCED_WITHIN_MS = 10_000;

/** Two API replicas on one schema: flow changes reach both at once, and syncs apply one after the other. */
describe('flow changes across API replicas', () => {
  let hf: HookflowHarness;
  let other: NestFastifyApplication;

  beforeAll(async () => {
    hf = await HookflowHarness.start({ worker: false });
    other = await createApiApp(hf.config, { logDestination: process.stdout });
    await other.listen(0, '127.0.0.1');
  });

  afterAll(async () => {
    await other?.close();
    await hf?.close();
  });

  const atOther = () => request(other.getHttpServer());

  /** Waits until the other replica answers `path` with `status`; it cached the trigger before. */
  const otherAnswers = (path: string, status: number) =>
    waitFor(async () => (await atOther().post(path).send({})).status === status, {
      timeoutMs: ANNOUNCED_WITHIN_MS,
      what: `the other replica to answer ${path} with ${status}`,
    });

  it('a flow disabled through one replica is refused by the other at once', async () => {
    const { hookPath } = await hf.createFlow(flowDoc('replicated'));
    await atOther().post(hookPath).send({}).expect(202);
    await hf.http().patch('/api/flows/replicated').set(hf.auth).send({ enabled: false }).expect(200);
    await otherAnswers(hookPath, 409);
  });

  it("a trigger key rotated through one replica stops matching at the other's", async () => {
    const { hookPath } = await hf.createFlow(flowDoc('rotated'));
    await atOther().post(hookPath).send({}).expect(202);
    await hf.http().post('/api/flows/rotated/trigger/rotate').set(hf.auth).expect(200);
    await otherAnswers(hookPath, 404);
  });

  it('a sync that changes a flow reaches the other replica at commit', async () => {
    const { hookPath } = await hf.createFlow(flowDoc('synced'));
    await atOther().post(hookPath).send({}).expect(202);
    await hf
      .http()
      .post('/api/flows/sync')
      .set(hf.auth)
      .send({
        files: [{ path: 'flows/synced.flow.json', definition: flowDoc('synced', { enabled: false }) }],
      })
      .expect(200);
    await otherAnswers(hookPath, 409);
  });

  describe('while another sync holds the lock', () => {
    let holder: Client;
    const files = [{ path: 'flows/locked.flow.json', definition: flowDoc('locked') }];

    beforeEach(async () => {
      holder = new Client({ connectionString: TEST_DATABASE_URL });
      await holder.connect();
      await holder.query('BEGIN');
      await holder.query(`SELECT pg_advisory_xact_lock(hashtext('hookflow_flow_sync:' || $1))`, [hf.id]);
    });

    afterEach(async () => {
      await holder.query('ROLLBACK').catch(() => undefined);
      await holder.end();
    });

    it('a sync from CI answers 409 and changes nothing', async () => {
      const res = await hf.http().post('/api/flows/sync').set(hf.auth).send({ files });
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ error: 'conflict', message: expect.stringContaining('another sync') });
      await hf.http().get('/api/flows/locked').set(hf.auth).expect(404);
    });

    it('a sync that waits (the flow files loader) applies once the lock is free', async () => {
      let settled = false;
      const applying = other
        .get(FlowSyncService)
        .apply(files, { wait: true })
        .finally(() => (settled = true));
      await waitFor(
        async () => {
          const { rows } = await holder.query(
            `SELECT count(*)::int AS n FROM pg_locks
              WHERE locktype = 'advisory' AND NOT granted AND objsubid = 1
                AND objid = (hashtext('hookflow_flow_sync:' || $1)::bigint & 4294967295)::text::oid`,
            [hf.id],
          );
          return rows[0].n === 1;
        },
        { what: 'the waiting sync to queue on the lock' },
      );
      expect(settled).toBe(false);
      await holder.query('COMMIT');
      await expect(applying).resolves.toMatchObject({
        dryRun: false,
        created: [{ slug: 'locked', path: 'flows/locked.flow.json', version: 1 }],
      });
    });
  });
});
