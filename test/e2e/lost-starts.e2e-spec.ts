import { StepTransitions } from '@hookflow/store';
import { HookflowHarness } from '../utils/hookflow-harness';
import { SinkServer } from '../utils/sink-server';

/**
 * A worker that dies mid-step leaves a claim without an outcome. A step that sends nothing is
 * simply started again (the chaos tests' SIGKILL found transforms failing runs for good here).
 */
describe('steps whose worker died', () => {
  let hf: HookflowHarness;
  let sink: SinkServer;

  beforeAll(async () => {
    sink = await SinkServer.start();
    hf = await HookflowHarness.start({ worker: false });
  });

  afterAll(async () => {
    await hf?.close();
    await sink?.close();
  });

  it('starts a transform again after its worker died, even with a budget of one try', async () => {
    const { hookPath } = await hf.createFlow({
      slug: 'lost-transform',
      trigger: { type: 'webhook' },
      steps: [
        { id: 'shape', type: 'transform', expression: "{ 'n': n }" },
        {
          id: 'send',
          type: 'action',
          connector: 'http',
          with: { url: `${sink.url}/lost`, json: '{{input}}' },
        },
      ],
    });
    const { body } = await hf.http().post(hookPath).send({ n: 5 }).expect(202);
    const runs = hf.api.get(StepTransitions);
    // Two workers took the transform and died before recording anything (leases already lapsed).
    expect((await runs.claimStep(body.runId, 'shape', 0))?.attempt).toBe(1);
    expect((await runs.claimStep(body.runId, 'shape', 0))?.attempt).toBe(2);

    await hf.startWorker();

    const run = await hf.waitForRun(body.runId);
    expect(run.status).toBe('succeeded');
    expect(run.steps[0].attempts.map((a: { n: number }) => a.n)).toEqual([3]);
    expect((await sink.waitForRequests('/lost', 1))[0].json).toEqual({ n: 5 });
  });
});
