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
  const parsed = parseJsonText(text);
  if (parsed.ok) return parsed.value;
  const where =
    parsed.error.line === undefined ? file : `${file}:${parsed.error.line}:${parsed.error.column}`;
  throw new CliError(`${where}: ${parsed.error.message}`);
}
