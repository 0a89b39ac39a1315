import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { waitFor } from './wait-for';

export type AppName = 'api' | 'worker';

export interface AppExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const READY_TIMEOUT_MS = 30_000;
const MAX_OUTPUT_CHARS = 200_000;

/**
 * One Hookflow app (`dist/apps/<name>/src/main.js`) as a child process, as in production. It has an
 * IPC channel, as under the launcher: it says when it is ready, and exits by itself if this test
 * process dies. Its output is kept for failure messages.
 */
export class AppProcess {
  output = '';
  readonly exited: Promise<AppExit>;
  private readonly child: ChildProcess;

  private constructor(
    readonly name: AppName,
    env: NodeJS.ProcessEnv,
  ) {
    const script = path.join(process.cwd(), 'dist', 'apps', name, 'src', 'main.js');
    if (!existsSync(script)) throw new Error(`${script} is missing: run npm run build first`);
    this.child = spawn(process.execPath, [script], { env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString('utf8')).slice(-MAX_OUTPUT_CHARS);
    };
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => resolve({ code, signal })),
    );
  }

  /** Starts the app and resolves once it reports ready (API listening, worker consuming). */
  static async start(name: AppName, env: NodeJS.ProcessEnv): Promise<AppProcess> {
    const app = new AppProcess(name, env);
    const ready = new Promise<void>((resolve) =>
      app.child.on('message', (m) => (m as { type?: string }).type === 'ready' && resolve()),
    );
    const outcome = await Promise.race([
      ready.then(() => 'ready' as const),
      app.exited.then(() => 'exited' as const),
      new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), READY_TIMEOUT_MS).unref()),
    ]);
    if (outcome !== 'ready') {
      app.kill('SIGKILL');
      throw new Error(
        `the ${name} ${outcome === 'late' ? 'was not ready in time' : 'exited'}:\n${app.output}`,
      );
    }
    return app;
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  kill(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  /** Sends `signal` and waits for the exit; SIGKILL if it is not gone within `timeoutMs`. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 45_000): Promise<AppExit> {
    this.kill(signal);
    try {
      await waitFor(() => !this.running, { timeoutMs, what: `the ${this.name} to exit after ${signal}` });
    } catch (err) {
      this.kill('SIGKILL');
      throw err;
    }
    return this.exited;
  }
}
