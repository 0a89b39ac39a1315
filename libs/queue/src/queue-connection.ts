import { createPostgresBackend, setDefaultBackendFactory } from 'bullmq';
import type { HookflowConfig } from '@hookflow/platform';

export interface QueueConnection {
  backend: 'redis' | 'postgres';
  connection: Record<string, unknown>;
  prefix: string;
}

/**
 * Picks BullMQ's backend: Redis with REDIS_URL, else PostgreSQL on the same database. Must run
 * before any Queue or Worker is created: the backend factory is process-wide.
 */
export function selectQueueBackend(config: HookflowConfig, role: 'api' | 'worker'): QueueConnection {
  if (config.redisUrl) {
    setDefaultBackendFactory();
    const url = new URL(config.redisUrl);
    return {
      backend: 'redis',
      prefix: config.queuePrefix,
      connection: {
        host: url.hostname,
        port: Number(url.port || 6379),
        username: url.username ? decodeURIComponent(url.username) : undefined,
        password: url.password ? decodeURIComponent(url.password) : undefined,
        db: url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0,
        tls: url.protocol === 'rediss:' ? {} : undefined,
        ...(role === 'worker'
          ? // Workers block on Redis; they must not give up on a command during a Redis restart.
            { maxRetriesPerRequest: null }
          : // The API must not hold a sender's request while Redis is away: fail fast, the
            // reconciler enqueues what was committed.
            { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2_000 }),
      },
    };
  }
  setDefaultBackendFactory(createPostgresBackend as never);
  return {
    backend: 'postgres',
    prefix: config.queuePrefix,
    // migrate: BullMQ creates its tables in this schema on first connect.
    connection: {
      connectionString: config.databaseUrl,
      schema: `${config.queuePrefix}_queue`,
      max: 10,
      migrate: true,
    },
  };
}
