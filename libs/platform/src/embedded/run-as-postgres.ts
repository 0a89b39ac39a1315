import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs, type Stats } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { exists, readIfExists } from './files';

/** The account PostgreSQL runs as when we are root. */
export interface RunAs {
  uid: number;
  gid: number;
}

/** The PostgreSQL installation: its `bin`, `lib` and `share` folders under `root`. */
export interface PostgresBinaries {
  root: string;
  /** The npm package's version, which names a copy of the installation. */
  version: string;
  initdb: string;
  postgres: string;
}

const execFileAsync = promisify(execFile);
const RUN_CHECK_TIMEOUT_MS = 10_000;

export function binariesIn(root: string, version: string): PostgresBinaries {
  return {
    root,
    version,
    initdb: path.join(root, 'bin', 'initdb'),
    postgres: path.join(root, 'bin', 'postgres'),
  };
}

/** PostgreSQL refuses to run as root, so root runs it as `postgres`, creating that user if needed. */
export async function postgresAccount(log: (line: string) => void): Promise<RunAs | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const found = await lookUpAccount('postgres');
  if (found) return found;
  log('creating the system user "postgres": PostgreSQL refuses to run as root');
  await execFileAsync('groupadd', ['-r', 'postgres']).catch(() => undefined);
  const created = await execFileAsync('useradd', ['-r', '-g', 'postgres', 'postgres']).then(
    () => undefined,
    (error: Error) => error,
  );
  const account = await lookUpAccount('postgres');
  if (!account) {
    throw new Error(
      `PostgreSQL refuses to run as root and no "postgres" user could be created (${created?.message ?? 'unknown error'}); create one or run Hookflow as a normal user`,
    );
  }
  return account;
}

async function lookUpAccount(name: string): Promise<RunAs | undefined> {
  try {
    const [uid, gid] = await Promise.all(
      ['-u', '-g'].map(async (flag) => (await execFileAsync('id', [flag, name])).stdout.trim()),
    );
    return { uid: Number(uid), gid: Number(gid) };
  } catch {
    return undefined;
  }
}

/** The installation as `runAs` can run it: in place, or a copy under `<systemDir>/postgres/<version>`. */
export async function reachableBinaries(input: {
  binaries: PostgresBinaries;
  runAs: RunAs;
  systemDir: string;
  log: (line: string) => void;
}): Promise<PostgresBinaries> {
  const { binaries, runAs, systemDir, log } = input;
  if (await canRun(binaries.postgres, runAs)) return binaries;
  const copy = binariesIn(path.join(systemDir, 'postgres', binaries.version), binaries.version);
  if (await canRun(copy.postgres, runAs)) return copy;

  log(`copying PostgreSQL to ${copy.root}: the postgres user cannot run it from ${binaries.root}`);
  await makeSharedDir(systemDir, runAs);
  await makeSharedDir(path.dirname(copy.root), runAs);
  const partial = `${copy.root}.partial-${randomBytes(4).toString('hex')}`;
  try {
    // Relative symlinks (libicu*.so -> libicu*.so.NN) must stay relative inside the copy.
    await fs.cp(binaries.root, partial, { recursive: true, verbatimSymlinks: true });
    await fs.chmod(partial, 0o755);
    // A copy that cannot run (half deleted) is replaced; a launcher that got there first wins.
    await fs.rm(copy.root, { recursive: true, force: true });
    await fs.rename(partial, copy.root).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST' && error.code !== 'ENOTEMPTY') throw error;
    });
  } finally {
    await fs.rm(partial, { recursive: true, force: true });
  }
  if (!(await canRun(copy.postgres, runAs))) {
    throw new Error(
      `the postgres user cannot run ${copy.postgres} either; check the permissions of ${systemDir}`,
    );
  }
  return copy;
}

/** True when `runAs` can start `binary` (with its libraries): `postgres --version` answers. */
function canRun(binary: string, runAs: RunAs): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(binary, ['--version'], { stdio: 'ignore', uid: runAs.uid, gid: runAs.gid, cwd: '/' });
    // Not spawn's own timeout: its timer outlives a spawn that fails (EACCES), which emits no 'exit'.
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_CHECK_TIMEOUT_MS);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      resolve(ok);
    };
    child.once('error', () => done(false));
    child.once('exit', (code) => done(code === 0));
  });
}

/**
 * Where the cluster lives when we are root: `<dataDir>/pg`, or with `relocate` under `systemDir`,
 * recorded in `<dataDir>/pg-location` (docs/operations.md, One machine).
 */
export async function clusterDirectory(input: {
  dataDir: string;
  runAs: RunAs | undefined;
  relocate: boolean;
  systemDir: string;
  log: (line: string) => void;
}): Promise<string> {
  const { dataDir, runAs, relocate, systemDir, log } = input;
  const locationFile = path.join(dataDir, 'pg-location');
  const recorded = (await readIfExists(locationFile))?.trim();
  if (recorded) {
    if (!path.isAbsolute(recorded)) throw new Error(`${locationFile} must hold an absolute path`);
    if (runAs) await prepareHome(path.dirname(recorded), runAs);
    return recorded;
  }
  const inPlace = path.join(dataDir, 'pg');
  if (!runAs) return inPlace;
  const blocked = await firstUnreachableAncestor(dataDir, runAs);
  if (!blocked) {
    await makeReachable(dataDir, runAs);
    return inPlace;
  }
  if (!relocate) {
    throw new Error(
      `PostgreSQL runs as the "postgres" user, which cannot enter ${blocked}; choose a data directory it can reach`,
    );
  }
  if (await exists(inPlace)) {
    throw new Error(
      `PostgreSQL runs as the "postgres" user, which cannot enter ${blocked}, so it cannot use the cluster in ${inPlace}; let it pass (chmod o+x ${blocked}) or move the checkout somewhere it can reach`,
    );
  }
  const id = createHash('sha256').update(dataDir).digest('hex').slice(0, 16);
  const home = path.join(systemDir, id);
  await makeSharedDir(systemDir, runAs);
  await prepareHome(home, runAs);
  const relocated = path.join(home, 'pg');
  await fs.writeFile(locationFile, relocated + '\n', { mode: 0o600 });
  log(
    `the postgres user cannot enter ${blocked}, so the cluster goes to ${relocated} (recorded in ${locationFile})`,
  );
  return relocated;
}

/** The folder that holds a relocated cluster: root's, which `runAs` may enter (created when missing). */
async function prepareHome(home: string, runAs: RunAs): Promise<void> {
  if (!(await exists(path.dirname(home)))) await makeSharedDir(path.dirname(home), runAs);
  await fs.mkdir(home, { mode: 0o700 }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  await makeReachable(home, runAs);
}

/** Lets `runAs` enter `dir` (group search bit only) and checks that it can reach it. */
async function makeReachable(dir: string, runAs: RunAs): Promise<void> {
  const stat = await fs.stat(dir);
  if (!canSearch(stat, runAs)) {
    await fs.chown(dir, stat.uid, runAs.gid);
    await fs.chmod(dir, (stat.mode & 0o7777) | 0o010);
  }
  const blocked = await firstUnreachableAncestor(dir, runAs);
  if (blocked) {
    throw new Error(`PostgreSQL runs as the "postgres" user, which cannot enter ${blocked}`);
  }
}

/** A folder of root's that every account may enter, such as /var/lib/hookflow. */
async function makeSharedDir(dir: string, runAs: RunAs): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: 0o755 });
  // mkdir's mode goes through root's umask, which may be 077.
  const stat = await fs.stat(dir);
  if (!canSearch(stat, runAs)) await fs.chmod(dir, (stat.mode & 0o7777) | 0o055);
  const blocked = await firstUnreachableAncestor(dir, runAs);
  if (blocked) throw new Error(`PostgreSQL runs as the "postgres" user, which cannot enter ${blocked}`);
}

/** The nearest ancestor of `dir` (not `dir` itself) that `runAs` cannot enter. */
async function firstUnreachableAncestor(dir: string, runAs: RunAs): Promise<string | undefined> {
  for (let parent = path.dirname(dir); ; parent = path.dirname(parent)) {
    if (!canSearch(await fs.stat(parent), runAs)) return parent;
    if (parent === path.dirname(parent)) return undefined;
  }
}

/** Only the account's own group counts: Node drops supplementary groups when it switches user. */
function canSearch(stat: Stats, runAs: RunAs): boolean {
  if (stat.uid === runAs.uid) return (stat.mode & 0o100) !== 0;
  if (stat.gid === runAs.gid) return (stat.mode & 0o010) !== 0;
  return (stat.mode & 0o001) !== 0;
}
