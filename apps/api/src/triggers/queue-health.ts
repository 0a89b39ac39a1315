import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';
import { QueueConnectionState } from '@hookflow/queue';
import { AppError, ErrorCode } from '../common/app-error';

/** What a refused sender is told to wait, in seconds: Redis restarts in a few. */
const RETRY_AFTER_S = 5;

/**
 * Ingress asks before storing anything, so that while Redis is known to be down a sender gets a
 * 503 to retry rather than a 2xx for a run that waits for the reconciler.
 */
@Injectable()
export class QueueHealth implements BeforeApplicationShutdown {
  constructor(private readonly queue: QueueConnectionState) {}

  /** Stopping while Redis is down: nothing is in that connection to lose, ingress refused meanwhile. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.queue.closeIfDown();
  }

  get available(): boolean {
    return this.queue.up;
  }

  /** Throws the 503 ingress answers while the queue is down. */
  assertAvailable(): void {
    if (this.available) return;
    throw new AppError(
      ErrorCode.QueueUnavailable,
      'the queue is unavailable; nothing was stored, try again later',
      [],
      { 'retry-after': String(RETRY_AFTER_S) },
    );
  }
}
