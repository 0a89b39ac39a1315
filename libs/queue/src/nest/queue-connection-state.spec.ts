import { jest } from '@jest/globals';
import type { HookflowConfig } from '@hookflow/platform';
import type { Queue } from 'bullmq';
import { QueueConnectionState } from './queue-connection-state';

/** A queue whose Redis client is `client` (a promise that never settles: never connected). */
function stateWith(client: Promise<{ status: string }>, onRedis = true) {
  const close = jest.fn(async (_force?: boolean) => undefined);
  const queue = { getBackend: () => ({ client, close }) } as unknown as Queue;
  return {
    state: new QueueConnectionState(queue, {
      redisUrl: onRedis ? 'redis://127.0.0.1:6379' : undefined,
    } as HookflowConfig),
    close,
  };
}

describe('QueueConnectionState', () => {
  it.each([
    ['ready', true],
    ['reconnecting', false],
    ['connecting', false],
    ['close', false],
    ['end', false],
  ])('a Redis client that is %s: up is %s', async (status, up) => {
    const { state } = stateWith(Promise.resolve({ status }));
    await state.onModuleInit();
    expect(state.up).toBe(up);
  });

  it.each([
    ['reconnecting', true],
    ['connecting', true],
    ['close', true],
    ['ready', false],
    ['end', false], // closed on purpose: not a Redis that went away
  ])('a Redis client that is %s: unreachable is %s', async (status, unreachable) => {
    const { state } = stateWith(Promise.resolve({ status }));
    await state.onModuleInit();
    expect(state.unreachable).toBe(unreachable);
  });

  it('follows the client: ioredis reconnects the same one', async () => {
    const client = { status: 'ready' };
    const { state } = stateWith(Promise.resolve(client));
    await state.onModuleInit();
    client.status = 'reconnecting';
    expect(state.up).toBe(false);
    client.status = 'ready';
    expect(state.up).toBe(true);
  });

  it('is down until the first connection, and start-up waits for it no longer than 2 s', async () => {
    jest.useFakeTimers();
    try {
      const { state } = stateWith(new Promise(() => undefined));
      const init = state.onModuleInit();
      await jest.advanceTimersByTimeAsync(2_000);
      await init;
      expect(state.up).toBe(false);
      expect(state.unreachable).toBe(true);
    } finally {
      jest.useRealTimers();
    }
  });

  it('is always up on the PostgreSQL backend, with no client to ask', async () => {
    const { state } = stateWith(new Promise(() => undefined), false);
    await state.onModuleInit();
    expect(state.up).toBe(true);
    expect(state.unreachable).toBe(false);
  });

  it('closes the connection without QUIT only when Redis is down', async () => {
    const client = { status: 'ready' };
    const { state, close } = stateWith(Promise.resolve(client));
    await state.onModuleInit();
    await state.closeIfDown();
    expect(close).not.toHaveBeenCalled();
    client.status = 'reconnecting';
    await state.closeIfDown();
    expect(close).toHaveBeenCalledWith(true);
  });
});
