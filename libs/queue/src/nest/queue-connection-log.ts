import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { connectionErrorLog } from '../connection-errors';
import { STEP_QUEUE } from '../step-job';

/**
 * Logs the step queue's errors (Redis unreachable, a reconnect that failed) as JSON warnings, one
 * per 10 s. It listens from its construction, right after the queue's, so that even the first
 * failed connection attempt at start is not printed raw. Add it to the providers of each app that
 * talks to the queue.
 */
@Injectable()
export class QueueConnectionLog {
  private readonly logger = new Logger('Queue');

  constructor(@InjectQueue(STEP_QUEUE) queue: Queue) {
    queue.on(
      'error',
      connectionErrorLog('queue connection', (line) => this.logger.warn(line)),
    );
  }
}
