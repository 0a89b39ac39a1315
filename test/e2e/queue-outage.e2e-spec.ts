import { freePort } from '../utils/free-port';
import { HookflowHarness } from '../utils/hookflow-harness';

/** With Redis unreachable, a sender still gets its answer at once, and the run is kept for the reconciler. */
describe('ingress while the queue is unreachable', () => {
  let hf: HookflowHarness;

  beforeAll(async () => {
    const closedPort = await freePort();
    hf = await HookflowHarness.start({
      worker: false,
      env: { REDIS_URL: `redis://127.0.0.1:${closedPort}` },
    });
  });

  afterAll(async () => {
    await hf?.close();
  });

  it('answers 202 promptly with the run stored, and reports not ready without details', async () => {
    const { hookPath } = await hf.createFlow({
      slug: 'queue-down',
      trigger: { type: 'webhook' },
      steps: [{ id: 'noop', type: 'transform', expression: '$' }],
    });
    const res = await hf.http().post(hookPath).send({ kept: true }).timeout(5_000).expect(202);
    const run = await hf.getRun(res.body.runId);
    expect(run).toMatchObject({ status: 'queued', event: { body: { kept: true } } });
    expect(run.steps[0]).toMatchObject({ status: 'pending' });

    const ready = await hf.http().get('/health/ready').timeout(5_000).expect(503);
    expect(ready.body).toEqual({ status: 'unavailable', database: 'ok', queue: 'unavailable' });
  });
});
