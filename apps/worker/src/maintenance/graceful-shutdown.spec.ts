import { jest } from '@jest/globals';
import type { HookflowConfig } from '@hookflow/platform';
import type { Worker } from 'bullmq';
import type { StepProcessor } from '../steps/step.processor';
import { GracefulShutdown, queueConnected } from './graceful-shutdown';

/** A queue consumer as GracefulShutdown sees it: its Redis client's status, and a close that may hang. */
function fakeConsumer(status: string) {
  const client = { status };
  let closed!: () => void;
  const closing = new Promise<void>((resolve) => (closed = resolve));
  const worker = {
    getBackend: () => ({ client: Promise.resolve(client) }),
    close: () => closing,
  } as unknown as Worker;
  return { worker, client, finishClose: () => closed() };
}

/** The processor's side: steps in flight, and who waits for there to be none. */
function fakeSteps(worker: Worker) {
  let inFlight = 0;
  const waiters: (() => void)[] = [];
  const steps = {
    worker,
    stopChains: () => undefined,
    get stepsInFlight() {
      return inFlight;
    },
    whenIdle: () => (inFlight === 0 ? Promise.resolve() : new Promise<void>((r) => waiters.push(r))),
  } as unknown as StepProcessor;
  return {
    steps,
    start: () => inFlight++,
    end: () => {
      if (--inFlight === 0) for (const wake of waiters.splice(0)) wake();
    },
  };
}

const config = { shutdownGraceMs: 30_000 } as HookflowConfig;

/** Whether `promise` has settled by now (after pending microtasks and due timers ran). */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await jest.advanceTimersByTimeAsync(0);
  return done;
}

describe('queueConnected', () => {
  it.each([
    ['ready', true],
    ['end', true], // closed on purpose: not a Redis that went away
    ['wait', true],
    ['reconnecting', false],
    ['connecting', false],
    ['close', false],
  ])('a client that is %s: %s', async (status, expected) => {
    expect(await queueConnected(fakeConsumer(status).worker)).toBe(expected);
  });

  it('a queue that is not on Redis (no client) counts as connected', async () => {
    const worker = { getBackend: () => ({}) } as unknown as Worker;
    expect(await queueConnected(worker)).toBe(true);
  });
});

describe('GracefulShutdown.nothingLeftButTheQueue', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('with Redis unreachable, resolves once the last step in flight is over', async () => {
    const consumer = fakeConsumer('reconnecting');
    const steps = fakeSteps(consumer.worker);
    steps.start();
    const shutdown = new GracefulShutdown(steps.steps, config);
    shutdown.begin();
    const left = shutdown.nothingLeftButTheQueue();
    await jest.advanceTimersByTimeAsync(5_000);
    expect(await settled(left)).toBe(false);
    steps.end();
    expect(await settled(left)).toBe(true);
  });

  it('with Redis up, never resolves: not while draining, nor once the consumer closed and its client ended', async () => {
    const consumer = fakeConsumer('ready');
    const steps = fakeSteps(consumer.worker);
    const shutdown = new GracefulShutdown(steps.steps, config);
    const left = shutdown.nothingLeftButTheQueue();
    const draining = shutdown.onModuleDestroy();
    await jest.advanceTimersByTimeAsync(2_000);
    expect(await settled(left)).toBe(false);
    // BullMQ closes the connection: the client ends, which is not Redis going away.
    consumer.client.status = 'end';
    consumer.finishClose();
    await draining;
    await jest.advanceTimersByTimeAsync(2_000);
    // Even a client seen reconnecting afterwards does not cut the rest of an ordinary shutdown short.
    consumer.client.status = 'reconnecting';
    await jest.advanceTimersByTimeAsync(2_000);
    expect(await settled(left)).toBe(false);
  });
});
