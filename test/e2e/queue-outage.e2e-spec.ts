import net from 'node:net';
import { QueueHealth } from '../../apps/api/src/triggers/queue-health';
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
  // "Redis" accepts connections and never answers: a round trip to it would never end.
  const sockets = new Set<net.Socket>();
  const blackHole = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  beforeAll(async () => {
    await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
    const { port } = blackHole.address() as net.AddressInfo;
    hf = await HookflowHarness.start({ worker: false, env: { REDIS_URL: `redis://127.0.0.1:${port}` } });
    ({ hookPath } = await hf.createFlow({
      slug: 'queue-down',
      trigger: { type: 'webhook' },
      steps: [{ id: 'noop', type: 'transform', expression: '$' }],
    }));
  });

  afterAll(async () => {
    // Refused from here on: the harness's clean-up finds nothing to clean instead of waiting.
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => blackHole.close(resolve));
    await hf?.close();
  });

  it('answers 503 queue_unavailable with Retry-After, without a round trip to Redis, storing no run', async () => {
    // Redis never answers, so an answer at all shows the API did not wait for it.
    const res = await hf.http().post(hookPath).send({ kept: false }).timeout(5_000).expect(503);
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
