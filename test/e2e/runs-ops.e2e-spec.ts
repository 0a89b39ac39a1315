import { STEP_QUEUE, stepJob, stepJobId } from '@hookflow/queue';
import { StepGraph } from '@hookflow/flows';
import { StepTransitions } from '@hookflow/store';
import { Queue } from 'bullmq';
import { HookflowHarness } from '../utils/hookflow-harness';
import { SinkServer } from '../utils/sink-server';
import { stepEnds, type EndStep } from '../utils/step-ends';
import { waitFor } from '../utils/wait-for';

/** Operations on runs: retry in place, replay as a new run, cancel, and bulk retry. */
describe('run operations (retry, replay, cancel, bulk retry)', () => {
  let hf: HookflowHarness;
  let sink: SinkServer;
  let queue: Queue;

  beforeAll(async () => {
    sink = await SinkServer.start();
    hf = await HookflowHarness.start();
    queue = new Queue(STEP_QUEUE, {
      connection: { url: hf.config.redisUrl } as never,
      prefix: hf.config.queuePrefix,
    });
  });

  afterAll(async () => {
    await queue?.close();
    await hf?.close();
    await sink?.close();
  });

  const post = (path: string, body?: object) => {
    const req = hf.http().post(path).set(hf.auth);
    return body ? req.send(body) : req;
  };

  const action = (id: string, path: string, extra: Record<string, unknown> = {}) => ({
    id,
    type: 'action',
    connector: 'http',
    with: { url: `${sink.url}${path}`, json: '{{input}}' },
    ...extra,
  });

  async function failedRun(slug: string, steps: unknown[], payload: object = {}): Promise<string> {
    const { hookPath } = await hf.createFlow({ slug, trigger: { type: 'webhook' }, steps });
    const { body } = await hf.http().post(hookPath).send(payload).expect(202);
    return body.runId;
  }

  describe('retry', () => {
    it('resumes a failed fan-out without repeating the branch that succeeded', async () => {
      sink.script('/fan-b', [503, 400]);
      const runId = await failedRun('retry-fanout', [
        { id: 'order', type: 'transform', expression: '{ "id": id }' },
        action('a', '/fan-a', { needs: ['order'] }),
        action('b', '/fan-b', { needs: ['order'], retry: { attempts: 2, backoff: 'fixed', delay: '10ms' } }),
        action('after', '/fan-after', { needs: ['a', 'b'] }),
      ]);
      const failed = await hf.waitForRun(runId);
      expect(failed.status).toBe('failed');
      expect(failed.steps.map((s: any) => [s.id, s.status])).toEqual([
        ['order', 'succeeded'],
        ['a', 'succeeded'],
        ['b', 'failed'],
        ['after', 'skipped'],
      ]);

      // At once, while BullMQ may still be booking the failed job: its id must be freed for the new one.
      const res = await post(`/api/runs/${runId}/retry`).expect(202);
      expect(res.body).toEqual({ runId, retried: ['b', 'after'] });

      const run = await hf.waitForRun(runId);
      expect(run.status).toBe('succeeded');
      expect(run.originRunId).toBeNull();
      expect(run.steps.map((s: any) => s.status)).toEqual([
        'succeeded',
        'succeeded',
        'succeeded',
        'succeeded',
      ]);
      expect(sink.received('/fan-a')).toHaveLength(1);
      expect(sink.received('/fan-b')).toHaveLength(3);
      expect(sink.received('/fan-after')).toHaveLength(1);
      // A fresh budget of 2 tries after the retry, and attempt numbers that keep counting.
      const b = run.steps.find((s: any) => s.id === 'b');
      expect(b.attempts.map((x: any) => [x.n, x.outcome, x.responseStatus])).toEqual([
        [1, 'retrying', 503],
        [2, 'failed', 400],
        [3, 'succeeded', 200],
      ]);
      expect(b.error).toBeNull();
      expect(run.steps[1].attempts).toHaveLength(1);
    });

    it('leaves steps skipped behind a filter skipped', async () => {
      sink.script('/filtered-y', [400]);
      const runId = await failedRun('retry-filter', [
        { id: 't', type: 'transform', expression: '$' },
        { id: 'f', type: 'filter', condition: 'false', needs: ['t'] },
        action('x', '/filtered-x', { needs: ['f'] }),
        action('y', '/filtered-y', { needs: ['t'] }),
      ]);
      expect((await hf.waitForRun(runId)).status).toBe('failed');

      const res = await post(`/api/runs/${runId}/retry`).expect(202);
      expect(res.body.retried).toEqual(['y']);
      const run = await hf.waitForRun(runId);
      expect(run.status).toBe('succeeded');
      expect(run.steps.map((s: any) => [s.id, s.status])).toEqual([
        ['t', 'succeeded'],
        ['f', 'filtered'],
        ['x', 'skipped'],
        ['y', 'succeeded'],
      ]);
      expect(sink.received('/filtered-x')).toHaveLength(0);
    });

    it('answers 409 for a run that is not failed or cancelled, and 404 for an unknown run', async () => {
      const { hookPath } = await hf.createFlow({
        slug: 'retry-ok',
        trigger: { type: 'webhook' },
        steps: [action('send', '/retry-ok')],
      });
      const { body } = await hf.http().post(hookPath).send({}).expect(202);
      expect((await hf.waitForRun(body.runId)).status).toBe('succeeded');

      const conflict = await post(`/api/runs/${body.runId}/retry`).expect(409);
      expect(conflict.body).toMatchObject({
        error: 'conflict',
        message: expect.stringContaining('succeeded'),
      });
      await post(`/api/runs/00000000-0000-4000-8000-000000000000/retry`).expect(404);
      await post(`/api/runs/not-a-run/retry`).expect(404);
      await hf.http().post(`/api/runs/${body.runId}/retry`).expect(401);
      expect(sink.received('/retry-ok')).toHaveLength(1);
    });
  });

  describe('replay', () => {
    it('makes a new run from the same event, on the pinned or the latest version', async () => {
      const v1 = { slug: 'replayed', trigger: { type: 'webhook' }, steps: [action('send', '/replay-v1')] };
      const { hookPath } = await hf.createFlow(v1);
      const accepted = await hf.http().post(hookPath).send({ n: 7 }).expect(202);
      const source = await hf.waitForRun(accepted.body.runId);
      expect(source.status).toBe('succeeded');

      const again = await post(`/api/runs/${source.id}/replay`).expect(202);
      expect(again.body).toEqual({ runId: expect.any(String) });
      expect(again.body.runId).not.toBe(source.id);
      const replayed = await hf.waitForRun(again.body.runId);
      expect(replayed).toMatchObject({ status: 'succeeded', originRunId: source.id, version: 1 });
      expect(replayed.event.id).toBe(source.event.id);
      const received = await sink.waitForRequests('/replay-v1', 2);
      expect(received.map((r) => r.json)).toEqual([{ n: 7 }, { n: 7 }]);

      await hf
        .http()
        .put('/api/flows/replayed')
        .set(hf.auth)
        .send({ ...v1, steps: [action('send', '/replay-v2')] })
        .expect(200);
      const latest = await post(`/api/runs/${source.id}/replay?version=latest`).expect(202);
      expect(await hf.waitForRun(latest.body.runId)).toMatchObject({
        status: 'succeeded',
        originRunId: source.id,
        version: 2,
      });
      expect((await sink.waitForRequests('/replay-v2', 1))[0].json).toEqual({ n: 7 });

      const pinned = await post(`/api/runs/${source.id}/replay?version=pinned`).expect(202);
      expect(await hf.waitForRun(pinned.body.runId)).toMatchObject({ status: 'succeeded', version: 1 });
      await sink.waitForRequests('/replay-v1', 3);
      expect(sink.received('/replay-v2')).toHaveLength(1);

      const bad = await post(`/api/runs/${source.id}/replay?version=2`).expect(400);
      expect(bad.body.details).toEqual([{ path: '/version', message: expect.any(String) }]);
      await post(`/api/runs/00000000-0000-4000-8000-000000000000/replay`).expect(404);
    });

    it('refuses to replay runs of a disabled or deleted flow, saying why', async () => {
      const { hookPath } = await hf.createFlow({
        slug: 'replay-off',
        trigger: { type: 'webhook' },
        steps: [action('send', '/replay-off')],
      });
      const { body } = await hf.http().post(hookPath).send({}).expect(202);
      await hf.waitForRun(body.runId);

      await hf.http().patch('/api/flows/replay-off').set(hf.auth).send({ enabled: false }).expect(200);
      const disabled = await post(`/api/runs/${body.runId}/replay`).expect(409);
      expect(disabled.body).toMatchObject({
        error: 'flow_disabled',
        message: expect.stringContaining('disabled'),
      });

      await hf.http().delete('/api/flows/replay-off').set(hf.auth).expect(204);
      const deleted = await post(`/api/runs/${body.runId}/replay`).expect(409);
      expect(deleted.body).toMatchObject({ error: 'conflict', message: expect.stringContaining('deleted') });
      expect(sink.received('/replay-off')).toHaveLength(1);
    });
  });

  describe('cancel', () => {
    const slowRetry = { attempts: 5, backoff: 'fixed', delay: '3s' };

    it('stops a delayed retry: the receiver is not called again and the run stays cancelled', async () => {
      sink.script('/cancel-me', [503]);
      sink.script('/cancel-control', [503]);
      const runId = await failedRun('cancel-me', [action('send', '/cancel-me', { retry: slowRetry })]);
      await sink.waitForRequests('/cancel-me', 1);
      await waitFor(async () => (await hf.getRun(runId)).steps[0].status === 'retrying', {
        what: 'the step to wait for its retry',
      });
      // A run that is not cancelled, started after the one that is, with the same delay: once its
      // retry has run, the cancelled run's retry would have run too.
      const controlId = await failedRun('cancel-control', [
        action('send', '/cancel-control', { retry: slowRetry }),
      ]);

      const res = await post(`/api/runs/${runId}/cancel`).expect(200);
      expect(res.body).toEqual({ runId, status: 'cancelled' });
      const cancelled = await hf.getRun(runId);
      expect(cancelled.status).toBe('cancelled');
      expect(cancelled.finishedAt).toEqual(expect.any(String));
      expect(cancelled.steps[0].status).toBe('cancelled');
      expect(await queue.getJobState(stepJobId(runId, 'send'))).toBe('unknown');

      expect((await hf.waitForRun(controlId, 20_000)).status).toBe('succeeded');
      expect(sink.received('/cancel-control')).toHaveLength(2);
      expect(sink.received('/cancel-me')).toHaveLength(1);
      const after = await hf.getRun(runId);
      expect(after.status).toBe('cancelled');
      expect(after.steps[0].attempts.map((a: any) => a.n)).toEqual([1]);

      // Even a job that survived the cancel does nothing: the run is over, so the claim is refused.
      expect(await hf.api.get(StepTransitions).claimStep(runId, 'send', 1_000)).toBeNull();
      const job = stepJob(runId, 'send', {
        policy: { attempts: 5, backoff: 'fixed', delayMs: 10, maxDelayMs: 10 },
        timeoutMs: 1_000,
      });
      await queue.add(job.name, job.data, job.opts);
      await waitFor(async () => (await queue.getJobState(job.opts.jobId)) === 'unknown', {
        what: 'the surviving job to be processed',
      });
      expect(sink.received('/cancel-me')).toHaveLength(1);
      expect((await hf.getRun(runId)).status).toBe('cancelled');

      // A cancelled run can be retried: the step runs again, its attempt numbers continuing.
      await post(`/api/runs/${runId}/cancel`).expect(409);
      expect((await post(`/api/runs/${runId}/retry`).expect(202)).body.retried).toEqual(['send']);
      const resumed = await hf.waitForRun(runId);
      expect(resumed.status).toBe('succeeded');
      expect(resumed.steps[0].attempts.map((a: any) => [a.n, a.outcome])).toEqual([
        [1, 'retrying'],
        [2, 'succeeded'],
      ]);
      expect(sink.received('/cancel-me')).toHaveLength(2);
    });

    it('lets the attempt running at cancel time finish, without a retry after it', async () => {
      sink.script('/cancel-running', ['hang']);
      const runId = await failedRun('cancel-running', [
        action('send', '/cancel-running', {
          timeout: '1s',
          retry: { attempts: 3, backoff: 'fixed', delay: '10ms' },
        }),
      ]);
      await sink.waitForRequests('/cancel-running', 1);
      await post(`/api/runs/${runId}/cancel`).expect(200);
      expect((await hf.getRun(runId)).steps[0].status).toBe('running');

      // The attempt times out (a retryable failure) after the cancel: it is recorded, and that is all.
      const run = await waitFor(
        async () => {
          const r = await hf.getRun(runId);
          return r.steps[0].status !== 'running' && r;
        },
        { what: 'the running attempt to end' },
      );
      expect(run.status).toBe('cancelled');
      expect(run.steps[0]).toMatchObject({ status: 'cancelled', error: { code: 'timeout' } });
      expect(run.steps[0].attempts.map((a: any) => [a.n, a.outcome])).toEqual([[1, 'retrying']]);
      await waitFor(async () => (await queue.getJobState(stepJobId(runId, 'send'))) === 'unknown', {
        what: 'the job to be done with',
      });
      expect(sink.received('/cancel-running')).toHaveLength(1);
    });

    it('answers 409 for a finished run and 404 for an unknown one', async () => {
      sink.script('/cancel-done', [400]);
      const runId = await failedRun('cancel-done', [action('send', '/cancel-done')]);
      expect((await hf.waitForRun(runId)).status).toBe('failed');
      const res = await post(`/api/runs/${runId}/cancel`).expect(409);
      expect(res.body).toMatchObject({ error: 'conflict', message: expect.stringContaining('failed') });
      await post(`/api/runs/00000000-0000-4000-8000-000000000000/cancel`).expect(404);
    });
  });

  describe('bulk retry', () => {
    it("retries a flow's failed runs in a time window and returns how many", async () => {
      sink.script('/bulk', [400, 400, 400]);
      const { hookPath } = await hf.createFlow({
        slug: 'bulk',
        trigger: { type: 'webhook' },
        steps: [action('send', '/bulk')],
      });
      const before = new Date(Date.now() - 1_000).toISOString();
      const ids: string[] = [];
      for (let i = 0; i < 3; i++)
        ids.push((await hf.http().post(hookPath).send({ i }).expect(202)).body.runId);
      for (const id of ids) expect((await hf.waitForRun(id)).status).toBe('failed');
      const ok = (await hf.http().post(hookPath).send({ i: 3 }).expect(202)).body.runId;
      expect((await hf.waitForRun(ok)).status).toBe('succeeded');

      const future = new Date(Date.now() + 3_600_000).toISOString();
      expect((await post('/api/runs/retry', { flow: 'bulk', until: before }).expect(202)).body).toEqual({
        count: 0,
      });
      expect((await post('/api/runs/retry', { flow: 'bulk', since: future }).expect(202)).body).toEqual({
        count: 0,
      });
      expect((await post('/api/runs/retry', { flow: 'bulk', status: 'cancelled' }).expect(202)).body).toEqual(
        {
          count: 0,
        },
      );

      const res = await post('/api/runs/retry', { flow: 'bulk', since: before, until: future }).expect(202);
      expect(res.body).toEqual({ count: 3 });
      for (const id of ids) expect((await hf.waitForRun(id)).status).toBe('succeeded');
      expect(sink.received('/bulk')).toHaveLength(7);
      expect((await post('/api/runs/retry', { flow: 'bulk' }).expect(202)).body).toEqual({ count: 0 });
    });

    it('retries more failed runs than one page of the bulk retry holds, each once', async () => {
      const { hookPath } = await hf.createFlow({
        slug: 'bulk-pages',
        trigger: { type: 'webhook' },
        steps: [{ id: 'fail', type: 'transform', expression: 'ok ? $ : $error("not yet")' }],
      });
      const ids: string[] = [];
      for (let i = 0; i < 230; i++)
        ids.push((await hf.http().post(hookPath).send({ i, ok: false }).expect(202)).body.runId);
      for (const id of ids) expect((await hf.waitForRun(id)).status).toBe('failed');
      const res = await post('/api/runs/retry', { flow: 'bulk-pages' }).expect(202);
      expect(res.body).toEqual({ count: 230 });
      // Each run was retried once: its step has exactly two attempts.
      for (const id of ids) {
        const run = await hf.waitForRun(id);
        expect(run.status).toBe('failed');
        expect(run.steps[0].attempts).toHaveLength(2);
      }
    });

    it.each([
      ['an empty flow', { flow: '' }, '/flow'],
      ['a q over 200 characters', { flow: 'bulk', q: 'x'.repeat(201) }, '/q'],
      ['a status that cannot be retried', { flow: 'bulk', status: 'succeeded' }, '/status'],
      ['a since that is not a time', { flow: 'bulk', since: 'yesterday' }, '/since'],
      ['an until that is not a time', { flow: 'bulk', until: 12 }, '/until'],
      [
        'an empty window',
        { flow: 'bulk', since: '2026-01-02T00:00:00Z', until: '2026-01-01T00:00:00Z' },
        '/until',
      ],
    ])('answers 400 naming the field for %s', async (_what, body, path) => {
      const res = await post('/api/runs/retry', body).expect(400);
      expect(res.body).toMatchObject({ error: 'invalid_request', details: [{ path }] });
    });

    it('answers 404 for an unknown flow', async () => {
      await post('/api/runs/retry', { flow: 'no-such-flow' }).expect(404);
    });
  });
});

/** The worker's side of a cancel, driven step by step on the real database (no worker running). */
describe('a cancel racing the steps of its run', () => {
  let hf: HookflowHarness;
  let runs: StepTransitions;
  let endStep: EndStep;
  const graph = new StepGraph([
    { id: 'a', type: 'transform' },
    { id: 'b', type: 'transform' },
  ]);

  beforeAll(async () => {
    hf = await HookflowHarness.start({ worker: false });
    runs = hf.api.get(StepTransitions);
    endStep = stepEnds(hf);
  });

  afterAll(async () => {
    await hf?.close();
  });

  const attempt = (n: number, outcome: 'succeeded' | 'retrying') => ({
    n,
    startedAt: new Date(),
    durationMs: 1,
    outcome,
    error: null,
    responseStatus: null,
  });

  async function newRun(slug: string): Promise<string> {
    const { hookPath } = await hf.createFlow({
      slug,
      trigger: { type: 'webhook' },
      steps: [
        { id: 'a', type: 'transform', expression: '$' },
        { id: 'b', type: 'transform', expression: '$' },
      ],
    });
    return (await hf.http().post(hookPath).send({}).expect(202)).body.runId;
  }

  it('records the result of a step that finishes after the cancel, but enqueues nothing after it', async () => {
    const runId = await newRun('race-finish');
    expect((await runs.claimStep(runId, 'a', 60_000))?.attempt).toBe(1);
    await hf.http().post(`/api/runs/${runId}/cancel`).set(hf.auth).expect(200);

    const finished = await endStep(
      runId,
      'a',
      { status: 'succeeded', input: {}, output: { done: true }, error: null },
      attempt(1, 'succeeded'),
      graph,
      1,
    );
    expect(finished).toEqual({ recorded: true, ready: [], runStatus: 'cancelled' });
    const run = await hf.getRun(runId);
    expect(run.status).toBe('cancelled');
    expect(run.steps.map((s: any) => [s.id, s.status])).toEqual([
      ['a', 'succeeded'],
      ['b', 'cancelled'],
    ]);
    expect(await runs.claimStep(runId, 'b', 60_000)).toBeNull();

    // Retrying picks up where it stopped: `a` is not run again, `b` is ready at once.
    const retried = await hf.http().post(`/api/runs/${runId}/retry`).set(hf.auth).expect(202);
    expect(retried.body.retried).toEqual(['b']);
    expect((await hf.getRun(runId)).status).toBe('queued');
    expect(await runs.claimStep(runId, 'a', 60_000)).toBeNull();
    expect((await runs.claimStep(runId, 'b', 60_000))?.attempt).toBe(1);
  });

  it('cancels a step whose failed attempt would otherwise wait for a retry', async () => {
    const runId = await newRun('race-retry');
    await runs.claimStep(runId, 'a', 60_000);
    await hf.http().post(`/api/runs/${runId}/cancel`).set(hf.auth).expect(200);

    expect(await runs.markRetrying(runId, 'a', {}, attempt(1, 'retrying'))).toBe(false);
    const run = await hf.getRun(runId);
    expect(run.steps[0]).toMatchObject({ status: 'cancelled', attempts: [{ n: 1, outcome: 'retrying' }] });
  });
});
