import { HookflowHarness } from '../utils/hookflow-harness';
import { bundledRuns } from '../utils/bundled-runs';
import { SinkServer } from '../utils/sink-server';
import { Queue } from 'bullmq';
import { WorkerMetrics } from '@hookflow/platform';
import { STEP_QUEUE } from '@hookflow/queue';

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

/** Steps carried by a bundle job have no job of their own: the reconciler must not take them for lost. */
describe('reconciler and bundle jobs', () => {
  let hf: HookflowHarness;
  let sink: SinkServer;

  beforeAll(async () => {
    sink = await SinkServer.start();
    hf = await HookflowHarness.start({
      env: { RECONCILE_INTERVAL_MS: '100', RECONCILE_STALE_MS: '200', WORKER_CONCURRENCY: '1' },
    });
  });

  afterAll(async () => {
    await hf?.close();
    await sink?.close();
  });

  it('leaves alone the steps of a bundle that waits in the queue behind a slow job', async () => {
    sink.delay('/slow', 1_500);
    const step = (path: string) => ({
      id: 'deliver',
      type: 'action',
      connector: 'http',
      with: { url: `${sink.url}${path}`, json: '{{trigger.body}}' },
    });
    const slow = await hf.createFlow({
      slug: 'slow-first',
      trigger: { type: 'webhook' },
      steps: [step('/slow')],
    });
    await hf.createFlow({ slug: 'bundled-behind', trigger: { type: 'webhook' }, steps: [step('/behind')] });
    // The one worker slot is taken by the slow call...
    await hf.http().post(slow.hookPath).send({}).expect(202);
    await sink.waitForRequests('/slow', 1);
    // ...while a bundle of three waits behind it, well past RECONCILE_STALE_MS.
    const runIds = await bundledRuns(hf, 'bundled-behind', 3);

    for (const id of runIds) expect((await hf.waitForRun(id)).status).toBe('succeeded');
    // Each delivered once, by the bundle: no step was re-enqueued as lost.
    expect(sink.received('/behind')).toHaveLength(3);
    const metrics = await hf
      .worker!.get(WorkerMetrics)
      .registry.getSingleMetricAsString('hookflow_reconciler_reenqueued_total');
    expect(metrics).toMatch(/hookflow_reconciler_reenqueued_total 0$/m);
  });
});
