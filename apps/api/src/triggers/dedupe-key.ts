import type { ExpressionBudget, ExpressionEvaluator } from '@hookflow/flows';
import { createHash } from 'node:crypto';

/** What a dedupe expression sees: the request as steps see it (credentials redacted). */
export interface DedupeInput {
  body: unknown;
  query: Record<string, unknown>;
  headers: Record<string, string | string[]>;
  method: string;
  /** Unredacted headers, for `dedupe.header`. */
  rawHeaders: Record<string, string | string[] | undefined>;
}

/** Computes a request's dedupe key; undefined when the request carries none (no dedupe then). */
export type DedupeKeyFn = (input: DedupeInput) => Promise<string | undefined>;

/** Runs on every request before the sender gets an answer: kept much tighter than a step's budget. */
const DEDUPE_BUDGET: ExpressionBudget = { timeoutMs: 250, maxDepth: 50, maxOutputBytes: 64 * 1024 };
/** Keys longer than this are stored as a hash, so an index entry never grows past what a btree takes. */
const MAX_PLAIN_KEY_CHARS = 200;

/** Compiles a trigger's `dedupe` setting once (semantics in docs/flow-format.md#trigger). */
export function compileDedupeKey(
  dedupe: { header?: string; expression?: string },
  isSensitiveHeader: (name: string) => boolean,
  expressions: ExpressionEvaluator,
): DedupeKeyFn {
  if (dedupe.header !== undefined) {
    const name = dedupe.header.toLowerCase();
    const sensitive = isSensitiveHeader(name);
    return async ({ rawHeaders }) => {
      const value = rawHeaders[name];
      const first = Array.isArray(value) ? value[0] : value;
      return first ? storedKey(first, sensitive) : undefined;
    };
  }
  // Saved versions are validated: the sandbox compiles the expression (once per host).
  const source = dedupe.expression ?? '';
  return async ({ body, query, headers, method }) => {
    const result = await expressions.evaluate({
      source,
      input: { body, query, headers, method },
      budget: DEDUPE_BUDGET,
    });
    if (result === undefined || result === null) return undefined;
    // JSON.stringify gives undefined for a function result: no usable key either.
    const text = typeof result === 'string' ? result : (JSON.stringify(result) as string | undefined);
    return text ? storedKey(text, false) : undefined;
  };
}

function storedKey(key: string, hashed: boolean): string {
  // A NUL cannot be stored as text: such a key is kept as its hash too.
  if (!hashed && key.length <= MAX_PLAIN_KEY_CHARS && !key.includes('\u0000')) return key;
  return `sha256:${createHash('sha256').update(key).digest('hex')}`;
}
