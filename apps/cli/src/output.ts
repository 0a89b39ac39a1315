import type { ErrorDetail } from './cli-error';

/** Where the CLI writes; `process.stdout` fits, and so does a test's string buffer. */
export interface CliStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** Everything the CLI takes from its process, passed in so tests can run it in-process. */
export interface CliIo {
  stdout: CliStream;
  stderr: CliStream;
  env: Record<string, string | undefined>;
  cwd: string;
  /** What `-` reads (a payload piped in); `process.stdin` fits. */
  stdin?: AsyncIterable<string | Buffer>;
  /**
   * Aborted on SIGINT or SIGTERM, for a command that runs until stopped (`listen`). Only such a
   * command asks for it: asking is what keeps those signals from ending the process at once.
   */
  stopSignal?: () => AbortSignal;
}

/** Prints results to stdout and notes to stderr; in JSON mode stdout carries JSON only. */
export class Output {
  constructor(
    readonly io: CliIo,
    readonly json: boolean,
  ) {}

  /** A line of the human-readable result (ignored in JSON mode). */
  line(text = ''): void {
    if (!this.json) this.io.stdout.write(`${text}\n`);
  }

  /** A hint or progress note for the person, never part of the result. */
  note(text: string): void {
    if (!this.json) this.io.stderr.write(`${text}\n`);
  }

  /** The machine-readable result (JSON mode only). */
  result(value: unknown): void {
    if (this.json) this.io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }
}

export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : pluralForm}`;
}

/** `file: /pointer: message` (or `file:line:column: message` for a syntax error), the validate line format. */
export function formatDetail(detail: ErrorDetail & { line?: number; column?: number }): string {
  const where: string[] = [];
  if (detail.file !== undefined) {
    where.push(
      detail.line === undefined ? detail.file : `${detail.file}:${detail.line}:${detail.column ?? 1}`,
    );
  }
  if (detail.path) where.push(detail.path);
  return [...where, detail.message].join(': ');
}

/** Pads columns to the widest cell; the last column is not padded. */
export function table(headers: string[], rows: string[][]): string {
  return alignColumns([headers, ...rows]).join('\n');
}

/** Pads each row's cells to the widest cell of their column; trailing spaces are trimmed. */
export function alignColumns(rows: string[][]): string[] {
  const columns = Math.max(0, ...rows.map((row) => row.length));
  const widths = Array.from({ length: columns }, (_, col) =>
    Math.max(...rows.map((row) => (row[col] ?? '').length)),
  );
  return rows.map((row) =>
    row
      .map((cell, col) => (col === row.length - 1 ? cell : cell.padEnd(widths[col])))
      .join('  ')
      .trimEnd(),
  );
}

/** JSON for a person: what fits stays on one line, the rest is broken up; later lines start with `indent`. */
export function formatJson(value: unknown, indent = '', width = 100): string {
  // JSON.stringify's own spacing is all or nothing; one line reads better with `, ` and `: `.
  const flatten = (v: unknown): string => {
    if (Array.isArray(v)) return `[${v.map((item) => flatten(item === undefined ? null : item)).join(', ')}]`;
    if (v === null || typeof v !== 'object' || typeof (v as { toJSON?: unknown }).toJSON === 'function') {
      return JSON.stringify(v) ?? 'undefined';
    }
    const entries = Object.entries(v).filter(([, item]) => item !== undefined);
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}: ${flatten(item)}`).join(', ')}}`;
  };
  const render = (v: unknown, ind: string, used: number): string => {
    if (v === undefined) return 'undefined';
    const flat = flatten(v);
    if (v === null || typeof v !== 'object' || used + flat.length <= width) return flat;
    const inner = `${ind}  `;
    if (Array.isArray(v)) {
      if (v.length === 0) return '[]';
      return `[\n${v.map((item) => inner + render(item, inner, inner.length)).join(',\n')}\n${ind}]`;
    }
    const entries = Object.entries(v as Record<string, unknown>);
    if (entries.length === 0) return '{}';
    const lines = entries.map(([key, item]) => {
      const head = `${inner}${JSON.stringify(key)}: `;
      return head + render(item, inner, head.length);
    });
    return `{\n${lines.join(',\n')}\n${ind}}`;
  };
  return render(value, indent, indent.length);
}

/** `850ms`, `1.2s`, `3m 4s`, `2h 5m`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`;
  const totalSeconds = Math.round(ms / 1000);
  if (totalSeconds < 3600) return `${Math.floor(totalSeconds / 60)}m ${totalSeconds % 60}s`;
  const totalMinutes = Math.round(totalSeconds / 60);
  return `${Math.floor(totalMinutes / 60)}h ${totalMinutes % 60}m`;
}

/** Milliseconds between two ISO times, or undefined when either is missing. */
export function elapsedMs(
  from: string | null | undefined,
  to: string | null | undefined,
): number | undefined {
  if (!from || !to) return undefined;
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) ? ms : undefined;
}

/** Shortens text to `max` characters, marking the cut. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;
}
