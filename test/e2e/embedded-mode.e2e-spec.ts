import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { APP_NODE_FLAGS, MALLOC_TUNABLES } from '@hookflow/platform/embedded';
import { procfsProbe, procStatFields } from '../../libs/platform/src/embedded/stale-postmaster';
import { freePort } from '../utils/free-port';
import { SinkServer } from '../utils/sink-server';
import { waitFor } from '../utils/wait-for';

const LAUNCHER = path.join(process.cwd(), 'dist', 'apps', 'launcher', 'src', 'main.js');

/**
 * What a newcomer gets from `npm start` with nothing configured: the built launcher, an embedded
 * PostgreSQL under a fresh data directory, the queue on it, API and worker as child processes.
 * Runs the real processes, restarts them cleanly and after a SIGKILL, and checks nothing is lost.
 */
describe('embedded mode (npm start with nothing configured)', () => {
  let dataDir: string;
  let sink: SinkServer;
  let port: number;
  let launcher: ChildProcess | undefined;
  let output = '';

  beforeAll(async () => {
    if (!existsSync(LAUNCHER))
      throw new Error(`${LAUNCHER} is missing: run npm run build (npm test does it first)`);
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'hookflow-embedded-'));
    sink = await SinkServer.start();
    port = await freePort();
  });

  afterAll(async () => {
    if (launcher && launcher.exitCode === null) {
      launcher.kill('SIGTERM');
      await exited(launcher);
    }
    await sink?.close();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  async function start(): Promise<{ api: ReturnType<typeof request>; key: string; startMs: number }> {
    const t0 = Date.now();
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), HOOKFLOW_DATA_DIR: dataDir };
    for (const name of [
      'DATABASE_URL',
      'REDIS_URL',
      'HOOKFLOW_API_KEY',
      'HOOKFLOW_MASTER_KEY',
      'PUBLIC_URL',
      'GLIBC_TUNABLES',
    ])
      delete env[name];
    env.WORKER_HEALTH_PORT = '0';
    env.LOG_LEVEL = 'warn';
    // The sink is on 127.0.0.1, which the outbound SSRF guard refuses by default.
    env.OUTBOUND_ALLOW = '127.0.0.1/32';
    launcher = spawn(process.execPath, [LAUNCHER], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    launcher.stdout!.on('data', (d) => (output += d));
    launcher.stderr!.on('data', (d) => (output += d));
    const api = request(`http://127.0.0.1:${port}`);
    await waitFor(async () => (await api.get('/health/ready')).status === 200, {
      timeoutMs: 45_000,
      what: `the launcher to be ready; output so far:\n${output}`,
    });
    await waitFor(() => output.includes('running at'), { timeoutMs: 10_000, what: 'the worker to be ready' });
    const key = (await fs.readFile(path.join(dataDir, 'api-key'), 'utf8')).trim();
    return { api, key, startMs: Date.now() - t0 };
  }

  const tripsMs: number[] = [];

  async function deliver(api: ReturnType<typeof request>, hookPath: string, n: number): Promise<string> {
    const t0 = Date.now();
    const { body } = await api.post(hookPath).send({ n }).expect(202);
    await sink.waitForRequests('/embedded', n, 20_000);
    tripsMs.push(Date.now() - t0);
    return body.runId;
  }

  it('delivers a webhook and keeps flows and runs across a restart and a SIGKILL', async () => {
    const first = await start();
    expect(output).toContain(path.join(dataDir, 'api-key'));
    // API and worker run with the malloc settings and their node flags.
    const apps = await appProcesses(launcher!.pid!);
    expect(Object.keys(apps).sort()).toEqual(['api', 'worker']);
    for (const app of Object.values(apps)) {
      expect(app.env.GLIBC_TUNABLES).toBe(MALLOC_TUNABLES);
      expect(app.args).toEqual(expect.arrayContaining([...APP_NODE_FLAGS]));
    }
    await first.api.get('/api/flows').expect(401);
    // The secret store works out of the box: its key was generated beside the database, 0600.
    const masterKeyFile = path.join(dataDir, 'master-key');
    expect((await fs.stat(masterKeyFile)).mode & 0o777).toBe(0o600);
    await first.api
      .put('/api/secrets/EMBED_TOKEN')
      .set('authorization', `Bearer ${first.key}`)
      .send({ value: 'embedded-token-value' })
      .expect(204);
    const created = await first.api
      .post('/api/flows')
      .set('authorization', `Bearer ${first.key}`)
      .send({
        slug: 'embedded',
        trigger: { type: 'webhook' },
        steps: [
          { id: 'shape', type: 'transform', expression: "{ 'n': n, 'via': 'embedded' }" },
          {
            id: 'send',
            type: 'action',
            connector: 'http',
            with: {
              url: `${sink.url}/embedded`,
              headers: { 'x-token': "{{secret 'EMBED_TOKEN'}}" },
              json: '{{input}}',
            },
          },
        ],
      })
      .expect(201);
    const hookPath = new URL(created.body.triggerUrl).pathname;
    const run1 = await deliver(first.api, hookPath, 1);
    expect(sink.received('/embedded')[0].json).toEqual({ n: 1, via: 'embedded' });
    expect(sink.received('/embedded')[0].headers['x-token']).toBe('embedded-token-value');
    const masterKey = await fs.readFile(masterKeyFile, 'utf8');

    // A clean stop: SIGTERM to the launcher stops API, worker and PostgreSQL, exit 0.
    launcher!.kill('SIGTERM');
    expect(await exited(launcher!)).toBe(0);

    const second = await start();
    const auth = { authorization: `Bearer ${second.key}` };
    expect(second.key).toBe(first.key);
    await second.api.get('/api/flows/embedded').set(auth).expect(200);
    const run = await second.api.get(`/api/runs/${run1}`).set(auth).expect(200);
    expect(run.body.status).toBe('succeeded');
    await deliver(second.api, hookPath, 2);
    // The same master key after a restart, so the stored secret still decrypts.
    expect(await fs.readFile(masterKeyFile, 'utf8')).toBe(masterKey);
    expect(sink.received('/embedded')[1].headers['x-token']).toBe('embedded-token-value');

    // The hard way: SIGKILL the launcher. Its apps and PostgreSQL follow it (launcher-lifecycle checks every process).
    launcher!.kill('SIGKILL');
    await exited(launcher!);
    await waitFor(
      async () => (await second.api.get('/health/live').catch(() => ({ status: 0 }))).status === 0,
      {
        timeoutMs: 15_000,
        what: 'the orphaned API to exit after its launcher was killed',
      },
    );
    const third = await start();
    const runs = await third.api.get('/api/runs?flow=embedded').set(auth).expect(200);
    expect(runs.body.items).toHaveLength(2);
    await deliver(third.api, hookPath, 3);
    // Figures for the record (never asserted): start-up and a webhook's trip from trigger to receiver.
    console.log(
      `embedded mode: first start ${first.startMs} ms, warm start ${second.startMs} ms, ` +
        `start after SIGKILL ${third.startMs} ms; webhook trips ${tripsMs.join(', ')} ms`,
    );
  });
});

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** The launcher's app processes by name, with the command line and environment Linux reports. */
async function appProcesses(
  launcherPid: number,
): Promise<Record<string, { args: string[]; env: Record<string, string> }>> {
  const apps: Record<string, { args: string[]; env: Record<string, string> }> = {};
  for (const pid of (await fs.readdir('/proc')).filter((name) => /^\d+$/.test(name)).map(Number)) {
    // Field 4 of /proc/<pid>/stat is the parent's pid; a process that ended meanwhile reads as none.
    if (Number(procStatFields(pid)?.[1]) !== launcherPid) continue;
    const args = procfsProbe.commandLine(pid) ?? [];
    const name = /dist\/apps\/(api|worker)\/src\/main\.js$/.exec(args[args.length - 1] ?? '')?.[1];
    if (!name) continue; // the embedded PostgreSQL
    const environ = await fs.readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '');
    const env = Object.fromEntries(
      environ
        .split('\0')
        .filter(Boolean)
        .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    );
    apps[name] = { args, env };
  }
  return apps;
}
