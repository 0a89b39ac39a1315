import { QueueConnectionState } from '@hookflow/queue';
import { HookflowHarness } from '../utils/hookflow-harness';
import { OwnRedis } from '../utils/own-services';
import { SinkServer } from '../utils/sink-server';
import { waitFor } from '../utils/wait-for';

/**
 * Redis crashes (SIGKILL, nothing kept) and comes back, twice: the worker's queue consumer takes
 * the new jobs every time. BullMQ before 6.7 (#4585) could leave a consumer that never received
 * a job again after an outage longer than its blocking wait plus a second (over 6 s by default);
 * the second outage here lasts 8 s.
 */
const OUTAGES_MS = [0, 8_000];
describe('Redis restarts', () => {
  let redis: OwnRedis;
  let sink: SinkServer;
  let hf: HookflowHarness;

  beforeAll(async () => {
    [redis, sink] = await Promise.all([OwnRedis.start(), SinkServer.start()]);
    hf = await HookflowHarness.start({ redisUrl: redis.url });
  });

  afterAll(async () => {
    await hf?.close();
    await sink?.close();
    await redis?.stop();
  });

  it('the queue consumer delivers the webhooks accepted after each restart', async () => {
    const { hookPath } = await hf.createFlow({
      slug: 'after-restart',
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'send',
          type: 'action',
          connector: 'http',
          with: { url: `${sink.url}/after`, json: '{{input}}' },
        },
      ],
    });
    const workerQueue = hf.worker!.get(QueueConnectionState);
    const apiQueue = hf.api.get(QueueConnectionState);
    await hf.http().post(hookPath).send({ n: 0 }).expect(202);
    await sink.waitForRequests('/after', 1);

    let sent = 1;
    for (const outageMs of OUTAGES_MS) {
      await redis.stop();
      const downAt = Date.now();
      await waitFor(() => !workerQueue.up && !apiQueue.up, { what: 'both processes to see Redis gone' });
      await hf.http().post(hookPath).send({ n: -1 }).expect(503);
      // The outage's length is the case under test, not a wait for something to happen.
      const rest = downAt + outageMs - Date.now();
      if (rest > 0) await new Promise((resolve) => setTimeout(resolve, rest));

      await redis.restart();
      await waitFor(() => workerQueue.up && apiQueue.up, { timeoutMs: 30_000, what: 'both back on Redis' });
      for (let i = 0; i < 5; i++) await hf.http().post(hookPath).send({ n: sent++ }).expect(202);
      const delivered = await sink.waitForRequests('/after', sent, 30_000);
      expect(delivered.map((r) => (r.json as { n: number }).n).sort((a, b) => a - b)).toEqual(
        Array.from({ length: sent }, (_, n) => n),
      );
    }
  });
});
