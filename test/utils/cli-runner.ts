import { Readable } from 'node:stream';
import type { CliIo } from '../../apps/cli/src/output';
import { run } from '../../apps/cli/src/main';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the `hookflow` CLI in this process with string buffers for stdout and stderr. */
export async function runCli(
  argv: string[],
  opts: { env?: Record<string, string | undefined>; cwd?: string; tty?: boolean; stdin?: string } = {},
): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (chunk: string) => (stdout += chunk), isTTY: opts.tty },
    stderr: { write: (chunk: string) => (stderr += chunk), isTTY: opts.tty },
    env: opts.env ?? {},
    cwd: opts.cwd ?? process.cwd(),
    ...(opts.stdin === undefined ? {} : { stdin: Readable.from([opts.stdin]) }),
  };
  const code = await run(argv, io);
  return { code, stdout, stderr };
}
