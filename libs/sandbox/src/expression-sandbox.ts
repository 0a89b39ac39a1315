import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import {
  ExpressionError,
  InProcessEvaluator,
  type CodeRequest,
  type CodeResult,
  type ExpressionEvaluator,
  type ExpressionRequest,
} from '@hookflow/flows/transform';
import { isHostMessage, type EvaluateMessage, type HostMessage } from './host-protocol';

export interface ExpressionSandboxOptions {
  /** Host processes; each evaluates one expression at a time. */
  processes: number;
  /** V8 heap limit of each host, MB (EXPRESSION_MEMORY_MB); default 128. */
  memoryMb?: number;
  /** A host idle this long exits and the next evaluation starts one; 0: never. Default 5 min. */
  idleMs?: number;
  /** Evaluations that may wait for a host; more are refused as `expression_unavailable`. */
  maxWaiting?: number;
  /** How long an evaluation may wait for a host before it is refused (`expression_unavailable`); 0: no limit. */
  maxWaitMs?: number;
  /** Where host crashes and kills are reported. */
  warn?: (entry: { msg: string; [key: string]: unknown }) => void;
  /** The built host entry point; default: the one next to this file. */
  hostScript?: string;
  /** How long a bounded expression may run in this process first (IN_PROCESS_LEASH_MS); 0: never. */
  inProcessLeashMs?: number;
}

/** How long a bounded expression runs in this process before a host takes it over (all it can block). */
export const IN_PROCESS_LEASH_MS = 25;
/** Past its own time budget (which the host enforces between JSONata's nodes), how long before its host is killed. */
export const KILL_GRACE_MS = 250;
/** The heap of a host unless configured (EXPRESSION_MEMORY_MB). */
export const DEFAULT_HOST_MEMORY_MB = 128;
const START_TIMEOUT_MS = 15_000;
/** How long an input may take to reach a host and be parsed there; the evaluation's budget starts after. */
const TRANSFER_TIMEOUT_MS = 10_000;
const DEFAULT_IDLE_MS = 5 * 60_000;
const DEFAULT_MAX_WAITING = 1000;
/** Hosts that die before they are ready, in a row, before the waiting evaluations are refused. */
const MAX_START_FAILURES = 3;
const STDERR_TAIL_CHARS = 2048;

interface Pending {
  /** What the host is asked: an expression or a code step. */
  work: { type: 'evaluate'; request: ExpressionRequest } | { type: 'run-code'; request: CodeRequest };
  resolve: (value: unknown) => void;
  reject: (err: ExpressionError) => void;
  /** A host died under it once: a second death is the expression's doing, not bad luck. */
  crashedOnce?: boolean;
  /** Refuses it once it has waited too long for a host. */
  waitTimer?: NodeJS.Timeout;
}

interface Host {
  child: ChildProcess;
  ready: boolean;
  current?: { pending: Pending; id: number; timer: NodeJS.Timeout };
  /** Why this side ended it, if it did. */
  ending?: 'over-time' | 'stuck-transfer' | 'idle' | 'start-timeout';
  timer?: NodeJS.Timeout;
  stderr: string;
}

/** Built, the host sits next to this file; under jest (ES modules, no `__dirname`) the built copy is used. */
function defaultHostScript(): string {
  const dir = typeof __dirname === 'string' ? __dirname : path.resolve('dist/libs/sandbox/src');
  return path.join(dir, 'expression-host.js');
}

function unavailable(message: string): ExpressionError {
  return new ExpressionError('expression_unavailable', message);
}

/**
 * Evaluates flow authors' JSONata in child processes, so that no expression can block or take down
 * the process that asked (docs/operations.md#expressions-the-sandbox).
 */
export class ExpressionSandbox implements ExpressionEvaluator {
  private readonly hosts = new Set<Host>();
  private readonly local = new InProcessEvaluator();
  private readonly waiting: Pending[] = [];
  private readonly hostScript: string;
  private readonly memoryMb: number;
  private nextId = 0;
  private startFailures = 0;
  private closed = false;

  constructor(private readonly options: ExpressionSandboxOptions) {
    this.hostScript = options.hostScript ?? defaultHostScript();
    this.memoryMb = options.memoryMb ?? DEFAULT_HOST_MEMORY_MB;
    if (!existsSync(this.hostScript)) {
      throw new Error(`the expression sandbox's host is missing (${this.hostScript}): run npm run build`);
    }
  }

  async evaluate(request: ExpressionRequest): Promise<unknown> {
    if (this.closed) throw unavailable('the expression sandbox is closed');
    // Most transforms only reshape their input: they run here, on a short leash, without the IPC.
    const leashMs = this.options.inProcessLeashMs ?? IN_PROCESS_LEASH_MS;
    if (leashMs > 0 && this.local.isBounded(request.source)) {
      const leash = Math.min(request.budget.timeoutMs, leashMs);
      try {
        return await this.local.evaluate({ ...request, budget: { ...request.budget, timeoutMs: leash } });
      } catch (err) {
        const outgrew = err instanceof ExpressionError && err.code === 'expression_timeout';
        if (!outgrew || leash === request.budget.timeoutMs) throw err;
      }
    }
    return this.inHost({ type: 'evaluate', request });
  }

  /**
   * A code step's JavaScript, always in a host: QuickJS's built-ins (a join of 10^8 elements, a
   * deep JSON.parse) run to their end between its interrupt checks, so only a host can be killed.
   */
  async runCode(request: CodeRequest): Promise<CodeResult> {
    if (this.closed) throw unavailable('the expression sandbox is closed');
    return (await this.inHost({ type: 'run-code', request })) as CodeResult;
  }

  private inHost(work: Pending['work']): Promise<unknown> {
    const maxWaiting = this.options.maxWaiting ?? DEFAULT_MAX_WAITING;
    if (this.waiting.length >= maxWaiting) {
      return Promise.reject(unavailable(`${maxWaiting} expressions are already waiting for the sandbox`));
    }
    return new Promise((resolve, reject) => {
      const pending: Pending = { work, resolve, reject };
      const maxWaitMs = this.options.maxWaitMs ?? 0;
      if (maxWaitMs > 0) {
        pending.waitTimer = setTimeout(() => {
          const at = this.waiting.indexOf(pending);
          if (at < 0) return;
          this.waiting.splice(at, 1);
          reject(unavailable(`no sandbox host was free within ${maxWaitMs}ms`));
        }, maxWaitMs);
      }
      this.waiting.push(pending);
      this.pump();
    });
  }

  /** Host processes running now. */
  get pids(): number[] {
    return [...this.hosts].flatMap((host) => (host.child.pid === undefined ? [] : [host.child.pid]));
  }

  /** Refuses what waits and ends every host; evaluations in flight are refused too. */
  async close(): Promise<void> {
    this.closed = true;
    for (const pending of this.waiting.splice(0))
      pending.reject(unavailable('the expression sandbox is closed'));
    await Promise.all(
      [...this.hosts].map(
        (host) =>
          new Promise<void>((resolve) => {
            if (host.child.exitCode !== null || host.child.signalCode !== null) return resolve();
            host.child.once('exit', () => resolve());
            // An idle host is unref'd: without this the process could end before its exit is seen.
            this.keepAlive(host, true);
            host.child.kill('SIGKILL');
          }),
      ),
    );
  }

  /** Nest calls this when the app closes. */
  onApplicationShutdown(): Promise<void> {
    return this.close();
  }

  private pump(): void {
    while (this.waiting.length > 0 && !this.closed) {
      const free = [...this.hosts].find((host) => host.ready && !host.current);
      if (free) {
        this.dispatch(free, this.waiting.shift()!);
        continue;
      }
      const starting = [...this.hosts].filter((host) => !host.ready).length;
      if (this.hosts.size >= this.options.processes || starting >= this.waiting.length) return;
      this.start();
    }
  }

  private start(): void {
    const child = fork(this.hostScript, [], {
      execArgv: [
        `--max-old-space-size=${this.memoryMb}`,
        '--max-semi-space-size=2',
        // A backtracking regular expression switches to V8's linear-time engine instead of running for seconds.
        '--enable-experimental-regexp-engine-on-excessive-backtracks',
        '--disallow-code-generation-from-strings',
      ],
      // Nothing of the parent's environment (database URL, keys) reaches the host.
      env: {},
      serialization: 'json',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    const host: Host = { child, ready: false, stderr: '' };
    this.hosts.add(host);
    host.timer = setTimeout(() => this.end(host, 'start-timeout'), START_TIMEOUT_MS);
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      host.stderr = (host.stderr + chunk).slice(-STDERR_TAIL_CHARS);
    });
    child.on('message', (message: unknown) => {
      if (isHostMessage(message)) this.onMessage(host, message);
    });
    let gone = false;
    const onGone = (code: number | null, signal: NodeJS.Signals | null) => {
      if (gone) return;
      gone = true;
      this.onExit(host, code, signal);
    };
    child.on('exit', onGone);
    // A process that could not be spawned emits 'error' and no 'exit'.
    child.on('error', () => {
      if (child.pid === undefined) onGone(null, null);
    });
  }

  private refuseWaiting(message: string): void {
    for (const pending of this.waiting.splice(0)) {
      clearTimeout(pending.waitTimer);
      pending.reject(unavailable(message));
    }
  }

  private dispatch(host: Host, pending: Pending): void {
    clearTimeout(host.timer);
    clearTimeout(pending.waitTimer);
    const id = ++this.nextId;
    // The budget's clock starts when the host says it has the input (`started`).
    const timer = setTimeout(() => this.end(host, 'stuck-transfer'), TRANSFER_TIMEOUT_MS);
    host.current = { pending, id, timer };
    this.keepAlive(host, true);
    const message = { ...pending.work, id } as EvaluateMessage;
    try {
      host.child.send(message, (err) => {
        if (err) host.child.kill('SIGKILL');
      });
    } catch (err) {
      // JSON could not carry the input (never the case for parsed JSON): this evaluation only.
      clearTimeout(timer);
      host.current = undefined;
      pending.reject(
        new ExpressionError('transform_error', `input cannot be evaluated: ${(err as Error).message}`),
      );
      this.rest(host);
    }
  }

  private onMessage(host: Host, message: HostMessage): void {
    if (message.type === 'ready') {
      host.ready = true;
      this.startFailures = 0;
      this.rest(host);
      this.pump();
      return;
    }
    const current = host.current;
    if (!current || current.id !== message.id) return;
    clearTimeout(current.timer);
    if (message.type === 'started') {
      const { timeoutMs } = current.pending.work.request.budget;
      current.timer = setTimeout(() => this.end(host, 'over-time'), timeoutMs + KILL_GRACE_MS);
      return;
    }
    host.current = undefined;
    if (message.type === 'result') {
      current.pending.resolve(message.value);
    } else {
      const error = new ExpressionError(message.code, message.message, message.position, message.token);
      current.pending.reject(message.logs ? Object.assign(error, { logs: message.logs }) : error);
    }
    this.rest(host);
    this.pump();
  }

  /** An idle host neither keeps this process alive nor lives forever. */
  private rest(host: Host): void {
    this.keepAlive(host, false);
    clearTimeout(host.timer);
    const idleMs = this.options.idleMs ?? DEFAULT_IDLE_MS;
    if (idleMs > 0) {
      host.timer = setTimeout(() => this.end(host, 'idle'), idleMs);
      host.timer.unref();
    }
  }

  private keepAlive(host: Host, on: boolean): void {
    const { child } = host;
    const handles = [
      child,
      child.channel,
      child.stderr as (typeof child.stderr & { ref(): void; unref(): void }) | null,
    ];
    for (const handle of handles.filter((h) => h !== undefined && h !== null)) {
      if (on) handle.ref();
      else handle.unref();
    }
  }

  private end(host: Host, why: NonNullable<Host['ending']>): void {
    host.ending ??= why;
    host.child.kill('SIGKILL');
  }

  private onExit(host: Host, code: number | null, signal: NodeJS.Signals | null): void {
    this.hosts.delete(host);
    clearTimeout(host.timer);
    const current = host.current;
    host.current = undefined;
    if (current) {
      clearTimeout(current.timer);
      this.settleOrphan(host, current.pending, code, signal);
    } else if (!host.ready && !this.closed && host.ending !== 'idle') {
      const reason = describeExit(host, code, signal);
      this.options.warn?.({ msg: `expression sandbox host did not start: ${reason}` });
      if (++this.startFailures >= MAX_START_FAILURES) {
        this.startFailures = 0;
        this.refuseWaiting(`the expression sandbox does not start: ${reason}`);
      }
    }
    this.pump();
  }

  /** The evaluation its host died under: over time, tried once more, or the expression's fault. */
  private settleOrphan(
    host: Host,
    pending: Pending,
    code: number | null,
    signal: NodeJS.Signals | null,
  ): void {
    const { timeoutMs } = pending.work.request.budget;
    if (this.closed) return pending.reject(unavailable('the expression sandbox is closed'));
    if (host.ending === 'over-time') {
      this.options.warn?.({ msg: `expression sandbox host killed: an expression ran past ${timeoutMs}ms` });
      return pending.reject(
        new ExpressionError('expression_timeout', `expression ran longer than ${timeoutMs}ms`),
      );
    }
    if (host.ending === 'stuck-transfer') {
      return pending.reject(
        new ExpressionError(
          'expression_too_large',
          `input did not reach the sandbox within ${TRANSFER_TIMEOUT_MS}ms`,
        ),
      );
    }
    const reason = describeExit(host, code, signal);
    if (!pending.crashedOnce) {
      // Perhaps not its fault (the host was killed from outside): once more on a fresh host.
      pending.crashedOnce = true;
      this.waiting.unshift(pending);
      this.options.warn?.({
        msg: `expression sandbox host died (${reason}); trying its expression once more`,
      });
      return;
    }
    this.options.warn?.({ msg: `expression sandbox host died again (${reason}); the expression fails` });
    pending.reject(
      new ExpressionError(
        'expression_too_large',
        /memory|invalid size|allocation/i.test(host.stderr)
          ? `expression needed more than the sandbox's ${this.memoryMb} MB of memory (EXPRESSION_MEMORY_MB)`
          : `expression crashed the sandbox (${reason})`,
      ),
    );
  }
}

function describeExit(host: Host, code: number | null, signal: NodeJS.Signals | null): string {
  const how = signal ? `signal ${signal}` : `exit code ${code}`;
  const fatal = /(FATAL ERROR|Fatal [^\n]*error|Error)[^\n]*/.exec(host.stderr)?.[0];
  return fatal ? `${how}: ${fatal.trim()}` : how;
}
