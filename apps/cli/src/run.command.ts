import type { Command } from 'commander';
import { CliError, usage } from './cli-error';
import type { CommandHandler, Wire } from './command-context';
import { readJsonInput } from './flow-files';
import { formatDuration } from './output';
import { formatRunDetail, type RunDetail } from './runs.command';
import { collect, parseHeaders, parseQuery } from './request-options';

interface RunOptions {
  payload?: string;
  header: string[];
  query: string[];
  wait?: boolean;
  timeout?: string;
}

/** What `POST /api/flows/:slug/run` answers. */
interface ManualRunAnswer {
  runId: string;
  eventId: string;
}

/** How long `--wait` waits by default. */
export const DEFAULT_WAIT_MS = 60_000;
const ENDED = new Set(['succeeded', 'failed', 'filtered', 'cancelled']);
/** Runs that end so are a success for the exit code: a filter that stopped a run decided, it did not fail. */
const ENDED_WELL = new Set(['succeeded', 'filtered']);
const FIRST_POLL_MS = 200;
const MAX_POLL_MS = 2_000;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `--timeout`: `500ms`, `60s`, `5m`, `1h`, or whole seconds. */
export function parseTimeout(value: string): number {
  const match = /^(\d+)(ms|s|m|h)?$/.exec(value.trim());
  const ms = match ? Number(match[1]) * UNIT_MS[match[2] ?? 's'] : NaN;
  if (!(ms > 0) || !Number.isSafeInteger(ms)) {
    throw usage(`--timeout must be a duration such as 30s, 5m or 500ms, got '${value}'`);
  }
  return ms;
}

/** When to read the run again and how to wait: the real clock, or a test's. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * Reads the run until it ends or `timeoutMs` passes, often at first and then every 2 s at most;
 * the run as last read, and whether it ended.
 */
export async function waitForRunEnd(
  read: () => Promise<RunDetail>,
  timeoutMs: number,
  clock: Clock = realClock,
): Promise<{ run: RunDetail; ended: boolean }> {
  const deadline = clock.now() + timeoutMs;
  for (let pauseMs = FIRST_POLL_MS; ; pauseMs = Math.min(MAX_POLL_MS, pauseMs * 2)) {
    const run = await read();
    if (ENDED.has(run.status)) return { run, ended: true };
    const left = deadline - clock.now();
    if (left <= 0) return { run, ended: false };
    await clock.sleep(Math.min(pauseMs, left));
  }
}

/** The request body of a manual run: only the parts given, so the server's defaults apply to the rest. */
export function manualRunRequest(parts: {
  body?: unknown;
  headers: Record<string, string>;
  query: Record<string, string | string[]>;
}): { body?: unknown; headers?: Record<string, string>; query?: Record<string, string | string[]> } {
  return {
    ...(parts.body === undefined ? {} : { body: parts.body }),
    ...(Object.keys(parts.headers).length > 0 ? { headers: parts.headers } : {}),
    ...(Object.keys(parts.query).length > 0 ? { query: parts.query } : {}),
  };
}

export const runHandler: CommandHandler<[string], RunOptions> = async (ctx, slug) => {
  const { options } = ctx;
  if (options.timeout !== undefined && !options.wait) throw usage('--timeout goes with --wait');
  const timeoutMs = options.timeout === undefined ? DEFAULT_WAIT_MS : parseTimeout(options.timeout);
  const request = manualRunRequest({
    body: options.payload === undefined ? undefined : await readJsonInput(options.payload, ctx.io),
    headers: parseHeaders(options.header),
    query: parseQuery(options.query),
  });
  const api = ctx.api();
  const started = await api.json<ManualRunAnswer>('POST', `/api/flows/${encodeURIComponent(slug)}/run`, {
    body: request,
  });
  if (!options.wait) {
    ctx.out.result({ flow: slug, ...started });
    ctx.out.line(`started run ${started.runId} of ${slug}`);
    ctx.out.note(`follow it with: hookflow runs show ${started.runId}`);
    return 0;
  }
  ctx.out.note(
    `started run ${started.runId} of ${slug}; waiting for it to end (at most ${formatDuration(timeoutMs)})`,
  );
  const path = `/api/runs/${encodeURIComponent(started.runId)}`;
  const { run, ended } = await waitForRunEnd(() => api.json<RunDetail>('GET', path), timeoutMs);
  ctx.out.result(run);
  for (const line of formatRunDetail(run)) ctx.out.line(line);
  if (!ended) {
    throw new CliError(
      `run ${run.id} did not end within ${formatDuration(timeoutMs)} (it is ${run.status}); ` +
        `follow it with: hookflow runs show ${run.id}`,
      { code: 'timeout' },
    );
  }
  return ENDED_WELL.has(run.status) ? 0 : 1;
};

export function registerRunCommand(program: Command, wire: Wire): void {
  program
    .command('run')
    .description('start a real run of a flow on the server, as if its trigger had received a request')
    .argument('<slug>', 'the flow')
    .option(
      '--payload <file>',
      "JSON file that is the request's body, or - for standard input (default: no body)",
    )
    .option('--header <name:value>', 'a header of the request (repeatable)', collect, [])
    .option('--query <name=value>', 'a query parameter of the request (repeatable)', collect, [])
    .option('--wait', 'wait for the run to end and print it as hookflow runs show does')
    .option(
      '--timeout <duration>',
      `how long --wait waits: 30s, 5m, 500ms (default ${DEFAULT_WAIT_MS / 1000}s)`,
    )
    .addHelpText(
      'after',
      '\nThe flow runs on its current version, also when it is disabled; its steps see the method MANUAL.\n' +
        'With --wait, exits 1 if the run failed or was cancelled, or did not end in time.',
    )
    .action(wire(runHandler));
}
