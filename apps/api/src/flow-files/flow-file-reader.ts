import { promises as fs } from 'node:fs';
import path from 'node:path';

export interface ReadFlowFile {
  /** Path as shown to people and stored as the flow's owner: relative to the working directory. */
  path: string;
  definition?: unknown;
  /** Why the file could not be read as JSON, with line and column. */
  error?: string;
}

/**
 * Every `*.flow.json` under `dir` (recursively, following symlinked files and folders as mounted
 * config maps use them), sorted; null when the folder itself does not exist.
 */
export async function findFlowFiles(dir: string): Promise<string[] | null> {
  const found: string[] = [];
  async function walk(current: string): Promise<void> {
    let entries;
    try {
      entries = await fs.readdir(current, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && current === dir) return;
      throw err;
    }
    for (const entry of entries) {
      const full = path.join(current, entry.name);
      if (entry.isDirectory() && !entry.name.startsWith('.') && entry.name !== 'node_modules')
        await walk(full);
      else if (entry.isFile() && entry.name.endsWith('.flow.json')) found.push(full);
    }
  }
  await walk(dir);
  return found.sort();
}

/** A file's name as its flow's owner: relative to the working directory when inside it, else absolute. */
export function sourceName(full: string, cwd = process.cwd()): string {
  const relative = path.relative(cwd, path.resolve(full));
  return relative.startsWith('..') || path.isAbsolute(relative)
    ? path.resolve(full)
    : relative.split(path.sep).join('/');
}

/**
 * Reads and parses flow files; a file that is not JSON comes back with `error`, the others still
 * load. Null when the folder does not exist.
 */
export async function readFlowFiles(dir: string, cwd = process.cwd()): Promise<ReadFlowFile[] | null> {
  const files = await findFlowFiles(dir);
  if (!files) return null;
  return Promise.all(
    files.map(async (full) => {
      const shown = sourceName(full, cwd);
      try {
        const text = await fs.readFile(full, 'utf8');
        return { path: shown, definition: JSON.parse(text) as unknown };
      } catch (err) {
        return {
          path: shown,
          error: describeJsonError(err as Error, await fs.readFile(full, 'utf8').catch(() => '')),
        };
      }
    }),
  );
}

/** `Unexpected token } in JSON at position 42` -> `line 3, column 5: Unexpected token }`. */
export function describeJsonError(err: Error, text: string): string {
  const match = /position (\d+)/.exec(err.message);
  if (!match) return err.message;
  const before = text.slice(0, Number(match[1]));
  const line = before.split('\n').length;
  const column = before.length - before.lastIndexOf('\n');
  return `line ${line}, column ${column}: ${err.message.replace(/ in JSON at position \d+.*$/, '')}`;
}
