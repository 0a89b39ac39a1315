import { startEmbeddedPostgres, type EmbeddedPostgres } from '@hookflow/platform/embedded';
import { procfsProbe, procStatFields } from '../../libs/platform/src/embedded/stale-postmaster';
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './free-port';
import { waitFor } from './wait-for';

/**
 * A redis-server of the test's own on a free loopback port, without persistence (a restart empties
 * it, the harshest case for "never lost"), for tests that stop and restart Redis: the shared one on
 * 6379 serves other test files at the same time.
 */
export class OwnRedis {
  private child: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    private readonly extraArgs: string[],
  ) {}

  /** `extraArgs` go after the defaults, so they win (`--maxmemory-policy allkeys-lru`, say). */
  static async start(extraArgs: string[] = []): Promise<OwnRedis> {
    const redis = new OwnRedis(await freePort(), extraArgs);
    await redis.restart();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts it (again) on the same port and waits until it answers PING. */
  async restart(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    this.child = spawn('redis-server', [...args, '--maxmemory-policy', 'noeviction', ...this.extraArgs], {
      stdio: 'ignore',
    });
    await waitFor(() => this.ping(), { timeoutMs: 10_000, what: `redis-server on port ${this.port}` });
  }

  /** Stops it (SIGKILL by default: a crash) and waits for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }

  private ping(): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = net.connect(this.port, '127.0.0.1');
      socket.setTimeout(1_000);
      socket.once('connect', () => socket.write('PING\r\n'));
      socket.once('data', (data) => {
        resolve(data.toString().startsWith('+PONG'));
        socket.destroy();
      });
      socket.once('error', () => resolve(false));
      socket.once('timeout', () => {
        resolve(false);
        socket.destroy();
      });
    });
  }
}

/**
 * A PostgreSQL of the test's own (libs/platform's embedded server) in a temporary directory, on a
 * fixed free port so that it can be stopped and started again under the same URL.
 */
export class OwnPostgres {
  private server: EmbeddedPostgres | undefined;

  private constructor(
    readonly dataDir: string,
    readonly port: number,
  ) {}

  static async start(): Promise<OwnPostgres> {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'hookflow-own-pg-'));
    const pg = new OwnPostgres(dataDir, await freePort());
    await pg.restart();
    return pg;
  }

  get url(): string {
    if (!this.server) throw new Error('PostgreSQL is not running');
    return this.server.url;
  }

  async restart(): Promise<void> {
    this.server = await startEmbeddedPostgres({ dataDir: this.dataDir, port: this.port });
  }

  /** A fast shutdown: open connections are cut, as when a database server restarts. */
  async stop(): Promise<void> {
    await this.server?.stop();
  }

  /**
   * A crash: SIGKILL to the whole server at once (postmaster, backends, WAL writer, in their own
   * process group), so nothing is flushed or checkpointed on the way out; the next start recovers
   * from the WAL. Commits made with `synchronous_commit = off` and not yet written are lost.
   */
  async crash(): Promise<void> {
    if (!this.server) throw new Error('PostgreSQL is not running');
    const pidFile = await fs.readFile(path.join(this.server.clusterDir, 'postmaster.pid'), 'utf8');
    const postmaster = Number(pidFile.split('\n')[0]);
    // Fields from the third on: state, ppid, pgrp.
    const group = Number(procStatFields(postmaster)?.[2]);
    if (!Number.isSafeInteger(group) || group <= 1) throw new Error(`no process group for pid ${postmaster}`);
    process.kill(-group, 'SIGKILL');
    await waitFor(() => !procfsProbe.isAlive(postmaster), {
      timeoutMs: 10_000,
      what: 'the postmaster to die',
    });
    this.server = undefined;
  }

  /** Stops it and removes its files. */
  async destroy(): Promise<void> {
    await this.stop();
    this.server = undefined;
    await fs.rm(this.dataDir, { recursive: true, force: true });
  }
}
