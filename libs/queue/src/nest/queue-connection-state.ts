import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { HOOKFLOW_CONFIG, type HookflowConfig } from '@hookflow/platform';
import type { Queue } from 'bullmq';
import { STEP_QUEUE } from '../step-job';

/** How long start-up waits for the first queue connection. */
const CONNECT_WAIT_MS = 2_000;
/** ioredis client states of a connection that is trying to reach Redis and has not. */
const REACHING = new Set(['connecting', 'connect', 'reconnecting', 'close']);

/** Whether Redis is reachable, from the queue client's status without a round trip; up on PostgreSQL. */
@Injectable()
export class QueueConnectionState implements OnModuleInit {
  private client: { status: string } | undefined;

  constructor(
    @InjectQueue(STEP_QUEUE) private readonly queue: Queue,
    @Inject(HOOKFLOW_CONFIG) private readonly config: HookflowConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    if (!this.config.redisUrl) return;
    // Resolves once the first connection is up; until then the queue counts as down.
    const connected = this.queue
      .getBackend()
      .client.then((client) => (this.client = client))
      .catch(() => undefined);
    // A short wait keeps the first work after start from being refused; Redis down: start anyway.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([connected, new Promise((resolve) => (timer = setTimeout(resolve, CONNECT_WAIT_MS)))]);
    clearTimeout(timer);
  }

  /** False while the Redis connection is known to be down, or has never been up, or was closed. */
  get up(): boolean {
    return !this.config.redisUrl || this.client?.status === 'ready';
  }

  /** True while the client is trying to reach Redis and has not; a client closed on purpose is not. */
  get unreachable(): boolean {
    if (!this.config.redisUrl) return false;
    return !this.client || REACHING.has(this.client.status);
  }

  /** With Redis down, closes without QUIT, which would fail at once (no offline queue) and log an error. */
  async closeIfDown(): Promise<void> {
    // Only a client that has connected once: a queue that never did closes as it is.
    if (this.client && !this.up) await this.queue.getBackend().close(true);
  }
}
