import path from 'node:path';
import { flowFileRef, listFlowFiles, readFlowFile } from '@hookflow/flows';

export interface ReadFlowFile {
  /** Path as shown to people and stored as the flow's owner: relative to the working directory. */
  path: string;
  definition?: unknown;
  /** Why the file could not be read as JSON, with line and column. */
  error?: string;
}

/** A file's name as its flow's owner: relative to the working directory when inside it, else absolute. */
export function sourceName(full: string, cwd = process.cwd()): string {
  const relative = path.relative(cwd, path.resolve(full));
  return relative.startsWith('..') || path.isAbsolute(relative)
    ? path.resolve(full)
    : relative.split(path.sep).join('/');
}

/** Reads the flow files under `dir` as `hookflow validate` does; null when the folder does not exist. */
export async function readFlowFiles(dir: string, cwd = process.cwd()): Promise<ReadFlowFile[] | null> {
  let files: string[];
  try {
    files = await listFlowFiles(path.resolve(cwd, dir));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  return Promise.all(
    files.map(async (full) => {
      const file = await readFlowFile(flowFileRef(full, cwd));
      if (file.ok) return { path: file.syncPath, definition: file.document };
      const { line, column, message } = file.error;
      return {
        path: file.syncPath,
        error: line === undefined ? message : `line ${line}, column ${column}: ${message}`,
      };
    }),
  );
}
