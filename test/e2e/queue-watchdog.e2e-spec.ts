import { HealthServer } from '../../apps/worker/src/health/health-server';
import { activeJobCount } from '../../apps/worker/src/maintenance/bullmq-internals';
import { StepProcessor } from '../../apps/worker/src/steps/step.processor';
import { HookflowHarness } from '../utils/hookflow-harness';
import { SinkServer } from '../utils/sink-server';
import { waitFor } from '../utils/wait-for';

/** The worker replaces a queue consumer that receives no jobs while jobs wait (Redis). */
describe('queue watchdog', () => {
  let hf: HookflowHarness;
  let sink: SinkServer;

  beforeAll(async () => {
    sink = await SinkServer.start();
    hf = await HookflowHarness.start({ env: { WORKER_WATCHDOG_MS: '1000' } });
  });

  afterAll(async () => {
    await hf?.close();
    await sink?.close();
  });

  const flow = (slug: string) => ({
    slug,
    trigger: { type: 'webhook' },
    steps: [
      {
        id: 'send',
        type: 'action',
        connector: 'http',
        with: { url: `${sink.url}/${slug}`, json: '{{input}}' },
      },
    ],
  });

  it('replaces a consumer that takes nothing while jobs wait, and the new one delivers them', async () => {
    const steps = hf.worker!.get(StepProcessor);
    const first = steps.worker;
    // A consumer that receives nothing. After a Redis restart BullMQ's can get there without
    // closing; closed is the same to the queue: nobody takes the jobs.
    await first.close();
    const { hookPath } = await hf.createFlow(flow('watched'));

    await hf.http().post(hookPath).send({ n: 1 }).expect(202);

    await sink.waitForRequests('/watched', 1, 15_000);
    const next = steps.worker;
    expect(next).not.toBe(first);
    expect(next.concurrency).toBe(first.concurrency);
    const port = hf.worker!.get(HealthServer).port;
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toContain('hookflow_worker_recreated_total 1');
  });

  it('counts the steps a consumer has in flight, and leaves a working one alone', async () => {
    const steps = hf.worker!.get(StepProcessor);
    const current = steps.worker;
    sink.delay('/busy', 1_500);
    const { hookPath } = await hf.createFlow(flow('busy'));

    await hf.http().post(hookPath).send({ n: 1 }).expect(202);

    await sink.waitForRequests('/busy', 1);
    expect(activeJobCount(current)).toBe(1);
    await waitFor(() => activeJobCount(current) === 0, { what: 'the slow delivery to finish' });
    expect(steps.worker).toBe(current);
  });
});
