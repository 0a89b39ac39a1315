import { jest } from '@jest/globals';
import type { HookflowConfig } from '@hookflow/platform';
import type { QueueConnectionState } from '@hookflow/queue';
import type { Worker } from 'bullmq';
import type { StepProcessor } from '../steps/step.processor';
import { GracefulShutdown } from './graceful-shutdown';

/** A queue consumer whose close may hang, and the state of the queue's Redis connection. */
function fakeConsumer(unreachable: boolean) {
  let closed!: () => void;
  const closing = new Promise<void>((resolve) => (closed = resolve));
  const worker = { close: () => closing } as unknown as Worker;
  const state = { unreachable } as unknown as QueueConnectionState;
  return { worker, state, finishClose: () => closed() };
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

describe('GracefulShutdown.nothingLeftButTheQueue', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('with Redis unreachable, resolves once the last step in flight is over', async () => {
    const consumer = fakeConsumer(true);
    const steps = fakeSteps(consumer.worker);
    steps.start();
    const shutdown = new GracefulShutdown(steps.steps, consumer.state, config);
    shutdown.begin();
    const left = shutdown.nothingLeftButTheQueue();
    await jest.advanceTimersByTimeAsync(5_000);
    expect(await settled(left)).toBe(false);
    steps.end();
    expect(await settled(left)).toBe(true);
  });

  it('with Redis up, never resolves: not while draining, nor once the consumer closed', async () => {
    const consumer = fakeConsumer(false);
    const steps = fakeSteps(consumer.worker);
    const shutdown = new GracefulShutdown(steps.steps, consumer.state, config);
    const left = shutdown.nothingLeftButTheQueue();
    const draining = shutdown.onModuleDestroy();
    await jest.advanceTimersByTimeAsync(2_000);
    expect(await settled(left)).toBe(false);
    // BullMQ closes the consumer; the queue's connection is closed after it, on purpose.
    consumer.finishClose();
    await draining;
    await jest.advanceTimersByTimeAsync(2_000);
    // Even a connection seen down afterwards does not cut the rest of an ordinary shutdown short.
    (consumer.state as unknown as { unreachable: boolean }).unreachable = true;
    await jest.advanceTimersByTimeAsync(2_000);
    expect(await settled(left)).toBe(false);
  });
});
