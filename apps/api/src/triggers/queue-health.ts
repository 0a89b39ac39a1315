import { InjectQueue } from '@nestjs/bullmq';
import { BeforeApplicationShutdown, Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { HOOKFLOW_CONFIG, type HookflowConfig } from '@hookflow/platform';
import { STEP_QUEUE } from '@hookflow/queue';
import type { Queue } from 'bullmq';
import { AppError, ErrorCode } from '../common/app-error';

/** How long start-up waits for the first queue connection. */
const CONNECT_WAIT_MS = 2_000;
/** What a refused sender is told to wait, in seconds: Redis restarts in a few. */
const RETRY_AFTER_S = 5;

/**
 * Whether the queue can take work right now, read without a round trip: the state of the Redis
 * client the step queue uses (ioredis reconnects that same client, so its status is current).
 * Ingress asks before storing anything, so that while Redis is known to be down a sender gets a
 * 503 to retry rather than a 2xx for a run that waits for the reconciler. On BullMQ's PostgreSQL
 * backend the queue is the database, whose failures ingress reports itself.
 */
@Injectable()
export class QueueHealth implements OnModuleInit, BeforeApplicationShutdown {
  private client: { status: string } | undefined;

  constructor(
    @InjectQueue(STEP_QUEUE) private readonly queue: Queue,
    @Inject(HOOKFLOW_CONFIG) private readonly config: HookflowConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    if (!this.config.redisUrl) return;
    // Resolves once the first connection is up; until then the queue counts as unavailable.
    const connected = this.queue
      .getBackend()
      .client.then((client) => (this.client = client))
      .catch(() => undefined);
    // Normally a matter of milliseconds: waiting for it (a little) keeps the first webhooks after
    // start from being refused. Redis down at start: the API starts anyway, answering 503.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([connected, new Promise((resolve) => (timer = setTimeout(resolve, CONNECT_WAIT_MS)))]);
    clearTimeout(timer);
  }

  /**
   * Stopping while Redis is down: the queue's connection is closed without the QUIT an ordinary
   * close sends (before @nestjs/bullmq's own close, which then finds it closed). QUIT would fail at
   * once, this client keeping no offline queue, and Nest would log that as an error. Nothing is in
   * that connection to lose: ingress refuses webhooks while it is down.
   */
  async beforeApplicationShutdown(): Promise<void> {
    // `client` is set only on Redis, once it has connected; a queue that never did closes as it is.
    if (this.client && !this.available) await this.queue.getBackend().close(true);
  }

  /** False while the queue's Redis connection is known to be down (or has never been up). */
  get available(): boolean {
    return !this.config.redisUrl || this.client?.status === 'ready';
  }

  /** Throws the 503 ingress answers while the queue is down. */
  assertAvailable(): void {
    if (this.available) return;
    throw new AppError(
      ErrorCode.QueueUnavailable,
      'the queue is unavailable; nothing was stored, try again later',
      [],
      {
        'retry-after': String(RETRY_AFTER_S),
      },
    );
  }
}
