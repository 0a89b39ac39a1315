import { jest } from '@jest/globals';
import { ConnectorError } from '@hookflow/flows';
import { stepJob, type StepJobData } from '@hookflow/queue';
import { flowOf, newStepPath } from '../testing/step-path-fakes';

const sendFlow = flowOf('bundle', [
  {
    id: 'send',
    type: 'action',
    connector: 'http',
    with: { url: 'https://api.example.com/x' },
    retry: { attempts: 3, backoff: 'fixed', delay: '2s' },
  },
]);

/** Runs r1..r<n> of the flow, and the bundle job's data for their first step. */
function bundleOf(n: number) {
  const path = newStepPath(sendFlow);
  const data: StepJobData[] = [];
  for (let i = 1; i <= n; i++) {
    path.mocks.store.addRun(path.flow, `r${i}`);
    const policy = path.flow.retryPolicy('send');
    const timeoutMs = path.flow.timeoutMs('send');
    data.push(stepJob(`r${i}`, 'send', { policy, timeoutMs, flowVersionId: 'v1' }).data);
  }
  return { ...path, data };
}

describe('BundledSteps.run', () => {
  it('runs its steps side by side', async () => {
    const { bundled, mocks, data } = bundleOf(2);
    const events: string[] = [];
    const answer = (call: string) => async () => {
      events.push(`start ${call}`);
      // Past every pending microtask: a step run after the other would start only after this one ends.
      await new Promise((resolve) => setImmediate(resolve));
      events.push(`end ${call}`);
      return { status: 200 };
    };
    mocks.connector.answers.push(answer('a'), answer('b'));
    await bundled.run(data, false);
    expect(events).toEqual(['start a', 'start b', 'end a', 'end b']);
    expect(mocks.store.run('r1').status).toBe('succeeded');
    expect(mocks.store.run('r2').status).toBe('succeeded');
  });

  it('sends a step whose destination is at its cap to the queue for later, using no attempt', async () => {
    const { bundled, gate, mocks, data } = bundleOf(2);
    jest.spyOn(gate, 'admit').mockResolvedValueOnce({ go: false, retryInMs: 250 });
    await bundled.run(data, false);
    expect(mocks.store.step('r1', 'send')).toMatchObject({ status: 'pending', attempts: 0 });
    expect(mocks.queue.added).toEqual([
      expect.objectContaining({ runId: 'r1', stepId: 'send', attemptsDone: 0, delayMs: 250 }),
    ]);
    expect(mocks.store.step('r2', 'send').status).toBe('succeeded');
    expect(mocks.connector.calls).toHaveLength(1);
  });

  it('re-queues a step whose attempt threw after its backoff, with its claim given back and its slot freed', async () => {
    const { bundled, gate, mocks, data } = bundleOf(1);
    jest.spyOn(mocks.store, 'recordStepEnd').mockRejectedValueOnce(new Error('connection lost'));
    await bundled.run(data, false);
    expect(mocks.store.step('r1', 'send')).toMatchObject({ status: 'retrying', held: false, attempts: 1 });
    expect(mocks.queue.added).toEqual([
      expect.objectContaining({ runId: 'r1', stepId: 'send', attemptsDone: 1, delayMs: 2000 }),
    ]);
    expect(gate.limiter.inFlight('api.example.com:443')).toBe(0);
  });

  it('gives a retryable failure a job of its own after its backoff', async () => {
    const { bundled, mocks, data } = bundleOf(1);
    mocks.connector.answers.push(() => Promise.reject(new ConnectorError('http_error', 'HTTP 503', true)));
    await bundled.run(data, false);
    expect(mocks.queue.added).toEqual([
      expect.objectContaining({ stepId: 'send', attemptsDone: 1, delayMs: 2000 }),
    ]);
  });

  it.each([
    ['a step without its flow version', (d: StepJobData) => ({ ...d, flowVersionId: undefined })],
    ['a flow version that does not exist', (d: StepJobData) => ({ ...d, flowVersionId: 'v404' })],
  ])('never throws, even for %s', async (_what, change) => {
    const { bundled, mocks, data } = bundleOf(2);
    await expect(bundled.run([change(data[0]), data[1]], false)).resolves.toHaveLength(2);
    expect(mocks.store.step('r1', 'send').status).toBe('pending');
    expect(mocks.store.step('r2', 'send').status).toBe('succeeded');
  });

  it('never throws when not even a job of its own can be made', async () => {
    const { bundled, mocks, data } = bundleOf(1);
    jest.spyOn(mocks.store, 'recordStepEnd').mockRejectedValueOnce(new Error('connection lost'));
    jest.spyOn(mocks.queue, 'add').mockRejectedValueOnce(new Error('redis down'));
    await expect(bundled.run(data, false)).resolves.toHaveLength(1);
  });

  it('reads a fresh first transform rather than claiming it, on the bundle job’s first try only', async () => {
    const path = newStepPath(flowOf('fresh', [{ id: 'shape', type: 'transform', expression: '$' }]));
    const { store } = path.mocks;
    store.addRun(path.flow, 'r1');
    store.addRun(path.flow, 'r2');
    const claims = jest.spyOn(store, 'claimStep');
    const policy = path.flow.retryPolicy('shape');
    const jobOf = (runId: string, attemptsDone = 0) =>
      stepJob(runId, 'shape', { policy, timeoutMs: 30_000, flowVersionId: 'v1' }, attemptsDone).data;
    await path.bundled.run([jobOf('r1'), jobOf('r2', 1)], true);
    expect(claims.mock.calls.map(([runId]) => runId)).toEqual(['r2']);
    expect(store.run('r1').status).toBe('succeeded');
    expect(store.run('r2').status).toBe('succeeded');
  });
});
