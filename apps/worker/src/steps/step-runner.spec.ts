import { jest } from '@jest/globals';
import { ConnectorError, type FlowDefinition } from '@hookflow/flows';
import { flowOf, joinFlow, linearFlow, newStepPath } from '../testing/step-path-fakes';

const LEASE_MS = 60_000;
const refOf = (stepId: string, runId = 'r1', flowVersionId = 'v1') => ({ runId, stepId, flowVersionId });
const serverError = () => Promise.reject(new ConnectorError('http_error', 'HTTP 500', true, { status: 500 }));

const linear = linearFlow;
const join = joinFlow;
const filtered = flowOf('filtered', [
  { id: 'keep', type: 'filter', condition: 'keep = true' },
  { id: 'send', type: 'action', connector: 'http', with: { url: 'https://api.example.com/x' } },
]);
const send = (retry = { attempts: 3 }) =>
  flowOf('send', [
    { id: 'send', type: 'action', connector: 'http', with: { url: 'https://api.example.com/x' }, retry },
  ]);

/** A run of `def` (body `body`) and the runner over it. */
function runnerFor(def: FlowDefinition, body: unknown = { id: 7 }, secrets?: Record<string, string>) {
  const path = newStepPath(def, { secrets });
  path.mocks.store.addRun(path.flow, 'r1', { body });
  /** Claims `stepId` and runs one attempt of it, as a job would. */
  const claimAndRun = async (stepId: string, opts: { isLastAttempt?: boolean; runId?: string } = {}) => {
    const runId = opts.runId ?? 'r1';
    const claimed = await path.runner.claim(path.flow, runId, stepId, LEASE_MS, false);
    if (!claimed) throw new Error(`${stepId} was not claimable`);
    return path.runner.run(path.flow, refOf(stepId, runId), claimed, {
      isLastAttempt: opts.isLastAttempt ?? false,
    });
  };
  return { ...path, claimAndRun };
}

describe('StepRunner.run', () => {
  it('records a success with its attempt and enqueues what became ready', async () => {
    const { claimAndRun, mocks } = runnerFor(linear);
    await expect(claimAndRun('a')).resolves.toMatchObject({ verdict: { kind: 'done' } });
    expect(mocks.store.step('r1', 'a')).toMatchObject({ status: 'succeeded', output: { n: 1 }, held: false });
    expect(mocks.store.run('r1').attempts).toEqual([
      expect.objectContaining({ stepId: 'a', n: 1, outcome: 'succeeded', error: null, responseStatus: null }),
    ]);
    expect(mocks.queue.stepIds).toEqual(['b']);
    await claimAndRun('b');
    expect(mocks.store.step('r1', 'b').output).toEqual({ n: 2 });
    expect(mocks.store.run('r1').status).toBe('succeeded');
  });

  it("gives an any-join the branches that succeeded, from the claim's view or one read of the run", async () => {
    const anyJoin = flowOf('any-join', [
      { id: 'big', type: 'filter', needs: [], condition: 'total >= 100' },
      { id: 'small', type: 'filter', needs: [], condition: 'total < 100' },
      { id: 'both', type: 'transform', needs: ['big', 'small'], join: 'any', expression: '$' },
    ]);
    const { claimAndRun, mocks, runner, flow } = runnerFor(anyJoin, { total: 40 });
    await claimAndRun('big');
    await claimAndRun('small');
    expect(mocks.queue.stepIds).toEqual(['both']);
    await claimAndRun('both');
    expect(mocks.store.step('r1', 'both').output).toEqual({ small: { total: 40 } });

    // A claim without a consistent snapshot: the statuses come from a read of the run.
    mocks.store.addRun(flow, 'r2', { body: { total: 40 } });
    await claimAndRun('big', { runId: 'r2' });
    await claimAndRun('small', { runId: 'r2' });
    const claimed = await runner.claim(flow, 'r2', 'both', LEASE_MS, false);
    const view = jest.spyOn(mocks.store, 'view');
    await runner.run(flow, refOf('both', 'r2'), { ...claimed!, view: undefined }, { isLastAttempt: false });
    expect(view).toHaveBeenCalledWith('r2');
    expect(mocks.store.step('r2', 'both').output).toEqual({ small: { total: 40 } });
  });

  it('records the paths a router took, enqueues what is on them and skips the rest', async () => {
    const routed = flowOf('routed', [
      {
        id: 'route',
        type: 'router',
        paths: [
          { name: 'big', when: 'total >= 100' },
          { name: 'small', when: 'total < 100' },
        ],
      },
      { id: 'sales', type: 'transform', needs: ['route.big'], expression: '"sales"' },
      { id: 'shop', type: 'transform', needs: ['route.small'], expression: '"shop"' },
      { id: 'done', type: 'transform', needs: ['sales', 'shop'], join: 'any', expression: '$' },
    ]);
    const { claimAndRun, mocks } = runnerFor(routed, { total: 150 });
    await claimAndRun('route');
    expect(mocks.store.step('r1', 'route')).toMatchObject({ status: 'succeeded', routes: ['big'] });
    expect(mocks.store.step('r1', 'shop').status).toBe('skipped');
    expect(mocks.queue.stepIds).toEqual(['sales']);
    await claimAndRun('sales');
    expect(mocks.queue.stepIds).toEqual(['sales', 'done']);
    await claimAndRun('done');
    expect(mocks.store.step('r1', 'done').output).toEqual({ sales: 'sales' });
    expect(mocks.store.run('r1').status).toBe('succeeded');
  });

  it('enqueues a join only once both its branches ended', async () => {
    const { claimAndRun, mocks } = runnerFor(join);
    await claimAndRun('start');
    expect(mocks.queue.stepIds).toEqual(['left', 'right']);
    await claimAndRun('left');
    expect(mocks.queue.stepIds).toEqual(['left', 'right']);
    await claimAndRun('right');
    expect(mocks.queue.stepIds).toEqual(['left', 'right', 'both']);
    await claimAndRun('both');
    expect(mocks.store.step('r1', 'both').output).toEqual({ left: 'l', right: 'r' });
    expect(mocks.store.run('r1').status).toBe('succeeded');
  });

  it('skips what follows a filter that drops, and finishes the run as filtered', async () => {
    const { claimAndRun, mocks } = runnerFor(filtered, { keep: false });
    await expect(claimAndRun('keep')).resolves.toMatchObject({ verdict: { kind: 'done' } });
    expect(mocks.store.step('r1', 'keep').status).toBe('filtered');
    expect(mocks.store.step('r1', 'send').status).toBe('skipped');
    expect(mocks.store.run('r1').status).toBe('filtered');
    expect(mocks.queue.added).toEqual([]);
    expect(mocks.connector.calls).toEqual([]);
  });

  it('marks a retryable failure before the budget as retrying and gives the verdict retry with its tries', async () => {
    const { claimAndRun, mocks } = runnerFor(send());
    mocks.connector.answers.push(serverError);
    const { verdict } = await claimAndRun('send');
    expect(verdict).toEqual({
      kind: 'retry',
      tries: 1,
      error: expect.objectContaining({ code: 'http_error' }),
    });
    expect(mocks.store.step('r1', 'send')).toMatchObject({ status: 'retrying', held: false });
    expect(mocks.store.run('r1').attempts).toEqual([
      expect.objectContaining({ n: 1, outcome: 'retrying', responseStatus: 500 }),
    ]);
    expect(mocks.store.run('r1').status).toBe('running');
  });

  it.each([
    ['on the last try of its budget', 2, false],
    ['when the job says it is its last attempt', 0, true],
  ])('fails the step and the run for the same failure %s', async (_when, usedBefore, isLastAttempt) => {
    const { claimAndRun, mocks } = runnerFor(send());
    Object.assign(mocks.store.step('r1', 'send'), { status: 'retrying', attempts: usedBefore });
    mocks.connector.answers.push(serverError);
    const { verdict } = await claimAndRun('send', { isLastAttempt });
    expect(verdict).toEqual({ kind: 'failed', error: expect.objectContaining({ code: 'http_error' }) });
    expect(mocks.store.step('r1', 'send')).toMatchObject({ status: 'failed', attempts: usedBefore + 1 });
    expect(mocks.store.run('r1').status).toBe('failed');
  });

  it('counts the budget from the last retry of the run (attemptBase)', async () => {
    const { claimAndRun, mocks } = runnerFor(send());
    Object.assign(mocks.store.step('r1', 'send'), { status: 'retrying', attempts: 5, attemptsBase: 4 });
    mocks.connector.answers.push(serverError);
    await expect(claimAndRun('send')).resolves.toMatchObject({ verdict: { kind: 'retry', tries: 2 } });
  });

  it.each([
    ['an action past its budget', true, send(), 'send', 3],
    ['an action on its last try', false, send(), 'send', 2],
    ['a transform past its budget and the lost starts it is allowed', true, linear, 'a', 4],
    ['a transform within the lost starts it is allowed', false, linear, 'a', 3],
  ])('%s: attempts_exhausted without executing: %s', async (_what, exhausted, def, stepId, usedBefore) => {
    const { claimAndRun, mocks } = runnerFor(def);
    Object.assign(mocks.store.step('r1', stepId), { status: 'retrying', attempts: usedBefore });
    const { verdict } = await claimAndRun(stepId);
    if (exhausted) {
      expect(verdict).toEqual({
        kind: 'failed',
        error: expect.objectContaining({ code: 'attempts_exhausted' }),
      });
      expect(mocks.connector.calls).toEqual([]);
      expect(mocks.store.step('r1', stepId).status).toBe('failed');
    } else {
      expect(verdict).toEqual({ kind: 'done' });
      expect(mocks.store.step('r1', stepId).status).toBe('succeeded');
    }
  });

  it('parks a delay step, and its resume finishes it', async () => {
    const { claimAndRun, mocks } = runnerFor(
      flowOf('delayed', [
        { id: 'wait', type: 'delay', for: '1h' },
        { id: 'after', type: 'transform', expression: 'id' },
      ]),
    );
    const before = Date.now();
    const { verdict } = await claimAndRun('wait');
    expect(verdict).toMatchObject({ kind: 'park', tries: 1 });
    const untilMs = (verdict as { untilMs: number }).untilMs;
    expect(untilMs - before).toBeGreaterThanOrEqual(3_600_000);
    const step = mocks.store.step('r1', 'wait');
    expect(step).toMatchObject({ status: 'waiting', input: { id: 7 }, held: false });
    expect(step.resumeAt?.getTime()).toBe(untilMs);
    expect(mocks.queue.added).toEqual([]);

    // Its job comes back early: parked again, its first resume time kept.
    await expect(claimAndRun('wait')).resolves.toMatchObject({ verdict: { kind: 'park', tries: 1 } });
    expect(step).toMatchObject({ status: 'waiting', attempts: 1 });
    expect(step.resumeAt?.getTime()).toBe(untilMs);

    step.resumeAt = new Date(Date.now() - 1);
    await expect(claimAndRun('wait')).resolves.toMatchObject({ verdict: { kind: 'done' } });
    expect(step).toMatchObject({ status: 'succeeded', output: { id: 7 }, attempts: 1 });
    expect(mocks.queue.stepIds).toEqual(['after']);
  });

  it('frees the destination slot once the call is over, before the end is recorded', async () => {
    const path = runnerFor(send());
    const { store, connector } = path.mocks;
    const order: string[] = [];
    connector.answers.push(async () => {
      order.push('call');
      return { status: 200 };
    });
    const record = store.recordStepEnd.bind(store);
    jest.spyOn(store, 'recordStepEnd').mockImplementation((end) => {
      order.push('record');
      return record(end);
    });
    const claimed = (await store.claimStep('r1', 'send', LEASE_MS))!;
    await path.runner.run(path.flow, refOf('send'), claimed, {
      isLastAttempt: false,
      releaseSlot: () => order.push('release'),
    });
    expect(order).toEqual(['call', 'release', 'record']);
  });

  describe('secrets', () => {
    const withSecret = flowOf('secret', [
      {
        id: 'send',
        type: 'action',
        connector: 'http',
        with: { url: 'https://api.example.com/x', headers: { authorization: "Bearer {{secret 'TOKEN'}}" } },
      },
    ]);

    it('loads them once and reuses them when passed in for the same flow version', async () => {
      const { runner, flow, mocks } = runnerFor(withSecret, null, { TOKEN: 's3cret' });
      const { store, connector, secretStore } = mocks;
      // The receiver echoes what it got: the secret must not be stored in clear.
      connector.answers.push(async (input) => ({ status: 200, echo: input.headers }));
      const first = await runner.run(flow, refOf('send'), (await store.claimStep('r1', 'send', LEASE_MS))!, {
        isLastAttempt: false,
      });
      expect(secretStore.reads).toBe(1);
      expect(first.secrets).toMatchObject({ flowVersionId: 'v1', values: { TOKEN: 's3cret' } });
      expect(JSON.stringify(store.step('r1', 'send').output)).not.toContain('s3cret');

      store.addRun(flow, 'r2');
      const claimed = (await store.claimStep('r2', 'send', LEASE_MS))!;
      await runner.run(flow, refOf('send', 'r2'), claimed, { isLastAttempt: false, secrets: first.secrets });
      expect(secretStore.reads).toBe(1);
      expect(connector.calls.map((c) => c.input.headers)).toEqual([
        { authorization: 'Bearer s3cret' },
        { authorization: 'Bearer s3cret' },
      ]);
    });

    it('loads them again when passed in for another flow version', async () => {
      const { runner, flow, mocks } = runnerFor(withSecret, null, { TOKEN: 's3cret' });
      const claimed = (await mocks.store.claimStep('r1', 'send', LEASE_MS))!;
      const stale = { flowVersionId: 'v0', values: { TOKEN: 'old' }, redact: <T>(v: T) => v };
      await runner.run(flow, refOf('send'), claimed, { isLastAttempt: false, secrets: stale });
      expect(mocks.secretStore.reads).toBe(1);
      expect(mocks.connector.calls[0].input.headers).toEqual({ authorization: 'Bearer s3cret' });
    });
  });

  describe('an outcome the database refuses', () => {
    const refused = () => Object.assign(new Error('unsupported Unicode escape sequence'), { code: '22P05' });

    it('records outcome_unstorable instead: the step and the run fail', async () => {
      const { claimAndRun, mocks } = runnerFor(linear);
      jest.spyOn(mocks.store, 'recordStepEnd').mockRejectedValueOnce(refused());
      const { verdict } = await claimAndRun('a');
      expect(verdict).toEqual({
        kind: 'failed',
        error: expect.objectContaining({ code: 'outcome_unstorable', retryable: false }),
      });
      expect(mocks.store.step('r1', 'a')).toMatchObject({
        status: 'failed',
        input: null,
        output: null,
        error: expect.objectContaining({ code: 'outcome_unstorable' }),
      });
      expect(mocks.store.step('r1', 'b').status).toBe('skipped');
      expect(mocks.store.run('r1').status).toBe('failed');
      expect(mocks.queue.added).toEqual([]);
    });

    it('throws the first error when the failure cannot be stored either', async () => {
      const { claimAndRun, mocks } = runnerFor(linear);
      const first = refused();
      jest
        .spyOn(mocks.store, 'recordStepEnd')
        .mockRejectedValueOnce(first)
        .mockRejectedValueOnce(new Error('connection lost'));
      await expect(claimAndRun('a')).rejects.toBe(first);
    });

    it('throws an error that is not about the data', async () => {
      const { claimAndRun, mocks } = runnerFor(linear);
      jest.spyOn(mocks.store, 'recordStepEnd').mockRejectedValueOnce(new Error('connection lost'));
      await expect(claimAndRun('a')).rejects.toThrow('connection lost');
      expect(mocks.store.ends).toHaveLength(0);
    });
  });
});

describe('StepRunner.claim', () => {
  it('only reads a fresh transform, and claims an action', async () => {
    const { runner, flow, mocks } = runnerFor(
      flowOf('mixed', [
        { id: 'shape', type: 'transform', expression: '$' },
        { id: 'send', type: 'action', connector: 'http', needs: [], with: { url: 'https://a.example.com/' } },
      ]),
    );
    const read = await runner.claim(flow, 'r1', 'shape', LEASE_MS, true);
    expect(read?.unclaimed).toEqual({ status: 'pending', attempts: 0 });
    expect(mocks.store.step('r1', 'shape').status).toBe('pending');
    const claimed = await runner.claim(flow, 'r1', 'send', LEASE_MS, true);
    expect(claimed?.unclaimed).toBeUndefined();
    expect(mocks.store.step('r1', 'send')).toMatchObject({ status: 'running', attempts: 1 });
  });
});

describe('StepRunner.giveBack', () => {
  it('does nothing for a step read without a claim', async () => {
    const { runner, flow, mocks } = runnerFor(linear);
    const release = jest.spyOn(mocks.store, 'releaseClaim');
    const read = (await runner.claim(flow, 'r1', 'a', LEASE_MS, true))!;
    await runner.giveBack(refOf('a'), read);
    expect(release).not.toHaveBeenCalled();
    expect(mocks.store.step('r1', 'a').status).toBe('pending');
  });

  it('gives a claim back for the next try to take at once', async () => {
    const { runner, flow, mocks } = runnerFor(linear);
    const claimed = (await runner.claim(flow, 'r1', 'a', LEASE_MS, false))!;
    await runner.giveBack(refOf('a'), claimed);
    expect(mocks.store.step('r1', 'a')).toMatchObject({ status: 'retrying', held: false, attempts: 1 });
  });
});
