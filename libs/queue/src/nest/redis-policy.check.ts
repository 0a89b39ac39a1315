import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { HOOKFLOW_CONFIG, type HookflowConfig } from '@hookflow/platform';
import { judgeRedisPolicy, readRedisPolicy, type RedisPolicyVerdict } from '../redis-policy';

/** At start, warns loudly when Redis may evict keys (not `noeviction`); a risk is not worth an outage. */
@Injectable()
export class RedisPolicyCheck implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Redis');
  /** The check under way or done; undefined without Redis. */
  verdict: Promise<RedisPolicyVerdict | undefined> = Promise.resolve(undefined);

  constructor(@Inject(HOOKFLOW_CONFIG) private readonly config: HookflowConfig) {}

  onApplicationBootstrap(): void {
    const url = this.config.redisUrl;
    if (!url) return;
    // Not awaited: start-up does not wait on a Redis that is down (the API answers 503 meanwhile).
    this.verdict = readRedisPolicy(url).then((reading) => {
      const verdict = judgeRedisPolicy(reading);
      if (verdict.level === 'error') this.logger.error(verdict.message);
      else if (verdict.level === 'warn') this.logger.warn(verdict.message);
      else this.logger.debug(verdict.message);
      return verdict;
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.verdict;
  }
}
