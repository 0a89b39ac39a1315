import variant from '@jitl/quickjs-wasmfile-release-sync';
import {
  newQuickJSWASMModuleFromVariant,
  shouldInterruptAfterDeadline,
  type QuickJSContext,
  type QuickJSHandle,
  type QuickJSWASMModule,
} from 'quickjs-emscripten-core';
import { ExpressionError, type ExpressionBudget } from './expression';

/** A code step's program: JavaScript whose `return` gives the output. */
export interface CodeRequest {
  code: string;
  /** `input`, and the variables beside it (`trigger`, `steps`, `run`). */
  input: unknown;
  bindings: Record<string, unknown>;
  budget: Pick<ExpressionBudget, 'timeoutMs' | 'maxOutputBytes'>;
  /** The sandbox's own heap, MB. */
  memoryMb: number;
}

export interface CodeResult {
  /** What the code returned, as JSON (`undefined` becomes null). */
  value: unknown;
  /** `console.log` lines, bounded (MAX_LOG_LINES of MAX_LOG_LINE_CHARS). */
  logs: string[];
}

/** The heap of a code step's sandbox unless configured. */
export const DEFAULT_CODE_MEMORY_MB = 32;
export const MAX_LOG_LINES = 100;
export const MAX_LOG_LINE_CHARS = 1000;
/** Characters of an error message kept from the code. */
const MAX_ERROR_CHARS = 1000;
/** QuickJS's own stack limit: a deep recursion fails in the sandbox, before the host's stack runs out. */
const MAX_STACK_BYTES = 256 * 1024;
/** The wrapper's first line: the author's code starts on line 2 of what QuickJS sees. */
const PRELUDE =
  '"use strict"; globalThis.__result = JSON.stringify((function (input, trigger, steps, run, item, index) {\n';
const POSTLUDE =
  '\n})(__args.input, __args.trigger, __args.steps, __args.run, __args.item, __args.index)) ?? "null";';

let quickjs: Promise<QuickJSWASMModule> | undefined;
let poisoned = false;

/** Runs a code step's JavaScript in QuickJS (WebAssembly, its own heap): no require, process, I/O or timers. */
export async function runCode(request: CodeRequest): Promise<CodeResult> {
  poisoned = false;
  // A failed load is not kept: the next code step tries again.
  quickjs ??= newQuickJSWASMModuleFromVariant(variant).catch((err: unknown) => {
    quickjs = undefined;
    throw err;
  });
  const module = await quickjs;
  const runtime = module.newRuntime();
  const logs: string[] = [];
  const deadline = Date.now() + request.budget.timeoutMs;
  try {
    runtime.setMemoryLimit(request.memoryMb * 1024 * 1024);
    runtime.setMaxStackSize(MAX_STACK_BYTES);
    runtime.setInterruptHandler(shouldInterruptAfterDeadline(deadline));
    const vm = runtime.newContext();
    try {
      installConsole(vm, logs);
      const args = vm.newString(JSON.stringify({ input: request.input ?? null, ...request.bindings }));
      vm.setProp(vm.global, '__json', args);
      args.dispose();
      const setup = vm.evalCode(
        'globalThis.__args = JSON.parse(__json); delete globalThis.__json;',
        'args.js',
      );
      throwIfError(vm, setup, request, deadline);
      const ran = vm.evalCode(`${PRELUDE}${request.code}${POSTLUDE}`, 'code.js');
      throwIfError(vm, ran, request, deadline);
      // A built-in runs to its end between interrupt checks: a run past its deadline did not succeed.
      if (Date.now() > deadline) throw timedOut(request);
      const result = vm.getProp(vm.global, '__result');
      const text = vm.typeof(result) === 'string' ? vm.getString(result) : undefined;
      result.dispose();
      if (text === undefined) throw new ExpressionError('code_error', 'the code must return JSON');
      if (Buffer.byteLength(text) > request.budget.maxOutputBytes) {
        throw new ExpressionError(
          'output_too_large',
          `the result is over ${request.budget.maxOutputBytes} bytes as JSON`,
        );
      }
      try {
        return { value: JSON.parse(text), logs };
      } catch {
        // Only code that broke out of the wrapper can leave text that is not JSON.
        throw new ExpressionError('code_error', 'the code must return JSON');
      }
    } finally {
      vm.dispose();
    }
  } catch (err) {
    if (err instanceof ExpressionError) throw Object.assign(err, { logs });
    // QuickJS ran out of what it may allocate before it could make an error of it.
    throw Object.assign(
      new ExpressionError('expression_too_large', `the code ran out of its ${request.memoryMb} MB of memory`),
      { logs },
    );
  } finally {
    try {
      runtime.dispose();
    } catch {
      // QuickJS leaks on some stack overflows and then fails its own check here: drop the whole
      // module (and its memory) so the next run starts clean.
      quickjs = undefined;
      poisoned = true;
    }
  }
}

/** Whether the last run broke QuickJS's module, which was dropped (the sandbox's host then exits). */
export function quickjsPoisoned(): boolean {
  return poisoned;
}

function timedOut(request: CodeRequest): ExpressionError {
  return new ExpressionError('expression_timeout', `the code ran longer than ${request.budget.timeoutMs}ms`);
}

/** The logs of a failed run, when it got that far. */
export function logsOf(err: unknown): string[] {
  const logs = (err as { logs?: unknown } | null)?.logs;
  return Array.isArray(logs) ? (logs as string[]) : [];
}

function installConsole(vm: QuickJSContext, logs: string[]): void {
  // Lines are formatted and cut inside QuickJS, under its budgets: only short strings cross here.
  const sink = vm.newFunction('__log', (line: QuickJSHandle) => {
    if (logs.length >= MAX_LOG_LINES || vm.typeof(line) !== 'string') return;
    // The author may replace slice or join: a string's length cannot be faked, so check it here.
    const length = vm.getProp(line, 'length').consume((h) => vm.getNumber(h));
    if (length > MAX_LOG_LINE_CHARS + 1) return;
    logs.push(vm.getString(line));
  });
  vm.setProp(vm.global, '__log', sink);
  sink.dispose();
  const installed = vm.evalCode(
    `(() => {
      const sink = globalThis.__log;
      delete globalThis.__log;
      let lines = 0;
      const text = (v) => {
        if (typeof v === 'string') return v.slice(0, ${MAX_LOG_LINE_CHARS + 1});
        try { const json = JSON.stringify(v); return json === undefined ? String(v) : json.slice(0, ${MAX_LOG_LINE_CHARS + 1}); }
        catch { return String(v).slice(0, ${MAX_LOG_LINE_CHARS + 1}); }
      };
      const log = (...args) => {
        if (lines++ >= ${MAX_LOG_LINES}) return;
        const line = args.map(text).join(' ');
        sink(line.length > ${MAX_LOG_LINE_CHARS} ? line.slice(0, ${MAX_LOG_LINE_CHARS}) + '…' : line);
      };
      globalThis.console = { log, info: log, warn: log, error: log, debug: log };
    })()`,
    'console.js',
  );
  if (installed.error) {
    installed.error.dispose();
    throw new Error('the code sandbox could not be prepared');
  }
  installed.value.dispose();
}

/** A failed evaluation as an ExpressionError: timeout, memory, or the author's error with its line and column. */
function throwIfError(
  vm: QuickJSContext,
  result: ReturnType<QuickJSContext['evalCode']>,
  request: CodeRequest,
  deadline: number,
): void {
  if (!result.error) {
    result.value.dispose();
    return;
  }
  const error = result.error.consume((h) => vm.dump(h)) as {
    name?: string;
    message?: string;
    stack?: string;
    lineNumber?: number;
  } | null;
  // Out of memory, QuickJS may throw null rather than an error it has no room to make.
  if (error === null || error === undefined) {
    throw new ExpressionError(
      'expression_too_large',
      `the code ran out of its ${request.memoryMb} MB of memory`,
    );
  }
  const message = String(error?.message ?? error).slice(0, MAX_ERROR_CHARS);
  if ((error?.name === 'InternalError' && message === 'interrupted') || Date.now() > deadline) {
    throw timedOut(request);
  }
  if (error?.name === 'InternalError' && /out of memory|string too long|array too long/.test(message)) {
    throw new ExpressionError(
      'expression_too_large',
      `the code ran out of its ${request.memoryMb} MB of memory`,
    );
  }
  if (/stack overflow/i.test(message)) {
    throw new ExpressionError('expression_depth', 'the code recursed too deeply');
  }
  const at = positionOf(error?.stack, request.code);
  throw new ExpressionError('code_error', `${error?.name ?? 'Error'}: ${message}${at}`);
}

/** ` (line L, column C)` in the author's code, from the innermost frame in code.js. */
function positionOf(stack: string | undefined, code: string): string {
  const match = /code\.js:(\d+)(?::(\d+))?/.exec(stack ?? '');
  if (!match) return '';
  const line = Number(match[1]) - 1;
  const lines = code.split('\n').length;
  if (line < 1 || line > lines) return ' (at the end of the code)';
  return match[2] ? ` (line ${line}, column ${match[2]})` : ` (line ${line})`;
}
