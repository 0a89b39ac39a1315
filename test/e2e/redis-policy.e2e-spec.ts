import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { readRedisPolicy, RedisPolicyCheck } from '@hookflow/queue';
import Redis from 'ioredis';
import { freePort } from '../utils/free-port';
import { HookflowHarness } from '../utils/hookflow-harness';
import { OwnRedis } from '../utils/own-services';

describe('Redis maxmemory-policy check', () => {
  // Throwaway redis-servers of this test's own: the shared one on 6379 is never reconfigured.
  let evicting: OwnRedis | undefined;
  let noConfig: OwnRedis | undefined;

  beforeAll(async () => {
    evicting = await OwnRedis.start(['--maxmemory-policy', 'allkeys-lru']);
    // As managed services do: CONFIG is refused, INFO still tells.
    noConfig = await OwnRedis.start(['--maxmemory-policy', 'volatile-lru', '--rename-command', 'CONFIG', '']);
  });

  afterAll(async () => {
    await evicting?.stop('SIGTERM');
    await noConfig?.stop('SIGTERM');
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('reads the policy with CONFIG GET, or from INFO when CONFIG is refused', async () => {
    expect(await readRedisPolicy(evicting!.url)).toEqual({ policy: 'allkeys-lru', via: 'CONFIG GET' });
    expect(await readRedisPolicy(noConfig!.url)).toEqual({ policy: 'volatile-lru', via: 'INFO' });
    const closed = await readRedisPolicy(`redis://127.0.0.1:${await freePort()}`, 1000);
    expect(closed).toEqual({ policy: undefined, problem: expect.stringContaining('unreachable') });
  });

  it('makes API and worker log an error at start on an evicting Redis, and stay up; nothing on noeviction', async () => {
    const errors = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    // BullMQ's own one-line console warning per connection: not what is tested here.
    jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    const hf = await HookflowHarness.start({ env: { REDIS_URL: evicting!.url } });
    try {
      await hf.api.get(RedisPolicyCheck).verdict;
      await hf.worker!.get(RedisPolicyCheck).verdict;
      const policyErrors = () =>
        errors.mock.calls.filter(([message]) => /maxmemory-policy is 'allkeys-lru'/.test(String(message)));
      expect(policyErrors()).toHaveLength(2);
      await hf.http().get('/health/ready').expect(200);

      // Fixed (on this test's own Redis): a worker started now says nothing.
      const admin = new Redis(evicting!.url);
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      admin.disconnect();
      await hf.stopWorker();
      await hf.startWorker();
      expect(await hf.worker!.get(RedisPolicyCheck).verdict).toMatchObject({ level: 'ok' });
      expect(policyErrors()).toHaveLength(2);
    } finally {
      await hf.close();
    }
  });
});
