import type { HookflowConfig, WorkerMetrics } from '@hookflow/platform';
import type { StaleStep, StepTransitions } from '@hookflow/store';
import { StepQueue, type QueueConnectionState } from '@hookflow/queue';
import type { Queue } from 'bullmq';
import { RunProgress } from '../runs/run-progress';
import type { CompiledFlowCache } from '../steps/compiled-flow-cache';
import { MAX_REQUEUES, Reconciler } from './reconciler';

/** A reconciler over fakes: one stale step whose job is in `jobState` (BullMQ's name); the queue takes adds or not. */
function reconcilerWith(jobState: string, requeues = 0, queueTakes = true, redisUp = true) {
  const step: StaleStep = { runId: 'run-1', stepId: 'send', attempts: 1, requeues, flowVersionId: 'v1' };
  const touched: { runId: string; stepId: string; requeued?: boolean }[][] = [];
  const enqueued: string[][] = [];
  const abandoned: string[] = [];
  const runs = {
    findStaleSteps: async () => [step],
    touchEnqueued: async (steps: { runId: string; stepId: string; requeued?: boolean }[]) => {
      touched.push(steps);
    },
    view: async () => ({
      version: 3,
      status: 'running',
      steps: { send: { status: 'pending', attempts: 1, enqueued: true, held: false } },
    }),
    recordStepEnd: async (end: { stepId: string }) => {
      abandoned.push(end.stepId);
      return { recorded: true, runStatus: 'failed', output: null };
    },
  } as unknown as StepTransitions;
  const flows = {
    get: async () => ({ graph: { settle: () => ({ ready: [], skip: [], runStatus: 'failed' }) } }),
  };
  // Giving a step up is RunProgress's own (the way any unclaimed step is failed), over the fake runs.
  const real = new RunProgress(runs, { add: async () => true } as unknown as StepQueue, {} as never);
  const progress = {
    enqueue: async (_flow: unknown, _ref: unknown, ids: string[]) => {
      if (queueTakes) enqueued.push(ids);
      return queueTakes;
    },
    failUnclaimed: real.failUnclaimed.bind(real),
  } as unknown as RunProgress;
  const metrics = { reconcilerReenqueued: { inc: () => undefined } } as unknown as WorkerMetrics;
  const asked: string[] = [];
  const queue = new StepQueue({
    getJobs: async () => [],
    getJobState: async (jobId: string) => {
      asked.push(jobId);
      return jobState;
    },
    remove: async () => 1,
  } as unknown as Queue);
  const config = { reconcileStaleMs: 1000, reconcileIntervalMs: 1000 } as HookflowConfig;
  const connection = { up: redisUp } as QueueConnectionState;
  const sut = new Reconciler(
    runs,
    flows as unknown as CompiledFlowCache,
    progress,
    metrics,
    queue,
    connection,
    config,
  );
  return { sut, touched, enqueued, abandoned, asked };
}

describe('Reconciler', () => {
  it.each([
    ['the queue lost (unknown)', 'unknown', false],
    ['that failed', 'failed', true],
    ['that completed', 'completed', true],
  ])(
    're-enqueues a step whose job is one %s, counting it against MAX_REQUEUES: %s',
    async (_what, state, counted) => {
      const { sut, touched, enqueued } = reconcilerWith(state);
      await expect(sut.reconcileOnce()).resolves.toBe(1);
      expect(enqueued).toEqual([['send']]);
      expect(touched).toEqual([[expect.objectContaining({ stepId: 'send', requeued: counted })]]);
    },
  );

  it('counts a re-enqueue the queue did not take neither as done nor against MAX_REQUEUES: an outage is not the step to blame', async () => {
    const { sut, touched, enqueued } = reconcilerWith('unknown', 0, false);
    await expect(sut.reconcileOnce()).resolves.toBe(0);
    expect(enqueued).toEqual([]);
    expect(touched).toEqual([[expect.objectContaining({ stepId: 'send', requeued: false })]]);
  });

  it('counts a step whose job finished against MAX_REQUEUES even when the queue did not take it again', async () => {
    const { sut, touched } = reconcilerWith('failed', 0, false);
    await expect(sut.reconcileOnce()).resolves.toBe(0);
    expect(touched).toEqual([[expect.objectContaining({ stepId: 'send', requeued: true })]]);
  });

  it('with Redis down, asks the queue nothing and touches nothing', async () => {
    const { sut, touched, enqueued, asked } = reconcilerWith('unknown', 0, true, false);
    await expect(sut.reconcileOnce()).resolves.toBe(0);
    expect(asked).toEqual([]);
    expect(enqueued).toEqual([]);
    expect(touched).toEqual([]);
  });

  it('leaves a step alone while its job is alive', async () => {
    const { sut, enqueued, touched } = reconcilerWith('delayed');
    await expect(sut.reconcileOnce()).resolves.toBe(0);
    expect(enqueued).toEqual([]);
    expect(touched).toEqual([[expect.objectContaining({ requeued: false })]]);
  });

  it('gives a step up once its re-enqueues reached MAX_REQUEUES', async () => {
    const { sut, enqueued, abandoned } = reconcilerWith('failed', MAX_REQUEUES);
    await sut.reconcileOnce();
    expect(abandoned).toEqual(['send']);
    expect(enqueued).toEqual([]);
  });
});
