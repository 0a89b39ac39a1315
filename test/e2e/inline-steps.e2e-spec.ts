import { jest } from '@jest/globals';
import { getQueueToken } from '@nestjs/bullmq';
import { STEP_QUEUE } from '@hookflow/queue';
import type { Queue } from 'bullmq';
import { DataSource } from 'typeorm';
import { DestinationGate } from '../../apps/worker/src/steps/destination-gate';
import { HookflowHarness } from '../utils/hookflow-harness';
import { SinkServer } from '../utils/sink-server';

/**
 * A step that a step's end makes the only ready one runs in the same job, claimed by the same
 * statement, without a round trip through the queue; whatever its own job would have done on a
 * retry or a park is done by giving it a job of its own then.
 */
describe('steps run in process after the one before them', () => {
  let hf: HookflowHarness;
  let sink: SinkServer;
  let queue: Queue;
  let added: string[];

  beforeAll(async () => {
    sink = await SinkServer.start();
    hf = await HookflowHarness.start();
    queue = hf.worker!.get<Queue>(getQueueToken(STEP_QUEUE));
  });

  beforeEach(() => {
    // The jobs the worker gives steps (the API adds the roots' with its own queue instance).
    added = [];
    const add = queue.add.bind(queue);
    const addBulk = queue.addBulk.bind(queue);
    jest.spyOn(queue, 'add').mockImplementation((name, data, opts) => {
      added.push(`${data.stepId}${opts?.delay ? ` +${opts.delay}ms after ${data.attemptsBefore ?? 0}` : ''}`);
      return add(name, data, opts);
    });
    jest.spyOn(queue, 'addBulk').mockImplementation((jobs) => {
      added.push(...jobs.map((j) => j.data.stepId));
      return addBulk(jobs);
    });
  });

  afterEach(() => jest.restoreAllMocks());

  afterAll(async () => {
    await hf?.close();
    await sink?.close();
  });

  it('runs transform -> filter -> action in the root job: no job for the later steps', async () => {
    const { hookPath } = await hf.createFlow({
      slug: 'chain',
      trigger: { type: 'webhook' },
      steps: [
        { id: 'shape', type: 'transform', expression: '{ "id": id, "total": $sum(items.price) }' },
        { id: 'big', type: 'filter', condition: 'total > 10' },
        {
          id: 'send',
          type: 'action',
          connector: 'http',
          with: { url: `${sink.url}/chain`, json: '{{steps.shape}}' },
        },
      ],
    });
    const { body } = await hf
      .http()
      .post(hookPath)
      .send({ id: 'o1', items: [{ price: 8 }, { price: 9 }] })
      .expect(202);
    const run = await hf.waitForRun(body.runId);
    expect(run.status).toBe('succeeded');
    expect(run.steps.map((s: any) => [s.id, s.status, s.attempts.length])).toEqual([
      ['shape', 'succeeded', 1],
      ['big', 'succeeded', 1],
      ['send', 'succeeded', 1],
    ]);
    expect(sink.received('/chain').map((r) => r.json)).toEqual([{ id: 'o1', total: 17 }]);
    expect(added).toEqual([]);
  });

  it('runs a fresh transform from a read: its end is its claim (three statements for the webhook)', async () => {
    const pool = (
      hf.worker!.get(DataSource).driver as unknown as { master: { query: (...a: unknown[]) => unknown } }
    ).master;
    const query = jest.spyOn(pool, 'query');
    const { hookPath } = await hf.createFlow({
      slug: 'read-not-claimed',
      trigger: { type: 'webhook' },
      steps: [
        { id: 'shape', type: 'transform', expression: '{ "n": n }' },
        {
          id: 'send',
          type: 'action',
          connector: 'http',
          with: { url: `${sink.url}/read`, json: '{{steps.shape}}' },
        },
      ],
    });
    const { body } = await hf.http().post(hookPath).send({ n: 7 }).expect(202);
    const run = await hf.waitForRun(body.runId);
    expect(run.steps.map((s: any) => [s.id, s.status, s.attempts.map((a: any) => a.n)])).toEqual([
      ['shape', 'succeeded', [1]],
      ['send', 'succeeded', [1]],
    ]);
    expect(sink.received('/read').map((r) => r.json)).toEqual([{ n: 7 }]);
    const names = query.mock.calls.map(([c]) => (c as { name?: string })?.name).filter(Boolean);
    expect(names).toEqual(['hookflow_read_step', 'hookflow_record_step_ends', 'hookflow_record_step_ends']);
  });

  it('gives a step that fails in process a job for its retry, continuing its schedule and key', async () => {
    sink.script('/flaky', [503, { status: 429, headers: { 'retry-after': '1' } }, 200]);
    const { hookPath } = await hf.createFlow({
      slug: 'chain-retry',
      trigger: { type: 'webhook' },
      steps: [
        { id: 'shape', type: 'transform', expression: '{ "n": n }' },
        {
          id: 'send',
          type: 'action',
          connector: 'http',
          retry: { attempts: 4, backoff: 'fixed', delay: '10ms', maxDelay: '5s' },
          with: { url: `${sink.url}/flaky`, json: '{{steps.shape}}' },
        },
      ],
    });
    const { body } = await hf.http().post(hookPath).send({ n: 1 }).expect(202);
    const run = await hf.waitForRun(body.runId);
    expect(run.status).toBe('succeeded');
    expect(run.steps[1].attempts.map((a: any) => [a.n, a.outcome, a.responseStatus])).toEqual([
      [1, 'retrying', 503],
      [2, 'retrying', 429],
      [3, 'succeeded', 200],
    ]);
    const received = sink.received('/flaky');
    expect(new Set(received.map((r) => r.headers['idempotency-key'])).size).toBe(1);
    // The in-process attempt's retry is a job of its own after the step's delay; the 429's
    // Retry-After is honoured by that job's own retry.
    expect(added).toEqual(['send +10ms after 1']);
    expect(received[2].at - received[1].at).toBeGreaterThanOrEqual(990);
  });

  it("frees a step's destination slot before the next step to the same destination asks for one", async () => {
    const { hookPath } = await hf.createFlow({
      slug: 'same-destination',
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'first',
          type: 'action',
          connector: 'http',
          destination: { concurrency: 1 },
          with: { url: `${sink.url}/same-1` },
        },
        {
          id: 'second',
          type: 'action',
          connector: 'http',
          destination: { concurrency: 1 },
          with: { url: `${sink.url}/same-2` },
        },
      ],
    });
    // Every ask for a slot of the destination, and whether it found one free.
    const limiter = hf.worker!.get(DestinationGate).limiter;
    const tryAcquire = limiter.tryAcquire.bind(limiter);
    const asks: boolean[] = [];
    jest.spyOn(limiter, 'tryAcquire').mockImplementation((key, limit) => {
      const grant = tryAcquire(key, limit);
      asks.push(grant.ok);
      return grant;
    });
    const { body } = await hf.http().post(hookPath).send({}).expect(202);
    const run = await hf.waitForRun(body.runId);
    expect(run.steps.map((s: any) => s.status)).toEqual(['succeeded', 'succeeded']);
    // With the first call's slot still held, the second would have been refused (or kept waiting) and queued.
    expect(added).toEqual([]);
    expect(asks).toEqual([true, true]);
    expect(sink.received('/same-2')).toHaveLength(1);
  });

  it('enqueues, rather than runs in process, the branches of a fan-out', async () => {
    const { hookPath } = await hf.createFlow({
      slug: 'fan-out',
      trigger: { type: 'webhook' },
      steps: [
        { id: 'shape', type: 'transform', expression: '$' },
        { id: 'a', type: 'action', connector: 'http', needs: ['shape'], with: { url: `${sink.url}/fan-a` } },
        { id: 'b', type: 'action', connector: 'http', needs: ['shape'], with: { url: `${sink.url}/fan-b` } },
        { id: 'join', type: 'transform', needs: ['a', 'b'], expression: '"both"' },
      ],
    });
    const { body } = await hf.http().post(hookPath).send({}).expect(202);
    const run = await hf.waitForRun(body.runId);
    expect(run.steps.map((s: any) => s.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
    // Every branch through the queue. The join too when its needs ended while the other was
    // claimed (neither one's view of the run current, the locked path); when one branch ended
    // before the other's claim, that claim saw it, and its end runs the join in process.
    expect(added.slice(0, 2)).toEqual(['a', 'b']);
    expect(['a,b', 'a,b,join']).toContain(added.join(','));
  });

  it('parks a delay step reached in process with a job for its resume time', async () => {
    const { hookPath } = await hf.createFlow({
      slug: 'chain-delay',
      trigger: { type: 'webhook' },
      steps: [
        { id: 'shape', type: 'transform', expression: '$' },
        { id: 'wait', type: 'delay', for: '300ms' },
        { id: 'send', type: 'action', connector: 'http', with: { url: `${sink.url}/later` } },
      ],
    });
    const sent = Date.now();
    const { body } = await hf.http().post(hookPath).send({}).expect(202);
    const run = await hf.waitForRun(body.runId);
    expect(run.status).toBe('succeeded');
    const [delivered] = sink.received('/later');
    expect(delivered.at - sent).toBeGreaterThanOrEqual(290);
    expect(added).toHaveLength(1);
    expect(added[0]).toMatch(/^wait \+\d+ms after 1$/);
  });

  it('records a transform whose output has a "status" that is no HTTP status', async () => {
    const { hookPath } = await hf.createFlow({
      slug: 'status-shaped',
      trigger: { type: 'webhook' },
      steps: [
        { id: 'fraction', type: 'transform', expression: '{ "status": 2.5 }' },
        { id: 'huge', type: 'transform', expression: '{ "status": 10000000000 }' },
      ],
    });
    const { body } = await hf.http().post(hookPath).send({}).expect(202);
    const run = await hf.waitForRun(body.runId);
    expect(run.steps.map((s: any) => [s.id, s.status, s.attempts.map((a: any) => a.responseStatus)])).toEqual(
      [
        ['fraction', 'succeeded', [null]],
        ['huge', 'succeeded', [null]],
      ],
    );
  });
});
