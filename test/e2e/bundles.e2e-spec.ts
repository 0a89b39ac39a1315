import { jest } from '@jest/globals';
import { getQueueToken } from '@nestjs/bullmq';
import {
  MAX_BUNDLE_STEPS,
  STEP_QUEUE,
  StepQueue,
  type StepBundleData,
  type StepJobData,
} from '@hookflow/queue';
import type { Queue } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { HookflowHarness } from '../utils/hookflow-harness';
import { bundledRuns } from '../utils/bundled-runs';
import { SinkServer } from '../utils/sink-server';

/**
 * New runs' first steps reach the queue many to a job (a bundle) when webhooks arrive together,
 * and the worker runs a bundle's steps side by side, each as its own job would: what a job would
 * do through the queue (a retry, a wait for its destination) is done by giving that step a job of
 * its own, or by waiting in process.
 */
describe('bundle jobs', () => {
  let hf: HookflowHarness;
  let sink: SinkServer;
  let apiQueue: Queue;
  let workerQueue: Queue;
  let added: string[];

  beforeAll(async () => {
    sink = await SinkServer.start();
    hf = await HookflowHarness.start();
    apiQueue = hf.api.get<Queue>(getQueueToken(STEP_QUEUE));
    workerQueue = hf.worker!.get<Queue>(getQueueToken(STEP_QUEUE));
  });

  beforeEach(() => {
    // The jobs the worker gives steps of its own.
    added = [];
    const add = workerQueue.add.bind(workerQueue);
    jest.spyOn(workerQueue, 'add').mockImplementation((name, data, opts) => {
      added.push(`${data.stepId}${opts?.delay ? ` after ${data.attemptsBefore ?? 0}` : ''}`);
      return add(name, data, opts);
    });
  });

  afterEach(() => jest.restoreAllMocks());

  afterAll(async () => {
    await hf?.close();
    await sink?.close();
  });

  it('hands the first steps of webhooks that arrive together to the queue in bundle jobs', async () => {
    const stepQueue = hf.api.get(StepQueue);
    const adds = jest.spyOn(apiQueue, 'add');
    const addBulks = jest.spyOn(apiQueue, 'addBulk');
    const root = (runId: string) => ({
      runId,
      flowVersionId: randomUUID(),
      stepId: 'first',
      policy: { attempts: 3, backoff: 'exponential' as const, delayMs: 1000, maxDelayMs: 60_000 },
      timeoutMs: 30_000,
    });
    // Runs that do not exist: the worker finds nothing to do for them.
    const runIds = Array.from({ length: 10 + MAX_BUNDLE_STEPS }, () => randomUUID());
    await Promise.all(runIds.map((id) => stepQueue.start([root(id)])));
    // Handed over in one turn of the event loop: one queue call, bundles of up to MAX_BUNDLE_STEPS.
    expect(adds).not.toHaveBeenCalled();
    expect(addBulks).toHaveBeenCalledTimes(1);
    const [bulk] = addBulks.mock.calls.map(([jobs]) => jobs);
    expect(bulk.map((j) => [j.name, (j.data as StepBundleData).steps.length])).toEqual([
      ['bundle', MAX_BUNDLE_STEPS],
      ['bundle', 10],
    ]);
    expect(bulk.flatMap((j) => (j.data as StepBundleData).steps.map((s) => s.runId))).toEqual(runIds);
    expect(bulk[0].opts).toMatchObject({
      jobId: `bundle_${runIds[0]}_first`,
      attempts: 1,
      removeOnComplete: true,
    });

    // One webhook alone: a job of its own.
    const alone = randomUUID();
    await stepQueue.start([root(alone)]);
    expect(adds.mock.calls.map(([name, data]) => [name, (data as StepJobData).runId])).toEqual([
      ['step', alone],
    ]);
  });

  it('runs transform -> http for every run of a bundle in its one job', async () => {
    await hf.createFlow({
      slug: 'bundled-chain',
      trigger: { type: 'webhook' },
      steps: [
        { id: 'shape', type: 'transform', expression: '{ "n": n }' },
        {
          id: 'send',
          type: 'action',
          connector: 'http',
          with: { url: `${sink.url}/bundled`, json: '{{steps.shape}}' },
        },
      ],
    });
    const runIds = await bundledRuns(hf, 'bundled-chain', 6);
    const runs = await Promise.all(runIds.map((id) => hf.waitForRun(id)));
    expect(runs.map((r) => r.steps.map((s: any) => [s.id, s.status, s.attempts.length]))).toEqual(
      runIds.map(() => [
        ['shape', 'succeeded', 1],
        ['send', 'succeeded', 1],
      ]),
    );
    const received = sink.received('/bundled');
    expect(received.map((r) => (r.json as { n: number }).n).sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(new Set(received.map((r) => r.headers['idempotency-key'])).size).toBe(6);
    expect(added).toEqual([]);
  });

  it("gives a bundled step that must be retried a job of its own; the bundle's others are not held up", async () => {
    sink.script('/bundled-flaky', [503]);
    await hf.createFlow({
      slug: 'bundled-action',
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'send',
          type: 'action',
          connector: 'http',
          retry: { attempts: 3, backoff: 'fixed', delay: '300ms', maxDelay: '5s' },
          with: { url: `${sink.url}/bundled-flaky`, json: '{{trigger.body}}' },
        },
      ],
    });
    const runIds = await bundledRuns(hf, 'bundled-action', 3);
    const runs = await Promise.all(runIds.map((id) => hf.waitForRun(id)));
    expect(runs.map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    const tries = runs.map((r) => r.steps[0].attempts.map((a: any) => a.responseStatus));
    expect(tries.sort((x, y) => x.length - y.length)).toEqual([[200], [200], [503, 200]]);
    // Its retry: a job of its own, after its backoff, counting the try the bundle made.
    expect(added).toEqual(['send after 1']);
    const received = sink.received('/bundled-flaky');
    expect(received).toHaveLength(4);
    const [failed, ...rest] = received;
    const retry = rest.find((r) => r.headers['idempotency-key'] === failed.headers['idempotency-key'])!;
    expect(retry.at - failed.at).toBeGreaterThanOrEqual(290);
    // The others were not held up by it.
    for (const other of rest.filter((r) => r !== retry)) expect(other.at).toBeLessThan(retry.at);
  });

  it("waits in process for its destination's slots: no job of its own, the cap kept", async () => {
    sink.delay('/bundled-capped', 5);
    const send = (json: string) => ({
      id: 'send',
      type: 'action',
      connector: 'http',
      destination: { concurrency: 2 },
      with: { url: `${sink.url}/bundled-capped`, json },
    });
    await hf.createFlow({
      slug: 'bundled-capped',
      trigger: { type: 'webhook' },
      steps: [send('{{trigger.body}}')],
    });
    // Calls first, one at a time: the gate learns how long this destination holds a slot. Its
    // average starts at the first call (a new connection, slow on a busy machine) and weighs each
    // later call 0.2, so ten bring it down to what a call takes.
    const { hookPath } = await hf.createFlow({
      slug: 'bundled-capped-warm',
      trigger: { type: 'webhook' },
      steps: [send('{}')],
    });
    for (let n = 0; n < 10; n++) {
      const warm = await hf.http().post(hookPath).send({}).expect(202);
      await hf.waitForRun(warm.body.runId);
    }
    added = [];

    const runIds = await bundledRuns(hf, 'bundled-capped', 3);
    const runs = await Promise.all(runIds.map((id) => hf.waitForRun(id)));
    expect(runs.map((r) => [r.status, r.steps[0].attempts.length])).toEqual(
      runIds.map(() => ['succeeded', 1]),
    );
    expect(added).toEqual([]);
    // Two calls at a time: the third arrived once one of the first two had its answer (5 ms later).
    const arrivals = sink
      .received('/bundled-capped')
      .slice(10)
      .map((r) => r.at);
    expect(arrivals).toHaveLength(3);
    arrivals.sort((x, y) => x - y);
    expect(arrivals[2] - arrivals[0]).toBeGreaterThanOrEqual(5);
  });
});
