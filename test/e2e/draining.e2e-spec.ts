import { Draining } from '../../apps/api/src/health/draining';
import { HealthServer } from '../../apps/worker/src/health/health-server';
import { GracefulShutdown } from '../../apps/worker/src/maintenance/graceful-shutdown';
import { HookflowHarness } from '../utils/hookflow-harness';
import { SinkServer } from '../utils/sink-server';

/**
 * Shutdown in the apps themselves (the chaos tests send real signals to real processes): ready
 * goes 503 as draining starts, and a worker that closes lets its steps in flight finish.
 */
describe('draining', () => {
  let hf: HookflowHarness;
  let sink: SinkServer;

  beforeAll(async () => {
    sink = await SinkServer.start();
    hf = await HookflowHarness.start();
  });

  afterAll(async () => {
    await hf?.close();
    await sink?.close();
  });

  it('a worker that closes lets a slow delivery in flight finish and record it', async () => {
    sink.delay('/slow', 1_000);
    const { hookPath } = await hf.createFlow({
      slug: 'slow-drain',
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'send',
          type: 'action',
          connector: 'http',
          with: { url: `${sink.url}/slow`, json: '{{input}}' },
        },
      ],
    });
    const { body } = await hf.http().post(hookPath).send({ n: 1 }).expect(202);
    await sink.waitForRequests('/slow', 1);
    const port = hf.worker!.get(HealthServer).port;

    const closing = hf.stopWorker();
    await expect(fetch(`http://127.0.0.1:${port}/health/ready`).then((r) => r.status)).resolves.toBe(503);
    await closing;

    const run = await hf.getRun(body.runId);
    expect(run.status).toBe('succeeded');
    expect(run.steps[0].attempts).toHaveLength(1);
    expect(sink.received('/slow')).toHaveLength(1);
    await hf.startWorker();
  });

  it('worker readiness answers 503 draining once draining begins', async () => {
    const port = hf.worker!.get(HealthServer).port;
    await expect(fetch(`http://127.0.0.1:${port}/health/ready`).then((r) => r.status)).resolves.toBe(200);

    hf.worker!.get(GracefulShutdown).begin();

    const res = await fetch(`http://127.0.0.1:${port}/health/ready`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: 'draining' });
  });

  it('API readiness answers 503 draining once draining begins', async () => {
    await hf.http().get('/health/ready').expect(200);

    hf.api.get(Draining).begin();

    const res = await hf.http().get('/health/ready').expect(503);
    expect(res.body).toEqual({ status: 'draining' });
    await hf.http().get('/health/live').expect(200);
  });
});
