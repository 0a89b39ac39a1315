import { spawn, type ChildProcess } from 'node:child_process';
import { isReadyMessage } from '@hookflow/platform/embedded';

export interface AppSpec {
  name: string;
  /** Absolute path of the compiled entry point. */
  script: string;
  /** Node flags before the script (V8's heap sizes are fixed when the process starts). */
  nodeFlags?: readonly string[];
}

export interface AppExit {
  name: string;
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Runs the apps as child processes: readiness over IPC, the first exit, a stop escalating to SIGKILL. */
export class AppSupervisor {
  /** Resolves once every app has reported ready. */
  readonly ready: Promise<void>;
  /** Resolves with the first app to exit, for whatever reason. */
  readonly firstExit: Promise<AppExit>;

  private readonly children = new Map<string, ChildProcess>();
  private readonly exits = new Map<string, Promise<AppExit>>();
  private readonly waitingFor = new Set<string>();
  private markReady!: () => void;
  private reportExit!: (exit: AppExit) => void;

  constructor(
    private readonly apps: AppSpec[],
    private readonly env: NodeJS.ProcessEnv,
  ) {
    this.ready = new Promise((resolve) => (this.markReady = resolve));
    this.firstExit = new Promise((resolve) => (this.reportExit = resolve));
  }

  start(): void {
    for (const app of this.apps) {
      const child = spawn(process.execPath, [...(app.nodeFlags ?? []), app.script], {
        env: this.env,
        stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
        // Own process group: Ctrl-C reaches only the launcher, which forwards exactly one signal (a
        // second would make Nest skip its graceful close); apps exit on IPC disconnect.
        detached: true,
      });
      this.children.set(app.name, child);
      this.waitingFor.add(app.name);
      child.on('message', (message) => {
        if (!isReadyMessage(message) || !this.waitingFor.delete(app.name)) return;
        if (this.waitingFor.size === 0) this.markReady();
      });
      this.exits.set(
        app.name,
        new Promise((resolve) => {
          const done = (exit: AppExit) => {
            this.children.delete(app.name);
            this.reportExit(exit);
            resolve(exit);
          };
          child.once('exit', (code, signal) => done({ name: app.name, code, signal }));
          // Only when the process could not be spawned at all; 'exit' does not follow then.
          child.once('error', () => {
            if (child.pid === undefined) done({ name: app.name, code: null, signal: null });
          });
        }),
      );
    }
  }

  /** Names of the apps that have not reported ready yet. */
  notReady(): string[] {
    return [...this.waitingFor];
  }

  /** Forwards `signal` to every running app and waits for all of them; SIGKILL after `graceMs`. */
  async stop(signal: NodeJS.Signals, graceMs: number): Promise<AppExit[]> {
    for (const child of this.children.values()) child.kill(signal);
    const all = Promise.all(this.exits.values());
    let timer: NodeJS.Timeout | undefined;
    const overdue = new Promise<'overdue'>(
      (resolve) => (timer = setTimeout(() => resolve('overdue'), graceMs)),
    );
    const outcome = await Promise.race([all, overdue]);
    clearTimeout(timer);
    if (outcome === 'overdue') this.kill();
    return all;
  }

  /** SIGKILLs every app still running. */
  kill(): void {
    for (const child of this.children.values()) child.kill('SIGKILL');
  }
}
