import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../utils/free-port';
import { HookflowHarness } from '../utils/hookflow-harness';
import { SinkServer } from '../utils/sink-server';
import { waitFor } from '../utils/wait-for';

const WORKER = path.join(process.cwd(), 'dist', 'apps', 'worker', 'src', 'main.js');
const API = path.join(process.cwd(), 'dist', 'apps', 'api', 'src', 'main.js');
const LOGGER = path.join(process.cwd(), 'dist', 'libs', 'platform', 'src', 'logging', 'hookflow-logger.js');

/** A child process with its output kept; `lines()` are stdout's complete lines. */
class Child {
  stdout = '';
  stderr = '';
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(readonly process: ChildProcess) {
    process.stdout!.on('data', (d: Buffer) => (this.stdout += d.toString('utf8')));
    process.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString('utf8')));
    this.exit = new Promise((resolve) => process.once('exit', (code, signal) => resolve({ code, signal })));
  }

  lines(): string[] {
    return this.stdout.split('\n').slice(0, -1);
  }

  /** stdout's lines as JSON; throws naming the first line that is not. */
  records(): Record<string, any>[] {
    return this.lines().map((line) => {
      try {
        return JSON.parse(line) as Record<string, any>;
      } catch {
        throw new Error(`not a JSON line: ${line}`);
      }
    });
  }
}

/**
 * The worker as in production (its own process, LOG_FORMAT unset, NODE_ENV=production): every
 * line on stdout is one JSON object; a failed step's line names its run, flow, step and attempt
 * and carries no secret value and no body.
 */
describe('logs', () => {
  const TOKEN = `tok-${randomBytes(12).toString('hex')}`;
  // Lower-case letters and digits: it becomes a host name, so it shows up in network error messages.
  const HOST_PART = `h${randomBytes(8).toString('hex')}`;
  const BODY_MARKER = `body-${randomBytes(8).toString('hex')}`;
  let hf: HookflowHarness;
  let sink: SinkServer;
  let worker: Child;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    if (!existsSync(WORKER))
      throw new Error(`${WORKER} is missing: run npm run build (npm test does it first)`);
    sink = await SinkServer.start();
    hf = await HookflowHarness.start({ worker: false });
    for (const [name, value] of [
      ['TOKEN', TOKEN],
      ['HOST_PART', HOST_PART],
    ])
      await hf.http().put(`/api/secrets/${name}`).set(hf.auth).send({ value }).expect(204);
    const c = hf.config;
    env = {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      DATABASE_URL: c.databaseUrl,
      DATABASE_SCHEMA: c.databaseSchema,
      REDIS_URL: c.redisUrl,
      QUEUE_PREFIX: c.queuePrefix,
      HOOKFLOW_API_KEY: hf.apiKey,
      HOOKFLOW_MASTER_KEY: c.masterKey!.toString('base64'),
      WORKER_HEALTH_PORT: '0',
      OUTBOUND_ALLOW: '127.0.0.1/32',
      LOG_LEVEL: 'log',
    };
    worker = new Child(spawn(process.execPath, [WORKER], { env, stdio: ['ignore', 'pipe', 'pipe'] }));
    await waitFor(() => worker.stdout.includes('"msg":"worker running'), {
      timeoutMs: 30_000,
      what: `the worker to start; output so far:\n${worker.stdout}${worker.stderr}`,
    });
  });

  afterAll(async () => {
    if (worker && worker.process.exitCode === null && worker.process.signalCode === null) {
      worker.process.kill('SIGKILL');
      await worker.exit;
    }
    await hf?.close();
    await sink?.close();
  });

  /** Waits for the worker's line about a failed step of this run. */
  const failedStepLine = (runId: string) =>
    waitFor(
      () => worker.records().find((r) => r.runId === runId && String(r.msg).startsWith('step failed')),
      { timeoutMs: 20_000, what: `the worker's line about run ${runId}; output:\n${worker.stdout}` },
    );

  it('logs a failed step as one JSON line with runId, flow, step and attempt, its message scrubbed of secrets', async () => {
    const { hookPath } = await hf.createFlow({
      slug: 'log-unreachable',
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'call',
          type: 'action',
          connector: 'http',
          retry: { attempts: 2, backoff: 'fixed', delay: '10ms' },
          timeout: '3s',
          with: {
            url: "http://{{secret 'HOST_PART'}}.invalid/hook",
            headers: { authorization: "Bearer {{secret 'TOKEN'}}" },
          },
        },
      ],
    });
    const { body } = await hf.http().post(hookPath).send({ order: 1 }).expect(202);
    expect((await hf.waitForRun(body.runId)).status).toBe('failed');
    const line = await failedStepLine(body.runId);
    expect(line).toEqual({
      level: 'info',
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      app: 'worker',
      pid: worker.process.pid,
      hostname: expect.any(String),
      context: 'StepRunner',
      runId: body.runId,
      flow: 'log-unreachable',
      step: 'call',
      attempt: 2,
      code: 'network_error',
      msg: expect.stringContaining('[secret HOST_PART].invalid'),
    });
  });

  it('leaves the response body out of a failed step line', async () => {
    sink.script('/refuse', [{ status: 400, body: { error: BODY_MARKER, echo: TOKEN } }]);
    const { hookPath } = await hf.createFlow({
      slug: 'log-refused',
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'send',
          type: 'action',
          connector: 'http',
          with: { url: `${sink.url}/refuse`, json: { token: "{{secret 'TOKEN'}}", marker: BODY_MARKER } },
        },
      ],
    });
    const { body } = await hf.http().post(hookPath).send({ order: 2 }).expect(202);
    expect((await hf.waitForRun(body.runId)).status).toBe('failed');
    expect(sink.received('/refuse')[0].json).toEqual({ token: TOKEN, marker: BODY_MARKER });
    expect(await failedStepLine(body.runId)).toMatchObject({
      runId: body.runId,
      flow: 'log-refused',
      step: 'send',
      attempt: 1,
      code: 'http_error',
      msg: expect.stringContaining('HTTP 400'),
    });
  });

  it('writes nothing but JSON lines on stdout, and no secret value or body anywhere', () => {
    const records = worker.records();
    expect(records.length).toBeGreaterThan(2);
    for (const record of records) expect(record).toMatchObject({ app: 'worker', level: expect.any(String) });
    const all = worker.stdout + worker.stderr;
    for (const value of [TOKEN, HOST_PART, BODY_MARKER]) expect(all).not.toContain(value);
  });

  it('logs an unreachable Redis as JSON warnings, not as a stack on stderr at each reconnect attempt', async () => {
    const closed = {
      ...env,
      REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
      HOST: '127.0.0.1',
      PORT: '0',
    };
    const apps = [API, WORKER].map(
      (script) =>
        new Child(spawn(process.execPath, [script], { env: closed, stdio: ['ignore', 'pipe', 'pipe'] })),
    );
    const [api, down] = apps;
    const warned = (app: Child, what: string) =>
      app.stdout.includes(`"msg":"${what}: connect ECONNREFUSED 127.0.0.1:`);
    try {
      await waitFor(
        () =>
          warned(api, 'queue connection') &&
          warned(down, 'queue connection') &&
          warned(down, 'queue consumer'),
        {
          timeoutMs: 30_000,
          what: `the queue warnings; output so far:\n${apps.map((a) => a.stdout + a.stderr).join('\n')}`,
        },
      );
      for (const app of apps) {
        expect(app.stderr).toBe('');
        const warnings = app.records().filter((r) => /^queue (connection|consumer): /.test(r.msg));
        for (const warning of warnings) expect(warning.level).toBe('warn');
      }
    } finally {
      for (const app of apps) app.process.kill('SIGKILL');
      await Promise.all(apps.map((app) => app.exit));
    }
  });

  it('stops on SIGTERM with exit code 0, its last line complete', async () => {
    worker.process.kill('SIGTERM');
    expect(await worker.exit).toEqual({ code: 0, signal: null });
    expect(worker.stdout.endsWith('\n')).toBe(true);
    expect(() => worker.records()).not.toThrow();
  });

  it('writes every line it was given when the process exits at once (the asynchronous writer is flushed)', async () => {
    const script = `
      const { createHookflowLogger } = require(${JSON.stringify(LOGGER)});
      const logger = createHookflowLogger({ app: 'api', level: 'log', format: 'json' });
      for (let i = 0; i < 5000; i++) logger.log({ msg: 'line', i });
      process.exit(0);`;
    const child = new Child(spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] }));
    expect(await child.exit).toEqual({ code: 0, signal: null });
    expect(child.stderr).toBe('');
    const records = child.records();
    expect(records).toHaveLength(5000);
    expect(records[4999]).toMatchObject({ app: 'api', msg: 'line', i: 4999 });
  });
});
