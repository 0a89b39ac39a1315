import type { WorkerHost } from '@nestjs/bullmq';
import { Worker, type BackendFactory, type Processor } from 'bullmq';

/*
 * The only places where Hookflow reaches past the public API of BullMQ and @nestjs/bullmq, kept
 * in one file so that an upgrade has one place to check. test/e2e/queue-watchdog.e2e-spec.ts runs
 * the first three against the real classes; test/chaos/stops.chaos-spec.ts, `queueConnected` with
 * Redis stopped.
 */

interface WorkerInternals {
  lockManager?: { getActiveJobCount?: () => number };
  processFn?: Processor;
  backendFactory?: BackendFactory;
}

/** Jobs this worker is processing now (BullMQ tracks them to renew their locks). */
export function activeJobCount(worker: Worker): number {
  return (worker as unknown as WorkerInternals).lockManager?.getActiveJobCount?.() ?? 0;
}

/** A new worker on the same queue and backend, with the same processor, options and concurrency; not running yet. */
export function cloneWorker(worker: Worker): Worker {
  const { processFn, backendFactory } = worker as unknown as WorkerInternals;
  if (!processFn) throw new Error(`worker of queue ${worker.name} has no processor function to reuse`);
  if (!backendFactory) throw new Error(`worker of queue ${worker.name} has no backend factory to reuse`);
  // The same backend as the first worker, whatever the process-wide default is by now.
  const next = new Worker(worker.name, processFn, { ...worker.opts, autorun: false }, backendFactory);
  next.concurrency = worker.concurrency;
  return next as unknown as Worker;
}

/** Points a `@Processor` class at another worker: its `worker` getter returns `next` from now on. */
export function replaceWorker(host: WorkerHost, next: Worker): void {
  (host as unknown as { _worker: Worker })._worker = next;
}

/** ioredis client states of a connection that is trying to reach Redis and has not. */
const UNREACHABLE = new Set(['connecting', 'connect', 'reconnecting', 'close']);

/**
 * Whether the worker's Redis connection is up, as far as the worker knows: false while its client
 * is trying to reach Redis (reconnecting after Redis went away), true otherwise, including a
 * client closed on purpose (`end`) and a queue that is not on Redis. Reads the Redis client
 * through the Redis backend's escape hatch (`getBackend().client`); a client not there within a
 * second counts as down.
 */
export async function queueConnected(worker: Worker): Promise<boolean> {
  const backend = worker.getBackend() as { client?: Promise<{ status?: string }> };
  if (!backend.client) return true;
  let timer: NodeJS.Timeout | undefined;
  const client = await Promise.race([
    backend.client,
    new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), 1_000))),
  ]).finally(() => clearTimeout(timer));
  return client !== undefined && !UNREACHABLE.has(client.status ?? '');
}
