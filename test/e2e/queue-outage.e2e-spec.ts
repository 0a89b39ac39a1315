import { QueueHealth } from '../../apps/api/src/triggers/queue-health';
import { freePort } from '../utils/free-port';
import { HookflowHarness } from '../utils/hookflow-harness';
import { waitFor } from '../utils/wait-for';

/**
 * With Redis unreachable, a sender is told at once to try again later (503), and nothing is
 * stored: a 2xx is only ever given for a run that is stored. When the queue looked up but the
 * enqueue after the commit fails, the run is stored, so the answer stays 202 (the reconciler
 * enqueues it later).
 */
describe('ingress while the queue is unreachable', () => {
  let hf: HookflowHarness;
  let hookPath: string;

  beforeAll(async () => {
    const closedPort = await freePort();
    hf = await HookflowHarness.start({
      worker: false,
      env: { REDIS_URL: `redis://127.0.0.1:${closedPort}` },
    });
    ({ hookPath } = await hf.createFlow({
      slug: 'queue-down',
      trigger: { type: 'webhook' },
      steps: [{ id: 'noop', type: 'transform', expression: '$' }],
    }));
  });

  afterAll(async () => {
    await hf?.close();
  });

  it('answers 503 queue_unavailable with Retry-After, promptly, storing no run', async () => {
    const startedAt = Date.now();
    const res = await hf.http().post(hookPath).send({ kept: false }).timeout(5_000).expect(503);
    expect(Date.now() - startedAt).toBeLessThan(1_000);
    expect(res.body).toMatchObject({ error: 'queue_unavailable' });
    expect(res.headers['retry-after']).toBe('5');

    const runs = await hf.http().get('/api/runs?flow=queue-down').set(hf.auth).expect(200);
    expect(runs.body.items).toEqual([]);
    // Recorded for the inspector as a refusal, like any other.
    const refused = await waitFor(async () => {
      const events = await hf.http().get('/api/flows/queue-down/events?accepted=false').set(hf.auth);
      return events.body.items.find((e: { reason: string }) => e.reason === 'queue_unavailable');
    });
    expect(refused).toMatchObject({ statusCode: 503 });
  });

  it('reports not ready without details', async () => {
    const ready = await hf.http().get('/health/ready').timeout(5_000).expect(503);
    expect(ready.body).toEqual({ status: 'unavailable', database: 'ok', queue: 'unavailable' });
  });

  it('keeps 202 when the queue looked up but the enqueue after the commit failed: the run is stored', async () => {
    const queueHealth = hf.api.get(QueueHealth);
    // Redis went away between the check and the enqueue.
    Object.defineProperty(queueHealth, 'available', { get: () => true, configurable: true });
    try {
      const res = await hf.http().post(hookPath).send({ kept: true }).timeout(5_000).expect(202);
      const run = await hf.getRun(res.body.runId);
      expect(run).toMatchObject({ status: 'queued', event: { body: { kept: true } } });
      expect(run.steps[0]).toMatchObject({ status: 'pending' });
    } finally {
      delete (queueHealth as unknown as { available?: boolean }).available;
    }
  });
});
