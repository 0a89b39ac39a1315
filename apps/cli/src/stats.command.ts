import { Option, type Command } from 'commander';
import { usage } from './cli-error';
import type { CommandHandler, Wire } from './command-context';
import { printable } from './listener';
import { formatDuration, table, truncate } from './output';
import { shortTime } from './runs.command';

const STATS_BUCKETS = ['minute', 'hour', 'day'];
/** The order statuses are counted in on the totals line. */
const RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'filtered', 'cancelled'];
/** Characters of a destination's last error shown. */
const ERROR_PREVIEW_CHARS = 120;

/** `GET /api/stats` (the series are kept in `--json` output only). */
export interface StatsAnswer {
  since: string;
  until: string;
  bucket: string;
  flowCount: number;
  destinationCount: number;
  totals: Record<string, number>;
  flows: {
    flow: string;
    total: number;
    failed: number;
    failureRate: number;
    p50Ms: number | null;
    p99Ms: number | null;
  }[];
  destinations: {
    destination: string;
    attempts: number;
    failed: number;
    failureRate: number;
    p50Ms: number | null;
    p99Ms: number | null;
    lastStatus: number | null;
    lastAttemptAt: string | null;
    lastError: { code?: string; message?: string } | null;
  }[];
}

/** `18.8%`, `0%`, `100%`. */
function percent(rate: number): string {
  return `${Number((rate * 100).toFixed(1))}%`;
}

function duration(ms: number | null): string {
  return ms === null ? '-' : formatDuration(ms);
}

/** A receiver's or destination's text on one line, its control characters shown, never obeyed. */
function oneLine(text: string): string {
  return printable(text.replace(/\s+/g, ' ').trim());
}

/** The window, the totals by status, then tables of flows and destinations. */
export function formatStats(stats: StatsAnswer, flow?: string): string[] {
  const lines = [
    `window ${shortTime(stats.since)} to ${shortTime(stats.until)}, by ${stats.bucket}${flow ? `, flow ${flow} only` : ''}`,
  ];
  const statuses = [...RUN_STATUSES, ...Object.keys(stats.totals).filter((s) => !RUN_STATUSES.includes(s))];
  const all = statuses.reduce((sum, s) => sum + (stats.totals[s] ?? 0), 0);
  lines.push(`runs   ${all}: ${statuses.map((s) => `${stats.totals[s] ?? 0} ${s}`).join(', ')}`);

  lines.push('');
  if (stats.flows.length === 0) lines.push('no runs');
  else {
    lines.push(
      ...table(
        ['FLOW', 'RUNS', 'FAILED', 'FAILURE RATE', 'P50', 'P99'],
        stats.flows.map((f) => [
          f.flow,
          String(f.total),
          String(f.failed),
          percent(f.failureRate),
          duration(f.p50Ms),
          duration(f.p99Ms),
        ]),
      ).split('\n'),
    );
    const more = stats.flowCount - stats.flows.length;
    if (more > 0) lines.push(`(${more} more)`);
  }

  lines.push('');
  if (stats.destinations.length === 0) lines.push('no attempts');
  else {
    lines.push(
      ...table(
        ['DESTINATION', 'ATTEMPTS', 'FAILED', 'FAILURE RATE', 'LAST STATUS', 'P50', 'P99'],
        stats.destinations.map((d) => [
          oneLine(d.destination),
          String(d.attempts),
          String(d.failed),
          percent(d.failureRate),
          d.lastStatus === null ? '-' : String(d.lastStatus),
          duration(d.p50Ms),
          duration(d.p99Ms),
        ]),
      ).split('\n'),
    );
    const more = stats.destinationCount - stats.destinations.length;
    if (more > 0) lines.push(`(${more} more)`);
    const errors = stats.destinations.flatMap((d) => {
      const text = d.lastError ? [d.lastError.code, d.lastError.message].filter(Boolean).join(': ') : '';
      return text ? [[`  ${oneLine(d.destination)}`, truncate(oneLine(text), ERROR_PREVIEW_CHARS)]] : [];
    });
    if (errors.length > 0)
      lines.push('', 'last errors', ...table(['  DESTINATION', 'ERROR'], errors).split('\n'));
  }
  return lines;
}

interface StatsOptions {
  flow?: string;
  since?: string;
  until?: string;
  bucket?: string;
  top?: string;
}

export const statsHandler: CommandHandler<[], StatsOptions> = async (ctx) => {
  const { flow, since, until, bucket, top } = ctx.options;
  if (top !== undefined && !/^[1-9]\d*$/.test(top))
    throw usage(`--top must be a positive whole number, got '${top}'`);
  const stats = await ctx.api().json<StatsAnswer>('GET', '/api/stats', {
    query: { flow, since, until, bucket, top },
  });
  ctx.out.result(stats);
  for (const line of formatStats(stats, flow)) ctx.out.line(line);
  return 0;
};

export function registerStatsCommand(program: Command, wire: Wire): void {
  program
    .command('stats')
    .description(
      "the dashboard's figures: runs by status, and per flow and destination failures and durations",
    )
    .option('--flow <slug>', 'only runs of this flow, and their attempts')
    .option('--since <time>', 'start of the window, ISO 8601 (default 24 hours before --until)')
    .option('--until <time>', 'end of the window, excluded, ISO 8601 (default now)')
    .addOption(
      new Option(
        '--bucket <size>',
        'size of a bucket of the series in --json output (server default hour)',
      ).choices(STATS_BUCKETS),
    )
    .option(
      '--top <n>',
      'most flows and destinations listed, most failures first (server default 20, at most 100)',
    )
    .action(wire(statsHandler));
}
