import type { Command } from 'commander';
import { usage } from './cli-error';
import type { CommandHandler, Wire } from './command-context';
import { startListener, type ListenerOptions } from './listener';
import { plural } from './output';

/** `hookflow listen`'s options as commander hands them over: strings until checked. */
export interface ListenFlags {
  port?: string;
  host?: string;
  status?: string;
  failFirst?: string;
  delay?: string;
  json?: boolean;
}

function wholeNumber(option: string, value: string, min: number, max: number): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(n >= min && n <= max))
    throw usage(`${option} must be a whole number from ${min} to ${max}, got '${value}'`);
  return n;
}

/**
 * Checks the flags. With `--fail-first`, an error `--status` (4xx, 5xx) is what the failures answer
 * and the rest get 200; any other `--status` is what follows 500 failures.
 */
export function listenerOptions(flags: ListenFlags): ListenerOptions {
  const port = wholeNumber('--port', flags.port ?? '4000', 0, 65535);
  const chosen = wholeNumber('--status', flags.status ?? '200', 200, 599);
  const failFirst = wholeNumber('--fail-first', flags.failFirst ?? '0', 0, 1_000_000);
  const delayMs = wholeNumber('--delay', flags.delay ?? '0', 0, 3_600_000);
  const host = (flags.host ?? '127.0.0.1').trim();
  if (host === '') throw usage('--host must not be empty');
  const errorStatus = chosen >= 400;
  return {
    port,
    host,
    status: failFirst > 0 && errorStatus ? 200 : chosen,
    failFirst,
    failStatus: errorStatus ? chosen : 500,
    delayMs,
    json: flags.json === true,
  };
}

/** The two lines printed at start: where to send, and what the server needs to send here. */
export function listeningBanner(url: string, options: ListenerOptions): string[] {
  const answers =
    options.failFirst > 0
      ? `answers ${options.failStatus} to the first ${options.failFirst === 1 ? 'request' : plural(options.failFirst, 'request')}, then ${options.status}`
      : `answers ${options.status}`;
  const delay = options.delayMs > 0 ? ` after ${options.delayMs}ms` : '';
  return [
    `Listening on ${url}: point a flow's action at ${url}/<any path> (${answers}${delay}; Ctrl-C stops)`,
    `The Hookflow server sends to a local address only with OUTBOUND_ALLOW=${new URL(url).hostname.replace(/^\[|\]$/g, '')} set.`,
  ];
}

function stopped(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

export const listenHandler: CommandHandler<[], ListenFlags> = async (ctx) => {
  const options = listenerOptions(ctx.options);
  // Without a stop signal (an embedding that gave none) it runs until the process ends.
  const signal = ctx.io.stopSignal?.() ?? new AbortController().signal;
  const listener = await startListener(options, ctx.io);
  for (const line of listeningBanner(listener.url, options)) ctx.io.stderr.write(`${line}\n`);
  await stopped(signal);
  await listener.close();
  ctx.io.stderr.write(`Stopped after ${plural(listener.count, 'request')}.\n`);
  return 0;
};

export function registerListenCommand(program: Command, wire: Wire): void {
  program
    .command('listen')
    .description(
      'run a local receiver that prints every request it gets: point a flow at it to watch deliveries',
    )
    .option('--port <port>', 'port to listen on (0: any free one)', '4000')
    .option('--host <address>', 'address to bind (0.0.0.0 for every interface)', '127.0.0.1')
    .option('--status <code>', 'HTTP status to answer, 200 to 599', '200')
    .option(
      '--fail-first <n>',
      'answer the first n requests with 500, or with --status when that is 4xx/5xx (then the rest get 200)',
    )
    .option('--delay <ms>', 'wait this long before answering (to try a step timeout)')
    .addHelpText(
      'after',
      `
Prints each request (method, path, headers, the body pretty-printed when JSON) to stdout, one JSON
object per line with --json; notes go to stderr. Bodies over 10 MiB are refused with 413. Every
retry of a step sends the same Idempotency-Key: "try 2" means this listener saw it twice.

Examples:
  hookflow listen                           answer 200 on http://127.0.0.1:4000
  hookflow listen --fail-first 2            500, 500, then 200: watch a step retry
  hookflow listen --status 503 --fail-first 1   503 once, then 200
  hookflow listen --status 410              a final failure (4xx other than 408/425/429 is not retried)`,
    )
    .action(wire(listenHandler));
}
