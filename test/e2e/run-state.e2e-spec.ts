import { STEP_QUEUE } from '@hookflow/queue';
import { StepGraph } from '@hookflow/flows';
import { StepTransitions } from '@hookflow/store';
import { Queue } from 'bullmq';
import { HookflowHarness } from '../utils/hookflow-harness';
import { SinkServer } from '../utils/sink-server';
import { stepEnds, type EndStep } from '../utils/step-ends';

const oneStep = new StepGraph([{ id: 'send', type: 'action' }]);

/** The run state machine's guards against duplicate and lost workers, on the real database. */
describe('step claims, leases and the attempt budget', () => {
  let hf: HookflowHarness;
  let sink: SinkServer;
  let runs: StepTransitions;
  let endStep: EndStep;

  beforeAll(async () => {
    sink = await SinkServer.start();
    hf = await HookflowHarness.start({
      worker: false,
      env: { RECONCILE_INTERVAL_MS: '100', RECONCILE_STALE_MS: '100' },
    });
    runs = hf.api.get(StepTransitions);
    endStep = stepEnds(hf);
  });

  afterAll(async () => {
    await hf?.close();
    await sink?.close();
  });

  async function newRun(slug: string, attempts = 3): Promise<string> {
    const { hookPath } = await hf.createFlow({
      slug,
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'send',
          type: 'action',
          connector: 'http',
          retry: { attempts, backoff: 'fixed', delay: '10ms' },
          with: { url: `${sink.url}/${slug}`, json: '{{input}}' },
        },
      ],
    });
    const { body } = await hf.http().post(hookPath).send({ slug }).expect(202);
    return body.runId;
  }

  const attempt = (n: number) => ({
    n,
    startedAt: new Date(),
    durationMs: 1,
    outcome: 'succeeded' as const,
    error: null,
    responseStatus: 200,
  });

  it('keeps a second worker off a step while the first holds its lease', async () => {
    const runId = await newRun('leased');
    const first = await runs.claimStep(runId, 'send', 60_000);
    expect(first?.attempt).toBe(1);
    expect(await runs.claimStep(runId, 'send', 60_000)).toBeNull();
  });

  it('lets a step be claimed again once the lease lapses, and records only the latest claim', async () => {
    const runId = await newRun('lapsed');
    expect((await runs.claimStep(runId, 'send', 0))?.attempt).toBe(1);
    expect((await runs.claimStep(runId, 'send', 60_000))?.attempt).toBe(2);

    const stale = await endStep(
      runId,
      'send',
      { status: 'succeeded', input: {}, output: { from: 'stale' }, error: null },
      attempt(1),
      oneStep,
      1,
    );
    expect(stale.recorded).toBe(false);
    expect(await runs.markRetrying(runId, 'send', {}, { ...attempt(1), outcome: 'retrying' })).toBe(false);

    const latest = await endStep(
      runId,
      'send',
      { status: 'succeeded', input: {}, output: { from: 'latest' }, error: null },
      attempt(2),
      oneStep,
      2,
    );
    expect(latest.recorded).toBe(true);
    const run = await hf.getRun(runId);
    expect(run.steps[0]).toMatchObject({ status: 'succeeded', output: { from: 'latest' } });
    expect(run.steps[0].attempts.map((a: any) => a.n)).toEqual([2]);
  });

  it('fails a step that workers kept dying on, instead of sending it again and again', async () => {
    const runId = await newRun('crashy', 2);
    // Two workers claimed the step and died without an outcome; the queue lost the job too.
    await runs.claimStep(runId, 'send', 0);
    await runs.claimStep(runId, 'send', 0);
    const queue = new Queue(STEP_QUEUE, {
      connection: { url: hf.config.redisUrl } as never,
      prefix: hf.config.queuePrefix,
    });
    await queue.obliterate({ force: true });
    await queue.close();

    await hf.startWorker();
    const run = await hf.waitForRun(runId);
    expect(run.status).toBe('failed');
    expect(run.steps[0].error).toMatchObject({ code: 'attempts_exhausted', retryable: false });
    expect(sink.received('/crashy')).toHaveLength(0);
    await hf.stopWorker();
  });
});
