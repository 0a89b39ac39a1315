import { Redis } from 'ioredis';

/** What Redis said its `maxmemory-policy` is, or why it could not be read. */
export type RedisPolicyReading =
  { policy: string; via: 'CONFIG GET' | 'INFO' } | { policy: undefined; problem: string };

/** How a start-up check reports a reading: nothing to say, a loud error, or a warning. */
export interface RedisPolicyVerdict {
  level: 'ok' | 'error' | 'warn';
  message: string;
}

const CHECK_TIMEOUT_MS = 3_000;

/**
 * Reads Redis's `maxmemory-policy` by `CONFIG GET`, else `INFO memory` (managed services often
 * refuse CONFIG). Never throws; one short-lived connection.
 */
export async function readRedisPolicy(
  redisUrl: string,
  timeoutMs = CHECK_TIMEOUT_MS,
): Promise<RedisPolicyReading> {
  const client = new Redis(redisUrl, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  // Errors reach the awaiting calls; without a listener ioredis reports them as unhandled too.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    client.disconnect();
    return { policy: undefined, problem: `Redis unreachable (${(err as Error).message})` };
  }
  try {
    let configProblem: string;
    try {
      const [, value] = (await client.config('GET', 'maxmemory-policy')) as string[];
      if (value) return { policy: value, via: 'CONFIG GET' };
      configProblem = 'no value';
    } catch (err) {
      configProblem = (err as Error).message;
    }
    try {
      const info = await client.info('memory');
      const value = /^maxmemory_policy:(\S+)/m.exec(info)?.[1];
      if (value) return { policy: value, via: 'INFO' };
      return { policy: undefined, problem: `CONFIG GET: ${configProblem}; INFO memory: no maxmemory_policy` };
    } catch (err) {
      return {
        policy: undefined,
        problem: `CONFIG GET: ${configProblem}; INFO memory: ${(err as Error).message}`,
      };
    }
  } finally {
    client.disconnect();
  }
}

/** What an operator should be told about a reading. */
export function judgeRedisPolicy(reading: RedisPolicyReading): RedisPolicyVerdict {
  if (reading.policy === 'noeviction')
    return { level: 'ok', message: 'Redis maxmemory-policy is noeviction' };
  const fix =
    'Set `maxmemory-policy noeviction` in redis.conf (now: `redis-cli CONFIG SET maxmemory-policy noeviction`), ' +
    "or in a managed service's parameter group, and give Redis the memory the queue needs.";
  if (reading.policy === undefined) {
    return {
      level: 'warn',
      message: `could not check Redis maxmemory-policy (${reading.problem}); it must be noeviction. ${fix}`,
    };
  }
  return {
    level: 'error',
    message:
      `Redis maxmemory-policy is '${reading.policy}', not 'noeviction': when Redis fills up it may evict ` +
      "BullMQ's keys, so queued step jobs of accepted webhooks disappear (delivery stalls until the " +
      'reconciler re-enqueues them), job locks vanish (steps run twice), and the queue state can break. ' +
      fix,
  };
}
