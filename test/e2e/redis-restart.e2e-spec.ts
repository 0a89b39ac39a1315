import { QueueConnectionState } from '@hookflow/queue';
import { StepProcessor } from '../../apps/worker/src/steps/step.processor';
import { HookflowHarness } from '../utils/hookflow-harness';
import { OwnRedis } from '../utils/own-services';
import { SinkServer } from '../utils/sink-server';
import { waitFor } from '../utils/wait-for';

/**
 * Redis crashes (SIGKILL, nothing kept) and comes back, twice: the worker's own queue consumer,
 * not a replacement, takes the new jobs every time (BullMQ 6.7 fixed the consumer that stalled
 * after a restart, #4585, so no watchdog is needed).
 */
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

  it('the same queue consumer delivers the webhooks accepted after each restart', async () => {
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
    const consumer = hf.worker!.get(StepProcessor).worker;
    const workerQueue = hf.worker!.get(QueueConnectionState);
    const apiQueue = hf.api.get(QueueConnectionState);
    await hf.http().post(hookPath).send({ n: 0 }).expect(202);
    await sink.waitForRequests('/after', 1);

    let sent = 1;
    for (let restart = 1; restart <= 2; restart++) {
      await redis.stop();
      await waitFor(() => !workerQueue.up && !apiQueue.up, { what: 'both processes to see Redis gone' });
      await hf.http().post(hookPath).send({ n: -1 }).expect(503);

      await redis.restart();
      await waitFor(() => workerQueue.up && apiQueue.up, { timeoutMs: 30_000, what: 'both back on Redis' });
      for (let i = 0; i < 5; i++) await hf.http().post(hookPath).send({ n: sent++ }).expect(202);
      const delivered = await sink.waitForRequests('/after', sent, 30_000);
      expect(delivered.map((r) => (r.json as { n: number }).n).sort((a, b) => a - b)).toEqual(
        Array.from({ length: sent }, (_, n) => n),
      );
    }
    expect(hf.worker!.get(StepProcessor).worker).toBe(consumer);
  });
});
