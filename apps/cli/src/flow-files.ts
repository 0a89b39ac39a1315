import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { CliError } from './cli-error';
import { findJsonSyntaxError } from './json-syntax';

export const FLOW_FILE_SUFFIX = '.flow.json';
/** Folders never searched for flow files. */
const SKIPPED_DIRS = new Set(['node_modules']);

/** A flow file found on disk. */
export interface FlowFileRef {
  absolutePath: string;
  /** How the file is shown: relative to the working directory when under it, else absolute. */
  displayPath: string;
  /**
   * How the server knows the file (the `source` of the flows it owns): the display path with `/`
   * separators, which is also how the server's own FLOWS_DIR loader names files (relative to its
   * working directory), so `hookflow apply flows` from the repository root and the loader agree.
   */
  syncPath: string;
}

export type LoadedFlowFile = FlowFileRef &
  (
    | { ok: true; text: string; document: unknown }
    | { ok: false; error: { message: string; line?: number; column?: number } }
  );

function displayPath(absolutePath: string, cwd: string): string {
  const relative = path.relative(cwd, absolutePath);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : absolutePath;
}

/** The reference for one file path (absolute). */
export function flowFileRef(absolutePath: string, cwd: string): FlowFileRef {
  const shown = displayPath(absolutePath, cwd);
  return { absolutePath, displayPath: shown, syncPath: shown.split(path.sep).join('/') };
}

async function walk(dir: string, found: string[]): Promise<void> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (entry.name.startsWith('.') || SKIPPED_DIRS.has(entry.name)) continue;
    const full = path.join(dir, entry.name);
    let isDir = entry.isDirectory();
    let isFile = entry.isFile();
    if (entry.isSymbolicLink()) {
      const stat = await fs.stat(full).catch(() => undefined);
      isDir = false; // never follow linked folders: a link loop would never end
      isFile = stat?.isFile() ?? false;
    }
    if (isDir) await walk(full, found);
    else if (isFile && entry.name.endsWith(FLOW_FILE_SUFFIX)) found.push(full);
  }
}

/**
 * Lists the flow files behind `inputs`: a file is taken as is, a directory contributes every
 * `*.flow.json` under it (sorted, hidden folders and node_modules skipped). A path that does not
 * exist is an error; the same file named twice is listed once.
 */
export async function findFlowFiles(inputs: string[], cwd: string): Promise<FlowFileRef[]> {
  const refs = new Map<string, FlowFileRef>();
  for (const input of inputs) {
    const absolute = path.resolve(cwd, input);
    const stat = await fs.stat(absolute).catch((err: NodeJS.ErrnoException) => {
      throw new CliError(
        err.code === 'ENOENT' ? `${input}: no such file or directory` : `${input}: ${err.message}`,
      );
    });
    if (stat.isDirectory()) {
      const files: string[] = [];
      await walk(absolute, files);
      for (const file of files) if (!refs.has(file)) refs.set(file, flowFileRef(file, cwd));
    } else if (!refs.has(absolute)) {
      refs.set(absolute, flowFileRef(absolute, cwd));
    }
  }
  return [...refs.values()];
}

/**
 * Parses JSON text. A syntax error comes back with the line and column where the text stops
 * being JSON (BOM tolerated), instead of Node's version-dependent message.
 */
export function parseJsonText(
  text: string,
): { ok: true; value: unknown } | { ok: false; error: { message: string; line?: number; column?: number } } {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return { ok: true, value: JSON.parse(body) };
  } catch (err) {
    let located: ReturnType<typeof findJsonSyntaxError>;
    try {
      located = findJsonSyntaxError(body);
    } catch {
      located = undefined; // nesting too deep for the scanner: Node's message will do
    }
    if (!located) return { ok: false, error: { message: `invalid JSON: ${(err as Error).message}` } };
    // Columns count without a BOM, as editors show them.
    return {
      ok: false,
      error: { message: `invalid JSON: ${located.message}`, line: located.line, column: located.column },
    };
  }
}

function readErrorMessage(err: NodeJS.ErrnoException): string {
  if (err.code === 'ENOENT') return 'no such file';
  if (err.code === 'EISDIR') return 'is a folder, not a flow file';
  return `cannot read the file: ${err.message}`;
}

/** Reads and parses one flow file; unreadable files and bad JSON are reported, not thrown. */
export async function readFlowFile(ref: FlowFileRef): Promise<LoadedFlowFile> {
  let text: string;
  try {
    text = await fs.readFile(ref.absolutePath, 'utf8');
  } catch (err) {
    return { ...ref, ok: false, error: { message: readErrorMessage(err as NodeJS.ErrnoException) } };
  }
  const parsed = parseJsonText(text);
  return parsed.ok
    ? { ...ref, ok: true, text, document: parsed.value }
    : { ...ref, ok: false, error: parsed.error };
}

/** Reads a JSON file named on the command line (a payload), failing with the spot of a syntax error. */
export async function readJsonFile(file: string, cwd: string): Promise<unknown> {
  const absolute = path.resolve(cwd, file);
  let text: string;
  try {
    text = await fs.readFile(absolute, 'utf8');
  } catch (err) {
    throw new CliError(`${file}: ${readErrorMessage(err as NodeJS.ErrnoException)}`);
  }
  const parsed = parseJsonText(text);
  if (parsed.ok) return parsed.value;
  const where =
    parsed.error.line === undefined ? file : `${file}:${parsed.error.line}:${parsed.error.column}`;
  throw new CliError(`${where}: ${parsed.error.message}`);
}
