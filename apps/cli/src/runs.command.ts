import { Option, type Command } from 'commander';
import type { ApiClient } from './api-client';
import { CliError } from './cli-error';
import type { CommandHandler, Wire } from './command-context';
import { elapsedMs, formatDuration, formatJson, plural, table, truncate } from './output';
import { printable } from './listener';

/** `GET /api/runs` item. */
export interface RunSummary {
  id: string;
  flow: string;
  version?: number;
  status: string;
  eventId: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

interface AttemptView {
  n: number;
  startedAt: string | null;
  durationMs: number | null;
  outcome: string | null;
  error: { code?: string; message?: string } | string | null;
  responseStatus: number | null;
  /** An action's request and response (absent from servers before they were kept). */
  request?: { method: string; url: string } | null;
  response?: { status: number; body: string | null; bodyTruncated: boolean } | null;
}

interface StepView {
  id: string;
  status: string;
  input: unknown;
  output: unknown;
  error: { code?: string; message?: string; status?: number } | null;
  startedAt: string | null;
  finishedAt: string | null;
  attempts: AttemptView[];
}

/** `GET /api/runs/:id`. */
export interface RunDetail {
  id: string;
  flow: string;
  version: number | null;
  status: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  originRunId: string | null;
  event: {
    id: string;
    method: string;
    headers: Record<string, unknown>;
    query: Record<string, unknown> | null;
    body: unknown;
    contentType: string | null;
    sourceIp: string | null;
    receivedAt: string;
  } | null;
  steps: StepView[];
}

const RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'filtered', 'cancelled'];
const PREVIEW_CHARS = 400;
/** Characters of a response body shown in a run's summary of the last attempts. */
const RESPONSE_PREVIEW_CHARS = 80;

/** `2024-05-01 12:00:03Z`: second precision reads better in a table than full ISO. */
export function shortTime(iso: string | null | undefined): string {
  if (!iso) return '-';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : `${date.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

function runDuration(run: { startedAt: string | null; finishedAt: string | null }): string {
  const ms = elapsedMs(run.startedAt, run.finishedAt);
  return ms === undefined ? '-' : formatDuration(ms);
}

/** An error as one printable line: a message may quote what a receiver sent. */
function errorText(error: { code?: string; message?: string } | string | null | undefined): string {
  if (!error) return '';
  const text = typeof error === 'string' ? error : [error.code, error.message].filter(Boolean).join(': ');
  return printable(text.replace(/\s+/g, ' '));
}

export function formatRunList(items: RunSummary[]): string {
  if (items.length === 0) return 'no runs';
  return table(
    ['RUN', 'FLOW', 'STATUS', 'CREATED', 'DURATION'],
    items.map((r) => [r.id, r.flow, r.status, shortTime(r.createdAt), runDuration(r)]),
  );
}

/** `HTTP 200 {"ok":true}`: the status and the start of the body on one line, or why there was none. */
function responseLine(attempt: AttemptView): string {
  const response = attempt.response;
  if (!response) return `no response${attempt.error ? ` (${errorText(attempt.error)})` : ''}`;
  // The receiver's text: its control characters are shown, never obeyed.
  const body = printable((response.body ?? '').replace(/\s+/g, ' ').trim());
  const more = response.bodyTruncated && body.length <= RESPONSE_PREVIEW_CHARS ? '…' : '';
  return `HTTP ${response.status}${body ? ` ${truncate(body, RESPONSE_PREVIEW_CHARS)}${more}` : ''}`;
}

/** The run, its event in brief, and each step with status, attempts and error. */
export function formatRunDetail(run: RunDetail): string[] {
  const lines = [
    `run ${run.id}`,
    `  flow     ${run.flow}${run.version === null ? '' : ` v${run.version}`}`,
    `  status   ${run.status}`,
    `  created  ${shortTime(run.createdAt)}   started ${shortTime(run.startedAt)}   finished ${shortTime(run.finishedAt)}   (${runDuration(run)})`,
  ];
  if (run.originRunId) lines.push(`  origin   ${run.originRunId} (retried or replayed from)`);
  if (run.event) {
    const e = run.event;
    const from = e.sourceIp ? ` from ${e.sourceIp}` : '';
    lines.push(
      '',
      `event ${e.id}`,
      `  ${e.method}${e.contentType ? ` ${e.contentType}` : ''}${from} at ${shortTime(e.receivedAt)}`,
    );
    if (e.query && Object.keys(e.query).length > 0)
      lines.push(`  query ${truncate(JSON.stringify(e.query), PREVIEW_CHARS)}`);
    if (e.body !== undefined && e.body !== null) {
      lines.push(
        `  body  ${truncate(typeof e.body === 'string' ? e.body : JSON.stringify(e.body), PREVIEW_CHARS)}`,
      );
    }
  }
  lines.push('', 'steps');
  const rows = run.steps.map((s) => {
    const ms = elapsedMs(s.startedAt, s.finishedAt);
    return [
      s.id,
      s.status,
      plural(s.attempts.length, 'attempt'),
      ms === undefined ? '' : formatDuration(ms),
      errorText(s.error),
    ];
  });
  if (rows.length === 0) lines.push('  (none yet)');
  else
    lines.push(
      ...table(
        ['  STEP', 'STATUS', 'ATTEMPTS', 'TOOK', 'ERROR'],
        rows.map(([id, ...rest]) => [`  ${id}`, ...rest]),
      ).split('\n'),
    );
  const exchanges = run.steps.flatMap((s) => {
    const last = s.attempts[s.attempts.length - 1];
    if (!last?.request) return [];
    return [
      [
        `  ${s.id}`,
        truncate(printable(`${last.request.method} ${last.request.url}`), 60),
        responseLine(last),
      ],
    ];
  });
  if (exchanges.length > 0) {
    lines.push(
      '',
      'responses (last attempt)',
      ...table(['  STEP', 'REQUEST', 'RESPONSE'], exchanges).split('\n'),
    );
  }
  for (const step of run.steps) {
    const failedAttempts = step.attempts.filter((a) => a.outcome !== 'succeeded' && a.error);
    if (failedAttempts.length === 0 && step.status !== 'failed') continue;
    lines.push('', `  ${step.id}:`);
    for (const a of step.attempts) {
      const status = a.responseStatus === null ? '' : ` HTTP ${a.responseStatus}`;
      const took = a.durationMs === null ? '' : `, took ${formatDuration(a.durationMs)}`;
      const error = errorText(a.error);
      lines.push(`    attempt ${a.n}: ${a.outcome ?? 'running'}${status}${took}${error ? `: ${error}` : ''}`);
    }
    if (step.status === 'failed' && step.output !== null && step.output !== undefined) {
      lines.push(`    output: ${truncate(formatJson(step.output, '    '), PREVIEW_CHARS)}`);
    }
  }
  return lines;
}

interface ListOptions {
  flow?: string;
  status?: string;
  since?: string;
  until?: string;
  search?: string;
  limit?: string;
  cursor?: string;
}

/** A shell word: as it is when plain, else single-quoted. */
function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}

export const runsListHandler: CommandHandler<[], ListOptions> = async (ctx) => {
  const { flow, status, since, until, search, limit, cursor } = ctx.options;
  if (limit !== undefined && !/^[1-9]\d*$/.test(limit))
    throw new CliError(`--limit must be a positive whole number, got '${limit}'`);
  const page = await ctx.api().json<{ items: RunSummary[]; nextCursor: string | null }>('GET', '/api/runs', {
    query: { flow, status, since, until, q: search, limit, cursor },
  });
  ctx.out.result(page);
  ctx.out.line(formatRunList(page.items));
  if (page.nextCursor) {
    // The next page is the same filter's.
    const same = Object.entries({ flow, status, since, until, search, limit })
      .filter(([, value]) => value !== undefined)
      .map(([name, value]) => ` --${name} ${shellWord(value!)}`)
      .join('');
    ctx.out.note(`more: hookflow runs list${same} --cursor ${page.nextCursor}`);
  }
  return 0;
};

export const runsShowHandler: CommandHandler<[string]> = async (ctx, id) => {
  const run = await ctx.api().json<RunDetail>('GET', `/api/runs/${encodeURIComponent(id)}`);
  ctx.out.result(run);
  for (const line of formatRunDetail(run)) ctx.out.line(line);
  return 0;
};

/**
 * Resumes the run on the version it is pinned to; `--version latest` runs its event on the flow's
 * current version instead, which is a new run (a replay): a run never changes version.
 */
export const runsRetryHandler: CommandHandler<[string], { version?: string }> = async (ctx, id) => {
  const api = ctx.api();
  if (ctx.options.version === 'latest') {
    const replay = await api.json<{ runId: string }>('POST', `/api/runs/${encodeURIComponent(id)}/replay`, {
      query: { version: 'latest' },
    });
    ctx.out.result({ ...replay, originRunId: id });
    ctx.out.line(`started run ${replay.runId} from the event of run ${id}, on the flow's latest version`);
    ctx.out.note(`follow it with: hookflow runs show ${replay.runId}`);
    return 0;
  }
  const answer = await api.json<{ runId: string; retried: string[] }>(
    'POST',
    `/api/runs/${encodeURIComponent(id)}/retry`,
  );
  ctx.out.result(answer);
  const steps = answer.retried ?? [];
  ctx.out.line(
    `retrying run ${answer.runId}${steps.length > 0 ? `: ${plural(steps.length, 'step')} (${steps.join(', ')})` : ''}`,
  );
  const changed = await versionsOf(api, id);
  if (changed && changed.run !== changed.latest) {
    ctx.out.note(
      `flow '${changed.flow}' changed since this run: the retry runs its version ${changed.run}, not ${changed.latest}. ` +
        `To run the event on version ${changed.latest}: hookflow runs retry ${id} --version latest`,
    );
  }
  ctx.out.note(`follow it with: hookflow runs show ${answer.runId}`);
  return 0;
};

/** The run's pinned version and its flow's current one; undefined when either cannot be read. */
async function versionsOf(
  api: ApiClient,
  runId: string,
): Promise<{ flow: string; run: number; latest: number } | undefined> {
  try {
    const run = await api.json<RunDetail>('GET', `/api/runs/${encodeURIComponent(runId)}`);
    if (run.version === null) return undefined;
    const flow = await api.json<{ version: number }>('GET', `/api/flows/${encodeURIComponent(run.flow)}`);
    return { flow: run.flow, run: run.version, latest: flow.version };
  } catch {
    return undefined;
  }
}

export const runsReplayHandler: CommandHandler<[string], { version?: string }> = async (ctx, id) => {
  const answer = await ctx
    .api()
    .json<{ runId: string }>('POST', `/api/runs/${encodeURIComponent(id)}/replay`, {
      query: { version: ctx.options.version },
    });
  ctx.out.result(answer);
  ctx.out.line(`replayed run ${id} as new run ${answer.runId}`);
  ctx.out.note(`follow it with: hookflow runs show ${answer.runId}`);
  return 0;
};

export const runsCancelHandler: CommandHandler<[string]> = async (ctx, id) => {
  const answer = await ctx
    .api()
    .json<{ runId: string; status: string }>('POST', `/api/runs/${encodeURIComponent(id)}/cancel`);
  ctx.out.result(answer);
  ctx.out.line(`cancelled run ${answer.runId}`);
  return 0;
};

export function registerRunsCommands(program: Command, wire: Wire): void {
  const runs = program.command('runs').description('list, inspect, retry and replay runs');
  runs
    .command('list')
    .description('recent runs, newest first')
    .option('--flow <slug>', 'only runs of this flow')
    .addOption(new Option('--status <status>', 'only runs with this status').choices(RUN_STATUSES))
    .option('--since <time>', 'only runs created at or after this ISO 8601 time')
    .option('--until <time>', 'only runs created before this ISO 8601 time')
    .option(
      '--search <value>',
      'only runs with this value in their webhook body or a step output (a whole value: an order id, an email, a number)',
    )
    .option('--limit <n>', 'how many (server default 50)')
    .option('--cursor <cursor>', 'the next page (printed after a full page)')
    .action(wire(runsListHandler));
  runs
    .command('show')
    .description('a run: its event, and each step with status, attempts and error')
    .argument('<id>', 'run id')
    .action(wire(runsShowHandler));
  runs
    .command('retry')
    .description(
      'resume a failed or cancelled run from its failed steps (same run; succeeded steps are not repeated)',
    )
    .argument('<id>', 'run id')
    .addOption(
      new Option(
        '--version <which>',
        "pinned: resume the run on its version; latest: run its event on the flow's current version (a new run)",
      )
        .choices(['pinned', 'latest'])
        .default('pinned'),
    )
    .action(wire(runsRetryHandler));
  runs
    .command('replay')
    .description("start a new run from a run's event")
    .argument('<id>', 'run id')
    .addOption(
      new Option('--version <which>', 'the flow version to run: the one the run pinned, or the latest')
        .choices(['pinned', 'latest'])
        .default('pinned'),
    )
    .action(wire(runsReplayHandler));
  runs
    .command('cancel')
    .description('stop a run: pending and delayed steps do not run')
    .argument('<id>', 'run id')
    .action(wire(runsCancelHandler));
}
