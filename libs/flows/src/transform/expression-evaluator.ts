import {
  ExpressionError,
  compileExpression,
  jsonataBoolean,
  type CompiledExpression,
  type ExpressionBudget,
} from './expression';
import { runCode, type CodeRequest, type CodeResult } from './run-code';

/** One evaluation of a JSONata expression, as it crosses to wherever expressions run. */
export interface ExpressionRequest {
  source: string;
  /** `$` */
  input: unknown;
  /** Variables such as `{ trigger, steps, run }` (`$trigger`, ...). */
  bindings?: Record<string, unknown>;
  budget: ExpressionBudget;
  /** `boolean`: only the result's truth is wanted (a filter's condition); default `json`. */
  want?: 'json' | 'boolean';
}

/** Where flow authors' expressions run: the sandbox in the apps and the CLI, in process only in tests. */
export interface ExpressionEvaluator {
  /** Resolves with the result as plain JSON ("nothing" as undefined); rejects with `ExpressionError` only. */
  evaluate(request: ExpressionRequest): Promise<unknown>;
  /** Runs a code step's JavaScript; rejects with `ExpressionError` only (its `logs` on it, see `logsOf`). */
  runCode(request: CodeRequest): Promise<CodeResult>;
}

/** A result as it may leave its evaluation (its truth, or a value that fits); throws `output_too_large`. */
export function checkedResult(value: unknown, request: Pick<ExpressionRequest, 'budget' | 'want'>): unknown {
  if (request.want === 'boolean') return jsonataBoolean(value);
  if (value === undefined) return undefined;
  const { maxOutputBytes } = request.budget;
  // A ten-million-element result is refused before JSON.stringify spends its time and memory on it.
  if (jsonSizeExceeds(value, maxOutputBytes)) {
    throw new ExpressionError(
      'output_too_large',
      `result is over the ${maxOutputBytes}-byte limit as JSON (MAX_STEP_OUTPUT_BYTES)`,
    );
  }
  const text = JSON.stringify(value) as string | undefined;
  if (text === undefined) return undefined;
  // Characters are at most 3 UTF-8 bytes each (a surrogate pair is 4 bytes for 2 characters).
  if (text.length * 3 > maxOutputBytes) {
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > maxOutputBytes) {
      throw new ExpressionError(
        'output_too_large',
        `result is ${bytes} bytes as JSON, over the ${maxOutputBytes}-byte limit (MAX_STEP_OUTPUT_BYTES)`,
      );
    }
  }
  return value;
}

/** True when `value`'s JSON is surely over `max` characters; undercounts and stops past `max`. */
export function jsonSizeExceeds(value: unknown, max: number): boolean {
  let size = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') size += v.length + 2;
    else if (Array.isArray(v)) {
      size += v.length + 1;
      for (let i = 0; i < v.length && size <= max; i++) stack.push(v[i]);
    } else if (v !== null && typeof v === 'object') {
      for (const key in v) {
        const item = (v as Record<string, unknown>)[key];
        // JSON leaves such members out.
        if (!Object.hasOwn(v, key) || item === undefined || typeof item === 'function') continue;
        size += key.length + 4;
        stack.push(item);
        if (size > max) break;
      }
      size++;
    } else size++;
    if (size > max) return true;
  }
  return false;
}

const DEFAULT_CACHE_SIZE = 500;

/**
 * Evaluates in the calling process: only between nodes is it bounded, and a huge allocation can
 * abort the process, so only the sandbox's host and unit tests use it.
 */
export class InProcessEvaluator implements ExpressionEvaluator {
  /** Compiled expressions by source, least recently used dropped first. */
  private readonly compiled = new Map<string, CompiledExpression>();

  constructor(private readonly cacheSize = DEFAULT_CACHE_SIZE) {}

  async evaluate(request: ExpressionRequest): Promise<unknown> {
    const value = await this.evaluateChecked(request);
    // As it would arrive from the sandbox: plain JSON (JSONata's sequences and functions gone).
    return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
  }

  /** The result checked against the budget but not copied: the sandbox's host sends it as JSON. */
  async evaluateChecked(request: ExpressionRequest): Promise<unknown> {
    const value = await this.compile(request.source).evaluate(
      request.input,
      request.bindings,
      request.budget,
    );
    return checkedResult(value, request);
  }

  /** In this process (QuickJS, its own heap), for tests only: the apps and the CLI run code in the sandbox's hosts. */
  runCode(request: CodeRequest): Promise<CodeResult> {
    return runCode(request);
  }

  /** Whether the expression does only bounded work (`CompiledExpression.bounded`); throws on bad syntax. */
  isBounded(source: string): boolean {
    return this.compile(source).bounded;
  }

  private compile(source: string): CompiledExpression {
    let expression = this.compiled.get(source);
    if (expression) {
      this.compiled.delete(source);
    } else {
      expression = compileExpression(source);
      if (this.compiled.size >= this.cacheSize) this.compiled.delete(this.compiled.keys().next().value!);
    }
    this.compiled.set(source, expression);
    return expression;
  }
}
