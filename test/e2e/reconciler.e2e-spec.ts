import { HookflowHarness } from '../utils/hookflow-harness';
import { SinkServer } from '../utils/sink-server';
import { Queue } from 'bullmq';
import { STEP_QUEUE } from '@hookflow/store';

/** A webhook that got its 2xx is delivered even when its job never reached the queue. */
describe('reconciler', () => {
  let hf: HookflowHarness;
  let sink: SinkServer;

  beforeAll(async () => {
    sink = await SinkServer.start();
    hf = await HookflowHarness.start({
      worker: false,
      env: { RECONCILE_INTERVAL_MS: '100', RECONCILE_STALE_MS: '100' },
    });
  });

  afterAll(async () => {
    await hf?.close();
    await sink?.close();
  });

  it('re-enqueues a run whose enqueue was lost', async () => {
    const { hookPath } = await hf.createFlow({
      slug: 'lost-enqueue',
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'deliver',
          type: 'action',
          connector: 'http',
          with: { url: `${sink.url}/recovered`, json: '{{input}}' },
        },
      ],
    });
    const { body } = await hf.http().post(hookPath).send({ precious: true }).expect(202);

    // Lose the job: the queue is flushed before any worker saw it.
    const queue = new Queue(STEP_QUEUE, {
      connection: { url: hf.config.redisUrl } as never,
      prefix: hf.config.queuePrefix,
    });
    await queue.obliterate({ force: true });
    expect(await queue.getJobCounts('waiting', 'delayed', 'active')).toEqual({
      waiting: 0,
      delayed: 0,
      active: 0,
    });
    await queue.close();

    await hf.startWorker();
    const run = await hf.waitForRun(body.runId);
    expect(run.status).toBe('succeeded');
    const [req] = await sink.waitForRequests('/recovered', 1);
    expect(req.json).toEqual({ precious: true });
  });
});
