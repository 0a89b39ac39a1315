import type { IngressResponse } from '@hookflow/flows';
import type { AnswerMessage } from '@hookflow/queue';

/** How a wait for a respond step ended. */
export type WaitEnd =
  | { kind: 'answer'; answer: IngressResponse }
  /** The respond step succeeded, its answer too large to travel: read it from the store. */
  | { kind: 'stored' }
  /** The sender gets the trigger's default answer: the run will not answer, took too long, or nobody hears. */
  | { kind: 'default'; why: 'ended' | 'timeout' | 'unheard' }
  /** The sender left: nothing is to be sent. */
  | { kind: 'gone' };

interface Waiter {
  end(result: WaitEnd): void;
}

/**
 * The requests of one API process waiting for their run's respond step, by run id, at most `max`
 * at once so that slow runs cannot pin memory and sockets. Pure: the channel feeds `settle`.
 */
export class AnswerWaiters {
  private readonly waiters = new Map<string, Waiter>();

  constructor(private readonly max: number) {}

  get size(): number {
    return this.waiters.size;
  }

  /**
   * Waits for the run's answer, up to `timeoutMs` or until `gone` aborts; registered at once, so
   * call it before the run's steps are enqueued. Null when `max` requests wait already.
   */
  wait(runId: string, timeoutMs: number, gone?: AbortSignal): Promise<WaitEnd> | null {
    if (this.waiters.size >= this.max || this.waiters.has(runId)) return null;
    if (gone?.aborted) return Promise.resolve({ kind: 'gone' });
    return new Promise<WaitEnd>((resolve) => {
      const onGone = () => end({ kind: 'gone' });
      const timer = setTimeout(() => end({ kind: 'default', why: 'timeout' }), timeoutMs);
      const end = (result: WaitEnd) => {
        if (this.waiters.get(runId) !== waiter) return;
        this.waiters.delete(runId);
        clearTimeout(timer);
        gone?.removeEventListener('abort', onGone);
        resolve(result);
      };
      const waiter: Waiter = { end };
      this.waiters.set(runId, waiter);
      gone?.addEventListener('abort', onGone, { once: true });
    });
  }

  /** A message from the channel; one about a run nobody here waits for (another replica's, a late one) is dropped. */
  settle(message: AnswerMessage): void {
    const waiter = this.waiters.get(message.runId);
    if (!waiter) return;
    if (message.kind === 'answer') waiter.end({ kind: 'answer', answer: message.answer });
    else if (message.kind === 'stored') waiter.end({ kind: 'stored' });
    else waiter.end({ kind: 'default', why: 'ended' });
  }

  /** Ends every wait with the default answer: messages may go unheard, or the process stops. */
  settleAll(): void {
    for (const waiter of [...this.waiters.values()]) waiter.end({ kind: 'default', why: 'unheard' });
  }
}
