import type { WorkerHost } from '@nestjs/bullmq';
import { Worker, type BackendFactory, type Processor } from 'bullmq';

/*
 * The only places where Hookflow reaches past the public API of BullMQ and @nestjs/bullmq, kept
 * in one file so that an upgrade has one place to check. test/e2e/queue-watchdog.e2e-spec.ts runs
 * all three against the real classes.
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
