import type { INestApplicationContext } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { loadConfig, type HookflowConfig } from '@hookflow/store';
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { Client } from 'pg';
import request from 'supertest';
import { createApiApp } from '../../apps/api/src/bootstrap';
import { createWorkerApp } from '../../apps/worker/src/bootstrap';
import { waitFor } from './wait-for';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface HarnessOptions {
  /** Start the worker too (default true). */
  worker?: boolean;
  /** Queue on Redis (default) or on BullMQ's PostgreSQL backend. */
  queue?: 'redis' | 'postgres';
  env?: Record<string, string>;
}

/**
 * Boots the real API and worker in this process against real PostgreSQL and Redis, isolated by a
 * fresh database schema and queue prefix, and tears all of it down again.
 */
export class HookflowHarness {
  readonly apiKey = `test-${randomBytes(16).toString('hex')}`;
  readonly id = `hf_t${randomBytes(5).toString('hex')}`;
  config: HookflowConfig;
  api: NestFastifyApplication;
  worker: INestApplicationContext | undefined;

  static async start(opts: HarnessOptions = {}): Promise<HookflowHarness> {
    const h = new HookflowHarness();
    h.config = loadConfig({
      DATABASE_URL: TEST_DATABASE_URL,
      ...(opts.queue === 'postgres' ? {} : { REDIS_URL: TEST_REDIS_URL }),
      HOOKFLOW_API_KEY: h.apiKey,
      // A fresh secret-store key per harness; `env: { HOOKFLOW_MASTER_KEY: '' }` runs without one.
      HOOKFLOW_MASTER_KEY: randomBytes(32).toString('base64'),
      DATABASE_SCHEMA: h.id,
      QUEUE_PREFIX: h.id,
      PORT: '0',
      HOST: '127.0.0.1',
      WORKER_HEALTH_PORT: '0',
      WORKER_CONCURRENCY: '8',
      LOG_LEVEL: 'warn',
      // No flow files unless a test asks for them (the repository's own flows/ holds examples).
      FLOWS_DIR: `/nonexistent/${h.id}`,
      // Test receivers listen on 127.0.0.1, which the outbound SSRF guard refuses by default.
      OUTBOUND_ALLOW: '127.0.0.1/32',
      ...opts.env,
    });
    h.api = await createApiApp(h.config);
    await h.api.listen(0, '127.0.0.1');
    if (opts.worker !== false) await h.startWorker();
    return h;
  }

  async startWorker(): Promise<void> {
    this.worker = await createWorkerApp(this.config);
  }

  async stopWorker(): Promise<void> {
    await this.worker?.close();
    this.worker = undefined;
  }

  /** supertest against the running API. */
  http() {
    return request(this.api.getHttpServer());
  }

  /** Authorization header for the management API. */
  get auth(): Record<string, string> {
    return { authorization: `Bearer ${this.apiKey}` };
  }

  /** Creates a flow and returns its trigger path (`/hooks/<key>`) and the API's answer. */
  async createFlow(definition: unknown): Promise<{ hookPath: string; flow: Record<string, any> }> {
    const res = await this.http()
      .post('/api/flows')
      .set(this.auth)
      .send(definition as object);
    if (res.status !== 201)
      throw new Error(`creating flow failed: ${res.status} ${JSON.stringify(res.body)}`);
    return { hookPath: new URL(res.body.triggerUrl).pathname, flow: res.body };
  }

  async getRun(runId: string): Promise<Record<string, any>> {
    const res = await this.http().get(`/api/runs/${runId}`).set(this.auth);
    if (res.status !== 200) throw new Error(`GET run ${runId}: ${res.status}`);
    return res.body;
  }

  /** Waits until the run reaches a final status and returns it. */
  async waitForRun(runId: string, timeoutMs = 20_000): Promise<Record<string, any>> {
    return waitFor(
      async () => {
        const run = await this.getRun(runId);
        return ['succeeded', 'failed', 'filtered', 'cancelled'].includes(run.status) ? run : undefined;
      },
      { timeoutMs, what: `run ${runId} to finish` },
    );
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.api?.close();
    if (this.config.redisUrl) {
      const redis = new Redis(this.config.redisUrl, { lazyConnect: true, retryStrategy: () => null });
      try {
        await redis.connect();
        const keys = await redis.keys(`${this.id}:*`);
        if (keys.length > 0) await redis.del(...keys);
      } catch {
        // Redis unreachable on purpose (an outage test): nothing was stored there.
      } finally {
        redis.disconnect();
      }
    }
    const client = new Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
    try {
      await client.query(`DROP SCHEMA IF EXISTS "${this.id}" CASCADE`);
      await client.query(`DROP SCHEMA IF EXISTS "${this.id}_queue" CASCADE`);
    } finally {
      await client.end();
    }
  }
}
