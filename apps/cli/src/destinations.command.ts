import { DESTINATION_STATES } from '@hookflow/flows';
import { Option, type Command } from 'commander';
import { usage } from './cli-error';
import type { CommandContext, CommandHandler, Wire } from './command-context';
import { printable } from './listener';
import { table, truncate } from './output';
import { shortTime } from './runs.command';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** One destination of `GET /api/destinations`. */
export interface DestinationAnswer {
  id: string;
  host: string;
  state: string;
  pausedBy: string | null;
  consecutiveFailures: number;
  failureRate: number | null;
  lastSuccessAt: string | null;
  lastError: { code: string; message: string; status?: number } | null;
  pausedUntil: string | null;
  waitingSteps: number;
}

/** The table `hookflow destinations` prints. */
export function formatDestinations(items: DestinationAnswer[]): string[] {
  if (items.length === 0) return ['No destination has failed.'];
  return table(
    ['HOST', 'STATE', 'FAILURES', 'RATE', 'WAITING', 'LAST SUCCESS', 'LAST ERROR', 'ID'],
    items.map((d) => [
      printable(d.host),
      d.state === 'paused'
        ? `paused (${d.pausedBy === 'hand' ? 'by hand' : `until ${shortTime(d.pausedUntil)}`})`
        : d.state,
      String(d.consecutiveFailures),
      d.failureRate === null ? '-' : `${Math.round(d.failureRate * 100)}%`,
      String(d.waitingSteps),
      shortTime(d.lastSuccessAt),
      d.lastError
        ? truncate(
            printable(
              `${d.lastError.code}${d.lastError.status ? ` ${d.lastError.status}` : ''}: ${d.lastError.message}`,
            ),
            60,
          )
        : '-',
      d.id,
    ]),
  ).split('\n');
}

export const destinationsHandler: CommandHandler<[], { state?: string }> = async (ctx) => {
  const answer = await ctx.api().json<{ items: DestinationAnswer[] }>('GET', '/api/destinations', {
    query: { state: ctx.options.state },
  });
  ctx.out.result(answer);
  for (const line of formatDestinations(answer.items)) ctx.out.line(line);
  return 0;
};

/** `pause` or `resume` of a destination named by id or `host:port`. */
function byHand(action: 'pause' | 'resume'): CommandHandler<[string], object> {
  return async (ctx, target) => {
    const id = await idOf(ctx, target);
    const answer = await ctx.api().json<DestinationAnswer>('POST', `/api/destinations/${id}/${action}`);
    ctx.out.result(answer);
    ctx.out.line(
      `${answer.host}: ${answer.state}${answer.waitingSteps ? `, ${answer.waitingSteps} step(s) waiting` : ''}`,
    );
    return 0;
  };
}

async function idOf(ctx: CommandContext<object>, target: string): Promise<string> {
  if (UUID.test(target)) return target;
  const { items } = await ctx.api().json<{ items: DestinationAnswer[] }>('GET', '/api/destinations');
  const found = items.find((d) => d.host === target.toLowerCase());
  if (!found) throw usage(`no destination '${target}' (only destinations that have failed are known)`);
  return found.id;
}

export function registerDestinationsCommand(program: Command, wire: Wire): void {
  const command = program
    .command('destinations')
    .description('the circuit breaker: destinations that failed, their state, failure rate and waiting steps')
    .addOption(
      new Option('--state <state>', 'only destinations in this state').choices([...DESTINATION_STATES]),
    )
    .action(wire(destinationsHandler));
  command
    .command('pause <destination>')
    .description('pause a destination (id or host:port) by hand: its steps wait, no probes, until resumed')
    .action(wire(byHand('pause')));
  command
    .command('resume <destination>')
    .description('resume a paused or disabled destination (id or host:port); its waiting steps run')
    .action(wire(byHand('resume')));
}
