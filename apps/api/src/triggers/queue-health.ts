import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';
import { QueueConnectionState } from '@hookflow/queue';
import { AppError, ErrorCode } from '../common/app-error';

/** What a refused sender is told to wait, in seconds: Redis restarts in a few. */
const RETRY_AFTER_S = 5;

/** Lets ingress answer 503 while Redis is down, rather than a 2xx for a run left to the reconciler. */
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
