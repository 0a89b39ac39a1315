import { jest } from '@jest/globals';
import { ConnectorError, type StepDef } from '@hookflow/flows';
import { flowOf, newStepPath } from '../testing/step-path-fakes';

const job = { isLastAttempt: false, leaseMs: 60_000 };

/** `n` transforms one after the other, s0 to s<n-1>. */
function chainOf(n: number): StepDef[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `s${i}`,
    type: 'transform' as const,
    expression: i === 0 ? '{ "i": 0 }' : '{ "i": i + 1 }',
  }));
}

function chainFor(steps: StepDef[]) {
  const path = newStepPath(flowOf('chain', steps));
  path.mocks.store.addRun(path.flow, 'r1');
  return path;
}

describe('InlineChain.runJob', () => {
  it('runs its step, then the steps that become ready one by one in process', async () => {
    const { chain, mocks } = chainFor(chainOf(4));
    await expect(chain.runJob('r1', 's0', job)).resolves.toEqual({ kind: 'done' });
    expect(mocks.store.step('r1', 's3')).toMatchObject({ status: 'succeeded', output: { i: 3 } });
    expect(mocks.store.run('r1').status).toBe('succeeded');
    expect(mocks.queue.added).toEqual([]);
  });

  it('chains at most MAX_INLINE_STEPS (16) after its own; the next one goes to the queue', async () => {
    const { chain, mocks } = chainFor(chainOf(20));
    await chain.runJob('r1', 's0', job);
    expect(mocks.store.step('r1', 's16').status).toBe('succeeded');
    expect(mocks.store.step('r1', 's17')).toMatchObject({ status: 'pending', enqueued: true });
    expect(mocks.queue.stepIds).toEqual(['s17']);
  });

  it('queues the ready steps rather than picking one when more than one became ready', async () => {
    const { chain, mocks } = chainFor([
      { id: 'start', type: 'transform', expression: '$' },
      { id: 'left', type: 'transform', needs: ['start'], expression: '1' },
      { id: 'right', type: 'transform', needs: ['start'], expression: '2' },
    ]);
    await chain.runJob('r1', 'start', job);
    expect(mocks.queue.stepIds).toEqual(['left', 'right']);
  });

  it('runs a respond step in process next even beside other ready steps, and tells the API its answer as soon as it is recorded', async () => {
    const { chain, mocks } = chainFor([
      { id: 'shape', type: 'transform', expression: '{ "id": 7 }' },
      { id: 'audit', type: 'transform', needs: ['shape'], expression: '1' },
      { id: 'reply', type: 'respond', needs: ['shape'], json: { id: '{{steps.shape.id}}' } },
      { id: 'after', type: 'transform', needs: ['reply'], expression: '2' },
    ]);
    const order: string[] = [];
    const record = mocks.store.recordStepEnd.bind(mocks.store);
    jest.spyOn(mocks.store, 'recordStepEnd').mockImplementation(async (end) => {
      const recorded = await record(end);
      order.push(`recorded ${end.stepId}`);
      return recorded;
    });
    const publish = mocks.answers.publish.bind(mocks.answers);
    jest.spyOn(mocks.answers, 'publish').mockImplementation((...args) => {
      order.push(`told ${args[1]}`);
      publish(...args);
    });
    await chain.runJob('r1', 'shape', job);
    expect(mocks.queue.stepIds).toEqual(['audit']);
    expect(order).toEqual(['recorded shape', 'recorded reply', 'told answer', 'recorded after']);
    const answer = {
      status: 200,
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'x-content-type-options': 'nosniff',
        'content-security-policy': 'sandbox',
      },
      body: '{"id":7}',
    };
    expect(mocks.store.step('r1', 'reply')).toMatchObject({ status: 'succeeded', output: answer });
    expect(mocks.answers.published).toEqual([{ runId: 'r1', signal: 'answer', output: answer }]);
  });

  it('tells the API at once that no answer will come when a filter before the respond step stops the run', async () => {
    const { chain, mocks } = chainFor([
      { id: 'shape', type: 'transform', expression: '{ "id": 7 }' },
      { id: 'check', type: 'filter', condition: 'id > 10' },
      { id: 'reply', type: 'respond', body: 'ok' },
    ]);
    await chain.runJob('r1', 'shape', job);
    expect(mocks.store.step('r1', 'reply').status).toBe('skipped');
    expect(mocks.answers.published).toEqual([{ runId: 'r1', signal: 'none', output: expect.anything() }]);
  });

  it('chains nothing once stopChains() was called', async () => {
    const { chain, mocks } = chainFor(chainOf(3));
    chain.stopChains();
    await chain.runJob('r1', 's0', job);
    expect(mocks.store.step('r1', 's1')).toMatchObject({ status: 'pending', enqueued: true });
    expect(mocks.queue.stepIds).toEqual(['s1']);
  });

  it('calls ownStepDone once its own step is over, before any chained step runs', async () => {
    const { chain, mocks } = chainFor(chainOf(2));
    const order: string[] = [];
    const record = mocks.store.recordStepEnd.bind(mocks.store);
    jest.spyOn(mocks.store, 'recordStepEnd').mockImplementation((end) => {
      order.push(`record ${end.stepId}`);
      return record(end);
    });
    await chain.runJob('r1', 's0', { ...job, ownStepDone: () => order.push('own step done') });
    expect(order).toEqual(['own step done', 'record s0', 'record s1']);
  });

  it('gives back a chained step whose end could not be recorded and hands it to the queue', async () => {
    const { chain, mocks } = chainFor(chainOf(3));
    const { store } = mocks;
    const record = store.recordStepEnd.bind(store);
    jest.spyOn(store, 'recordStepEnd').mockImplementation(async (end) => {
      if (end.stepId === 's1') throw new Error('connection lost');
      return record(end);
    });
    await expect(chain.runJob('r1', 's0', job)).resolves.toEqual({ kind: 'done' });
    expect(store.step('r1', 's0').status).toBe('succeeded');
    expect(store.step('r1', 's1')).toMatchObject({ status: 'retrying', held: false, attempts: 1 });
    expect(store.step('r1', 's2').status).toBe('pending');
    expect(mocks.queue.added).toEqual([
      expect.objectContaining({ stepId: 's1', attemptsDone: 1, delayMs: 0 }),
    ]);
  });

  it("gives back its own step's claim when its end could not be recorded, and throws", async () => {
    const { chain, mocks } = chainFor(chainOf(2));
    jest.spyOn(mocks.store, 'recordStepEnd').mockRejectedValueOnce(new Error('connection lost'));
    await expect(chain.runJob('r1', 's0', job)).rejects.toThrow('connection lost');
    expect(mocks.store.step('r1', 's0')).toMatchObject({ status: 'retrying', held: false });
  });

  it('claims a fresh transform again when its run moved after it was read', async () => {
    const { chain, mocks } = chainFor(chainOf(1));
    const { store } = mocks;
    const read = store.readStep.bind(store);
    jest.spyOn(store, 'readStep').mockImplementationOnce(async (runId, stepId) => {
      const step = await read(runId, stepId);
      store.move(runId);
      return step;
    });
    await chain.runJob('r1', 's0', { ...job, fresh: { flowVersionId: 'v1' } });
    expect(store.ends.map((e) => e.unclaimed)).toEqual([true, false]);
    expect(store.step('r1', 's0')).toMatchObject({ status: 'succeeded', attempts: 1 });
  });

  describe('a chained step that needs the queue again', () => {
    const sendAfter = (retry: StepDef['retry']): StepDef[] => [
      { id: 'prep', type: 'transform', expression: '{ "id": 1 }' },
      { id: 'send', type: 'action', connector: 'http', with: { url: 'https://api.example.com/x' }, retry },
    ];

    it('gets a job of its own after its backoff when it failed and may retry', async () => {
      const { chain, mocks } = chainFor(sendAfter({ attempts: 3, backoff: 'fixed', delay: '5s' }));
      mocks.connector.answers.push(() => Promise.reject(new ConnectorError('http_error', 'HTTP 503', true)));
      await expect(chain.runJob('r1', 'prep', job)).resolves.toEqual({ kind: 'done' });
      expect(mocks.store.step('r1', 'send').status).toBe('retrying');
      expect(mocks.queue.added).toEqual([
        expect.objectContaining({ stepId: 'send', attemptsDone: 1, delayMs: 5000 }),
      ]);
    });

    it("waits as long as the receiver's Retry-After asked", async () => {
      const { chain, mocks } = chainFor(sendAfter({ attempts: 3, backoff: 'fixed', delay: '5s' }));
      mocks.connector.answers.push(() =>
        Promise.reject(new ConnectorError('http_error', 'HTTP 429', true, { retryAfterMs: 7000 })),
      );
      await chain.runJob('r1', 'prep', job);
      expect(mocks.queue.added).toEqual([expect.objectContaining({ stepId: 'send', delayMs: 7000 })]);
    });

    it('gets a job of its own for the time a delay step parks', async () => {
      const { chain, mocks } = chainFor([
        { id: 'prep', type: 'transform', expression: '$' },
        { id: 'wait', type: 'delay', for: '1h' },
      ]);
      await chain.runJob('r1', 'prep', job);
      expect(mocks.store.step('r1', 'wait').status).toBe('waiting');
      expect(mocks.queue.added).toEqual([expect.objectContaining({ stepId: 'wait', attemptsDone: 1 })]);
      // untilMs - now, for a delay of an hour.
      expect(mocks.queue.added[0].delayMs).toBeGreaterThan(3_500_000);
      expect(mocks.queue.added[0].delayMs).toBeLessThanOrEqual(3_600_000);
    });

    describe('to a full destination', () => {
      const steps: StepDef[] = [
        { id: 'prep', type: 'transform', expression: '$' },
        { id: 'send', type: 'action', connector: 'http', with: { url: 'https://a.example.com/x' } },
      ];
      const key = 'a.example.com:443';

      /** Turns of the event loop until `done` holds (the chain runs on fake promises only). */
      async function until(done: () => boolean): Promise<void> {
        for (let turn = 0; !done(); turn++) {
          if (turn > 1_000) throw new Error('condition never held');
          await new Promise((resolve) => setImmediate(resolve));
        }
      }

      function fullChain() {
        const path = newStepPath(flowOf('chain', steps), { config: { destinationConcurrency: 1 } });
        path.mocks.store.addRun(path.flow, 'r1');
        const held = path.gate.limiter.tryAcquire(key, { concurrency: 1 });
        if (!held.ok) throw new Error('no slot');
        return { ...path, held };
      }

      it('claims the action with the end before it, then waits in process for the slot', async () => {
        const { chain, mocks, gate, held } = fullChain();
        const job_ = chain.runJob('r1', 'prep', job);
        await until(() => mocks.store.step('r1', 'send').status === 'running');
        expect(mocks.store.step('r1', 'prep').status).toBe('succeeded');
        expect(mocks.connector.calls).toEqual([]);
        held.release();
        await job_;
        expect(mocks.connector.calls).toHaveLength(1);
        expect(mocks.store.step('r1', 'send')).toMatchObject({ status: 'succeeded', attempts: 1 });
        expect(mocks.queue.added).toEqual([]);
        expect(gate.limiter.inFlight(key)).toBe(0);
      });

      it('undoes the claim and queues the step, its attempt uncounted, when no slot frees in time', async () => {
        jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
        try {
          const { chain, mocks } = fullChain();
          const job_ = chain.runJob('r1', 'prep', job);
          await until(() => mocks.store.step('r1', 'send').status === 'running');
          jest.advanceTimersByTime(2_000);
          await job_;
          expect(mocks.connector.calls).toEqual([]);
          expect(mocks.store.step('r1', 'send')).toMatchObject({
            status: 'pending',
            attempts: 0,
            held: false,
          });
          expect(mocks.queue.added).toEqual([expect.objectContaining({ stepId: 'send', attemptsDone: 0 })]);
          expect(mocks.queue.added[0].delayMs).toBeGreaterThanOrEqual(50);
        } finally {
          jest.useRealTimers();
        }
      });
    });

    it('is not chained when its URL must be rendered to know its destination', async () => {
      const { chain, mocks } = chainFor([
        { id: 'prep', type: 'transform', expression: '{ "url": "https://a.example.com/" }' },
        { id: 'send', type: 'action', connector: 'http', with: { url: '{{input.url}}' } },
      ]);
      await chain.runJob('r1', 'prep', job);
      expect(mocks.connector.calls).toEqual([]);
      expect(mocks.queue.stepIds).toEqual(['send']);
    });
  });
});
