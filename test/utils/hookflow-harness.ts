import type { INestApplicationContext } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { loadConfig, type HookflowConfig } from '@hookflow/platform';
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { Client } from 'pg';
import request from 'supertest';
import { createApiApp } from '../../apps/api/src/bootstrap';
import { createWorkerApp } from '../../apps/worker/src/bootstrap';
import { AppProcess } from './app-process';
import { freePort } from './free-port';
import { waitFor } from './wait-for';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface HarnessOptions {
  /** Start the worker too (default true). */
  worker?: boolean;
  /** Queue on Redis (default) or on BullMQ's PostgreSQL backend. */
  queue?: 'redis' | 'postgres';
  env?: Record<string, string>;
  /**
   * Run API and worker as child processes from dist/ (`npm run build` first), as in production,
   * instead of in this process: for tests that signal or kill them.
   */
  processes?: boolean;
  /** A PostgreSQL of the test's own instead of the shared one (a test that stops it). */
  databaseUrl?: string;
  /** A Redis of the test's own instead of the shared one (a test that stops it). */
  redisUrl?: string;
  /**
   * Process mode with this many API processes and as many worker processes (default 1), each on
   * ports of its own: claims, joins and dedupe then race across processes, as with replicas.
   */
  replicas?: number;
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
  /** Process mode: the apps' environment, and the apps themselves while they run. */
  env: Record<string, string> = {};
  /** Process mode: the API and the worker started last. */
  apiProcess: AppProcess | undefined;
  workerProcess: AppProcess | undefined;
  /** Process mode: every API and worker process started, in order. */
  readonly apiProcesses: AppProcess[] = [];
  readonly workerProcesses: AppProcess[] = [];
  /** Process mode: each API replica's base URL (the first is `apiUrl`). */
  apiUrls: string[] = [];
  /** Process mode: each worker's health and metrics URL, in the order of `workerProcesses`. */
  readonly workerUrls: string[] = [];
  private opts: HarnessOptions = {};

  static async start(options: HarnessOptions = {}): Promise<HookflowHarness> {
    const opts = options.replicas ? { ...options, processes: true } : options;
    const h = new HookflowHarness();
    h.opts = opts;
    h.env = {
      DATABASE_URL: opts.databaseUrl ?? TEST_DATABASE_URL,
      ...(opts.queue === 'postgres' ? {} : { REDIS_URL: opts.redisUrl ?? TEST_REDIS_URL }),
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
      ...(opts.processes
        ? { PORT: String(await freePort()), WORKER_HEALTH_PORT: String(await freePort()) }
        : {}),
      ...opts.env,
    };
    h.config = loadConfig(h.env);
    if (opts.processes) {
      const replicas = opts.replicas ?? 1;
      const apiPorts = [h.config.port];
      const workerPorts = [h.config.workerHealthPort];
      for (let i = 1; i < replicas; i++) {
        apiPorts.push(await freePort());
        workerPorts.push(await freePort());
      }
      h.apiUrls = apiPorts.map((port) => `http://127.0.0.1:${port}`);
      // Replicas start together, as they would in a deployment (migrations take a lock).
      await Promise.all(apiPorts.map((port) => h.startApi({ PORT: String(port) })));
      if (opts.worker !== false)
        await Promise.all(workerPorts.map((port) => h.startWorker({ WORKER_HEALTH_PORT: String(port) })));
      return h;
    }
    // Logs through process.stdout.write (not the apps' own asynchronous writer on fd 1), so a test can capture them.
    h.api = await createApiApp(h.config, { logDestination: process.stdout });
    await h.api.listen(0, '127.0.0.1');
    if (opts.worker !== false) await h.startWorker();
    return h;
  }

  /** Process mode: starts an API process (again); `env` overrides the harness's (its PORT, say). */
  async startApi(env: Record<string, string> = {}): Promise<void> {
    const api = await AppProcess.start('api', { ...process.env, ...this.env, ...env });
    this.apiProcesses.push(api);
    this.apiProcess = api;
  }

  /**
   * Starts a worker; in process mode another process, `env` overriding the harness's (a worker
   * started beside a running one needs a WORKER_HEALTH_PORT of its own).
   */
  async startWorker(env: Record<string, string> = {}): Promise<void> {
    if (this.opts.processes) {
      const worker = await AppProcess.start('worker', { ...process.env, ...this.env, ...env });
      this.workerUrls.push(`http://127.0.0.1:${env.WORKER_HEALTH_PORT ?? this.config.workerHealthPort}`);
      this.workerProcesses.push(worker);
      this.workerProcess = worker;
      return;
    }
    this.worker = await createWorkerApp(this.config, { logDestination: process.stdout });
  }

  async stopWorker(): Promise<void> {
    await this.workerProcess?.stop();
    this.workerProcess = undefined;
    await this.worker?.close();
    this.worker = undefined;
  }

  /** The API's base URL in process mode. */
  get apiUrl(): string {
    return `http://127.0.0.1:${this.config.port}`;
  }

  /** The worker's health and metrics port in process mode. */
  get workerUrl(): string {
    return `http://127.0.0.1:${this.config.workerHealthPort}`;
  }

  /** supertest against the running API (in process mode with replicas, the `replica`th). */
  http(replica = 0) {
    if (this.opts.processes) return request(this.apiUrls[replica] ?? this.apiUrl);
    return request(this.api.getHttpServer());
  }

  /** Process mode: every app's output, for a failure message. */
  logs(): string {
    return [
      ...this.apiProcesses.map((p, i) => [`api ${i + 1}`, p] as const),
      ...this.workerProcesses.map((p, i) => [`worker ${i + 1}`, p] as const),
    ]
      .map(([name, p]) => `${name}:\n${p.output}`)
      .join('\n');
  }

  /** Authorization header for the management API. */
  get auth(): Record<string, string> {
    return { authorization: `Bearer ${this.apiKey}` };
  }

  /** Creates a flow and returns its trigger path (`/hooks/<key>`, empty for a schedule or a poll) and the API's answer. */
  async createFlow(definition: unknown): Promise<{ hookPath: string; flow: Record<string, any> }> {
    const res = await this.http()
      .post('/api/flows')
      .set(this.auth)
      .send(definition as object);
    if (res.status !== 201)
      throw new Error(`creating flow failed: ${res.status} ${JSON.stringify(res.body)}`);
    // A schedule or a poll has no trigger URL.
    return { hookPath: res.body.triggerUrl ? new URL(res.body.triggerUrl).pathname : '', flow: res.body };
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
    await Promise.all(
      [...this.workerProcesses, ...this.apiProcesses].filter((p) => p.running).map((p) => p.stop()),
    );
    await this.worker?.close();
    await this.api?.close();
    // A test's own PostgreSQL and Redis are thrown away whole.
    if (this.opts.databaseUrl || this.opts.redisUrl) return;
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
