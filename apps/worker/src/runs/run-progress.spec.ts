import { jest } from '@jest/globals';
import type { ClaimedStep, StepResult } from '@hookflow/store';
import { joinFlow, linearFlow, newStepPath } from '../testing/step-path-fakes';
import { StepMovedError, type PickNext } from './run-progress';

const linear = linearFlow;
const join = joinFlow;

const succeeded = (output: unknown = { n: 1 }): StepResult => ({
  status: 'succeeded',
  input: null,
  output,
  error: null,
});
const ref = (stepId: string, runId = 'r1') => ({ runId, stepId, flowVersionId: 'v1' });
const attemptOf = (claimed: ClaimedStep) => ({
  n: claimed.attempt,
  startedAt: new Date(),
  durationMs: 1,
  outcome: 'succeeded' as const,
  error: null,
  responseStatus: null,
});

/** A run of `def` with `stepId` claimed, as a job would hold it. */
async function claimedRun(def = linear, stepId = 'a') {
  const path = newStepPath(def);
  path.mocks.store.addRun(path.flow, 'r1');
  const claimed = (await path.mocks.store.claimStep('r1', stepId, 60_000))!;
  return { ...path, claimed };
}

describe('RunProgress.stepEnded', () => {
  it("records the end on the claim's own view and hands what became ready to the queue", async () => {
    const { progress, flow, claimed, mocks } = await claimedRun();
    const view = jest.spyOn(mocks.store, 'view');
    const outcome = await progress.stepEnded(flow, ref('a'), claimed, succeeded(), attemptOf(claimed));
    expect(outcome).toEqual({ recorded: true, ready: ['b'], runStatus: null });
    // No second read: the claim's snapshot was current.
    expect(view).not.toHaveBeenCalled();
    expect(mocks.store.ends.map((e) => e.version)).toEqual([claimed.view!.version]);
    expect(mocks.store.step('r1', 'a')).toMatchObject({ status: 'succeeded', output: { n: 1 } });
    expect(mocks.store.step('r1', 'b')).toMatchObject({ status: 'pending', enqueued: true });
    expect(mocks.store.run('r1').attempts).toEqual([expect.objectContaining({ stepId: 'a', n: 1 })]);
  });

  it('hands the queue jobs with the steps’ own retry schedule and timeout', async () => {
    const { progress, flow, claimed, mocks } = await claimedRun(join, 'start');
    await progress.stepEnded(flow, ref('start'), claimed, succeeded(), attemptOf(claimed));
    const job = (stepId: string) => ({
      runId: 'r1',
      stepId,
      flowVersionId: 'v1',
      policy: { attempts: 1, backoff: 'exponential', delayMs: 1000, maxDelayMs: 3_600_000 },
      timeoutMs: 30_000,
    });
    expect(mocks.queue.added).toEqual([job('left'), job('right')]);
  });

  it('when the run moved since the view, decides again on a view read under the run lock', async () => {
    const { progress, flow, mocks } = await claimedRun(join, 'start');
    const { store } = mocks;
    store.run('r1').steps.start.status = 'succeeded';
    Object.assign(store.step('r1', 'left'), { enqueued: true });
    Object.assign(store.step('r1', 'right'), { enqueued: true });
    const left = (await store.claimStep('r1', 'left', 60_000))!;
    // `right` ends meanwhile: on the claim's view `both` still waits for it.
    const right = (await store.claimStep('r1', 'right', 60_000))!;
    await progress.stepEnded(flow, ref('right'), right, succeeded('r'), attemptOf(right));
    expect(mocks.queue.stepIds).toEqual([]);

    const outcome = await progress.stepEnded(flow, ref('left'), left, succeeded('l'), attemptOf(left));
    expect(store.ends.filter((e) => e.stepId === 'left').map((e) => e.transition.enqueue)).toEqual([
      [],
      ['both'],
    ]);
    expect(outcome).toMatchObject({ recorded: true, ready: ['both'] });
    expect(mocks.queue.stepIds).toEqual(['both']);
    // The second decision was made with the run locked.
    expect(store.locks).toEqual(['r1']);
  });

  it('decides again under the run lock once the run moved, and gives up if even that write is refused', async () => {
    const { progress, flow, claimed, mocks } = await claimedRun();
    const { store } = mocks;
    const lock = store.lockRun.bind(store);
    // A store whose lock does not hold: the run moves between the locked read and the write.
    jest.spyOn(store, 'lockRun').mockImplementation(async (runId) => {
      const locked = await lock(runId);
      store.move(runId);
      return locked;
    });
    store.move('r1');
    await expect(
      progress.stepEnded(flow, ref('a'), claimed, succeeded(), attemptOf(claimed)),
    ).rejects.toThrow('kept moving');
    expect(store.locks).toEqual(['r1']);
    expect(store.ends).toHaveLength(2);
    expect(store.step('r1', 'a').status).toBe('running');
    expect(mocks.queue.added).toEqual([]);
  });

  it('drops the result of an attempt a later claim took over (not-held)', async () => {
    const { progress, flow, claimed, mocks } = await claimedRun();
    const { store } = mocks;
    // The lease lapsed and another worker claimed the step again.
    store.step('r1', 'a').held = false;
    await store.claimStep('r1', 'a', 60_000);
    const outcome = await progress.stepEnded(flow, ref('a'), claimed, succeeded(), attemptOf(claimed));
    expect(outcome).toEqual({ recorded: false, ready: [], runStatus: null });
    expect(store.ends).toHaveLength(1);
    expect(store.step('r1', 'a')).toMatchObject({ status: 'running', attempts: 2 });
    expect(mocks.queue.added).toEqual([]);
  });

  it('throws StepMovedError for a step read without a claim whose run moved, and writes nothing', async () => {
    const path = newStepPath(linear);
    const { store } = path.mocks;
    store.addRun(path.flow, 'r1');
    const read = (await store.readStep('r1', 'a'))!;
    store.move('r1');
    await expect(
      path.progress.stepEnded(path.flow, ref('a'), read, succeeded(), attemptOf(read)),
    ).rejects.toBeInstanceOf(StepMovedError);
    expect(store.ends).toHaveLength(1);
    expect(store.step('r1', 'a')).toMatchObject({ status: 'pending', attempts: 0 });
  });

  it('claims the picked step in the same write and hands it over with a claim as a fresh one would read', async () => {
    const { progress, flow, claimed, mocks } = await claimedRun();
    const release = jest.fn();
    const pick = jest.fn<PickNext>(async (ready) => ({ stepId: ready[0], leaseMs: 60_000, release }));
    const outcome = await progress.stepEnded(flow, ref('a'), claimed, succeeded(), attemptOf(claimed), pick);
    expect(pick).toHaveBeenCalledWith(['b']);
    expect(outcome.next?.stepId).toBe('b');
    expect(outcome.next?.release).toBe(release);
    expect(release).not.toHaveBeenCalled();
    expect(mocks.queue.added).toEqual([]);
    expect(outcome.next!.claimed).toMatchObject({ attempt: 1, attemptBase: 0, outputs: { a: { n: 1 } } });
    // The next step's end is decided on this view: it must be the store's, version and all.
    expect(outcome.next!.claimed.view).toEqual(await mocks.store.view('r1'));
  });

  it("offers pickNext only on the claim's own view: on a re-read view, what became ready goes to the queue", async () => {
    const { progress, flow, claimed, mocks } = await claimedRun();
    mocks.store.move('r1');
    const release = jest.fn();
    const pick = jest.fn<PickNext>(async (ready) => ({ stepId: ready[0], leaseMs: 60_000, release }));
    const outcome = await progress.stepEnded(flow, ref('a'), claimed, succeeded(), attemptOf(claimed), pick);
    expect(pick).toHaveBeenCalledTimes(1);
    expect(release).toHaveBeenCalledTimes(1);
    expect(outcome.next).toBeUndefined();
    expect(mocks.store.ends.map((e) => e.next?.stepId)).toEqual(['b', undefined]);
    expect(mocks.queue.stepIds).toEqual(['b']);
  });

  it('never offers pickNext without a claim view (an inconsistent snapshot)', async () => {
    const { progress, flow, claimed, mocks } = await claimedRun();
    const pick = jest.fn<PickNext>(async () => null);
    await progress.stepEnded(flow, ref('a'), { ...claimed, view: undefined }, succeeded(), null, pick);
    expect(pick).not.toHaveBeenCalled();
    expect(mocks.queue.stepIds).toEqual(['b']);
  });

  it('releases a picked step the write did not claim, touches it as enqueued and queues it with the rest', async () => {
    const { progress, flow, claimed, mocks } = await claimedRun(join, 'start');
    const { store } = mocks;
    const write = store.recordStepEnd.bind(store);
    // The write claims nothing (the step was no longer pending by then).
    jest.spyOn(store, 'recordStepEnd').mockImplementation((end) => write({ ...end, next: undefined }));
    const touch = jest.spyOn(store, 'touchEnqueued');
    const release = jest.fn();
    const pick: PickNext = async () => ({ stepId: 'left', leaseMs: 60_000, release });
    const outcome = await progress.stepEnded(
      flow,
      ref('start'),
      claimed,
      succeeded(),
      attemptOf(claimed),
      pick,
    );
    expect(outcome.next).toBeUndefined();
    expect(release).toHaveBeenCalledTimes(1);
    expect(touch).toHaveBeenCalledWith([{ runId: 'r1', stepId: 'left' }]);
    expect(mocks.queue.stepIds.sort()).toEqual(['left', 'right']);
  });

  it('lets a cancelled run take the end alone: nothing is enqueued or claimed, a pick is released', async () => {
    const { progress, flow, claimed, mocks } = await claimedRun();
    const { store } = mocks;
    store.run('r1').status = 'cancelled';
    store.move('r1');
    const release = jest.fn();
    const pick: PickNext = async () => ({ stepId: 'b', leaseMs: 60_000, release });
    const outcome = await progress.stepEnded(flow, ref('a'), claimed, succeeded(), attemptOf(claimed), pick);
    expect(outcome).toEqual({ recorded: true, ready: [], runStatus: 'cancelled' });
    expect(release).toHaveBeenCalledTimes(1);
    expect(store.step('r1', 'a').status).toBe('succeeded');
    expect(store.step('r1', 'b')).toMatchObject({ status: 'pending', enqueued: false, attempts: 0 });
    expect(mocks.queue.added).toEqual([]);
  });

  it('releases a picked step when the write throws', async () => {
    const { progress, flow, claimed, mocks } = await claimedRun();
    jest.spyOn(mocks.store, 'recordStepEnd').mockRejectedValueOnce(new Error('connection lost'));
    const release = jest.fn();
    const pick: PickNext = async () => ({ stepId: 'b', leaseMs: 60_000, release });
    await expect(
      progress.stepEnded(flow, ref('a'), claimed, succeeded(), attemptOf(claimed), pick),
    ).rejects.toThrow('connection lost');
    expect(release).toHaveBeenCalledTimes(1);
  });
});

describe('RunProgress.later', () => {
  it('gives one step a job of its own with the attempts it used and its delay', async () => {
    const { progress, flow, mocks } = await claimedRun();
    await expect(progress.later(flow, ref('b'), 2, 1500)).resolves.toBe(true);
    expect(mocks.queue.added).toEqual([
      expect.objectContaining({ runId: 'r1', stepId: 'b', attemptsDone: 2, delayMs: 1500 }),
    ]);
  });
});
