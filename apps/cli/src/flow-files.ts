import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import {
  describeReadError,
  flowFileRef,
  listFlowFiles,
  parseJsonText,
  type FlowFileRef,
} from '@hookflow/flows/files';
import { CliError } from './cli-error';

/** The flow files behind `inputs` (files as given, directories by `*.flow.json`), each listed once. */
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
      for (const file of await listFlowFiles(absolute))
        if (!refs.has(file)) refs.set(file, flowFileRef(file, cwd));
    } else if (!refs.has(absolute)) {
      refs.set(absolute, flowFileRef(absolute, cwd));
    }
  }
  return [...refs.values()];
}

/** Reads a JSON file named on the command line (a payload), failing with the spot of a syntax error. */
export async function readJsonFile(file: string, cwd: string): Promise<unknown> {
  const absolute = path.resolve(cwd, file);
  let text: string;
  try {
    text = await fs.readFile(absolute, 'utf8');
  } catch (err) {
    throw new CliError(`${file}: ${describeReadError(err as NodeJS.ErrnoException)}`);
  }
  return parseJsonInput(text, file);
}

/** A JSON file named on the command line, or standard input for `-`. */
export async function readJsonInput(
  file: string,
  io: { cwd: string; stdin?: AsyncIterable<string | Buffer> },
): Promise<unknown> {
  if (file !== '-') return readJsonFile(file, io.cwd);
  if (!io.stdin) throw new CliError('-: there is no standard input to read');
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return parseJsonInput(Buffer.concat(chunks).toString('utf8'), 'standard input');
}

function parseJsonInput(text: string, file: string): unknown {
  const parsed = parseJsonText(text);
  if (parsed.ok) return parsed.value;
  const where =
    parsed.error.line === undefined ? file : `${file}:${parsed.error.line}:${parsed.error.column}`;
  throw new CliError(`${where}: ${parsed.error.message}`);
}
