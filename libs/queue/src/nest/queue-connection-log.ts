import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { connectionErrorLog } from '../connection-errors';
import { STEP_QUEUE } from '../step-job';

/**
 * Logs the step queue's errors as JSON warnings, one per 10 s; it listens from construction so that
 * not even the first failed connection at start is printed raw.
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
