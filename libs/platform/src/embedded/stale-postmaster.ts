import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The first two lines of PostgreSQL's `postmaster.pid`: the server's pid and its data directory. */
export interface PostmasterPidFile {
  pid: number;
  dataDir: string;
}

/** What the boot-time cleanup needs to know about other processes; faked in tests. */
export interface ProcessProbe {
  /** False for a pid that is gone or a zombie. */
  isAlive(pid: number): boolean;
  /** The process's argv, or undefined when it cannot be read (no /proc). */
  commandLine(pid: number): string[] | undefined;
  /** An opaque start time that tells a process from a later one reusing its pid. */
  startTime(pid: number): string | undefined;
}

/** The process that started the server, recorded next to the cluster while it runs. */
export interface ServerOwner {
  pid: number;
  startTime?: string;
}

export type StaleServerPlan =
  | { action: 'none' }
  | { action: 'remove-pid-file'; reason: string }
  | { action: 'stop-orphan'; pid: number }
  | { action: 'refuse'; reason: string };

/** Parses `postmaster.pid`; undefined when the file is truncated or garbled. */
export function parsePostmasterPidFile(text: string): PostmasterPidFile | undefined {
  const [pidLine, dataDirLine] = text.split('\n');
  const pid = Number(pidLine?.trim());
  if (!Number.isSafeInteger(pid) || pid <= 0 || !dataDirLine?.trim()) return undefined;
  return { pid, dataDir: dataDirLine.trim() };
}

/** True when `argv` is a postmaster started on `pgDir` (the postmaster keeps its original argv). */
export function isPostmasterFor(argv: string[], pgDir: string): boolean {
  if (path.basename(argv[0] ?? '') !== 'postgres') return false;
  const flag = argv.indexOf('-D');
  return flag >= 0 && argv[flag + 1] !== undefined && path.resolve(argv[flag + 1]) === path.resolve(pgDir);
}

/**
 * Decides about a `postmaster.pid` found at boot: an orphan (its launcher gone) is stopped, another
 * live Hookflow's server left alone, and a dead or reused pid is only a stale file.
 */
export function planStaleServerCleanup(input: {
  pidFileText: string | undefined;
  pgDir: string;
  owner: ServerOwner | undefined;
  probe: ProcessProbe;
}): StaleServerPlan {
  const { pidFileText, pgDir, owner, probe } = input;
  if (pidFileText === undefined) return { action: 'none' };
  const pidFile = parsePostmasterPidFile(pidFileText);
  if (!pidFile) return { action: 'remove-pid-file', reason: 'postmaster.pid is unreadable' };
  const { pid } = pidFile;
  if (!probe.isAlive(pid)) return { action: 'remove-pid-file', reason: `process ${pid} is gone` };
  const argv = probe.commandLine(pid);
  if (argv === undefined) {
    return {
      action: 'refuse',
      reason: `process ${pid} named in ${path.join(pgDir, 'postmaster.pid')} is running and cannot be inspected; stop it or delete the file`,
    };
  }
  if (!isPostmasterFor(argv, pgDir)) {
    return { action: 'remove-pid-file', reason: `pid ${pid} now belongs to another program` };
  }
  if (owner && ownerIsRunning(owner, probe)) {
    return {
      action: 'refuse',
      reason: `the embedded PostgreSQL in ${pgDir} is in use by another Hookflow process (pid ${owner.pid}); stop that one first`,
    };
  }
  return { action: 'stop-orphan', pid };
}

function ownerIsRunning(owner: ServerOwner, probe: ProcessProbe): boolean {
  if (!probe.isAlive(owner.pid)) return false;
  // Without a recorded start time a live pid may be a reused one; assume the owner to stay safe.
  return owner.startTime === undefined || probe.startTime(owner.pid) === owner.startTime;
}

/** Reads process facts from /proc on Linux; elsewhere only liveness is known. */
export const procfsProbe: ProcessProbe = {
  isAlive(pid) {
    try {
      process.kill(pid, 0);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
    }
    // A zombie still answers kill(0) but will never exit by itself.
    return procStatFields(pid)?.[0] !== 'Z';
  },
  commandLine(pid) {
    if (process.platform !== 'linux') return undefined;
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    } catch {
      return [];
    }
  },
  startTime(pid) {
    // Field 22 of /proc/<pid>/stat, the start time in clock ticks since boot.
    return procStatFields(pid)?.[19];
  },
};

/** Fields of /proc/<pid>/stat from the third (state) on; the command name may contain spaces. */
export function procStatFields(pid: number): string[] | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat
      .slice(stat.lastIndexOf(')') + 2)
      .trim()
      .split(' ');
  } catch {
    return undefined;
  }
}
