import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { formatBytes } from '../validation/definition-size';
import { MAX_FLOW_BYTES, MAX_FLOW_TEXT_BYTES } from '../validation/flow-limits';
import { findJsonSyntaxError } from './json-syntax';

// Flow files as the CLI (`hookflow validate`, `apply`, `test`) and the API's FLOWS_DIR loader both
// read them: the same files found, the same JSON accepted, the same errors with line and column.

export const FLOW_FILE_SUFFIX = '.flow.json';
/** Folders never searched for flow files (besides hidden ones). */
const SKIPPED_DIRS = new Set(['node_modules']);

/** A flow file found on disk. */
export interface FlowFileRef {
  absolutePath: string;
  /** How the file is shown: relative to the working directory when under it, else absolute. */
  displayPath: string;
  /** The flows' `source`: the display path with `/`, so the CLI and FLOWS_DIR loader name files alike. */
  syncPath: string;
}

export interface FlowFileError {
  message: string;
  /** Where the text stops being JSON, 1-based; absent when the file could not be read. */
  line?: number;
  column?: number;
}

export type LoadedFlowFile = FlowFileRef &
  ({ ok: true; text: string; document: unknown } | { ok: false; error: FlowFileError });

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
      // Linked files are read (a ConfigMap's are links), linked folders not (loops); a link that
      // cannot be followed is listed, so reading it says why rather than the flow going away.
      const stat = await fs
        .stat(full)
        .catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? undefined : ('unreadable' as const)));
      isDir = false;
      isFile = stat === 'unreadable' || (stat?.isFile() ?? false);
    }
    if (isDir) await walk(full, found);
    else if (isFile && entry.name.endsWith(FLOW_FILE_SUFFIX)) found.push(full);
  }
}

/** Every `*.flow.json` under `dir`, absolute and sorted; throws what reading the folder throws. */
export async function listFlowFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  await walk(path.resolve(dir), found);
  return found;
}

/** Parses JSON text (BOM tolerated); a syntax error gives its line and column, not Node's message. */
export function parseJsonText(
  text: string,
): { ok: true; value: unknown } | { ok: false; error: FlowFileError } {
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

/** Why a file could not be read, in a few words. */
export function describeReadError(err: NodeJS.ErrnoException): string {
  if (err.code === 'ENOENT') return 'no such file';
  if (err.code === 'EISDIR') return 'is a folder, not a flow file';
  return `cannot read the file: ${err.message}`;
}

/** Reads and parses one flow file; unreadable, oversized and malformed files are reported, not thrown. */
export async function readFlowFile(ref: FlowFileRef): Promise<LoadedFlowFile> {
  let text: string;
  try {
    const { size } = await fs.stat(ref.absolutePath);
    if (size > MAX_FLOW_TEXT_BYTES) {
      const message = `the file is ${size} bytes; a flow file may have at most ${formatBytes(MAX_FLOW_TEXT_BYTES)} (a flow at most ${formatBytes(MAX_FLOW_BYTES)} of compact JSON)`;
      return { ...ref, ok: false, error: { message } };
    }
    text = await fs.readFile(ref.absolutePath, 'utf8');
  } catch (err) {
    return { ...ref, ok: false, error: { message: describeReadError(err as NodeJS.ErrnoException) } };
  }
  const parsed = parseJsonText(text);
  return parsed.ok
    ? { ...ref, ok: true, text, document: parsed.value }
    : { ...ref, ok: false, error: parsed.error };
}
