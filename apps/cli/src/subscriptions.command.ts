import type { Command } from 'commander';
import { usage } from './cli-error';
import type { CommandHandler, Wire } from './command-context';
import { printable } from './listener';
import { table } from './output';

/** A subscription as `/api/subscriptions` answers it (`secret` only when created). */
export interface SubscriptionAnswer {
  id: string;
  url: string;
  events: string[];
  flows: string[];
  description: string | null;
  enabled: boolean;
  secret?: string;
}

/** One row per subscription: id, on or off, events, flows and URL. */
export function formatSubscriptions(items: SubscriptionAnswer[]): string[] {
  if (items.length === 0) return ['no subscriptions'];
  return table(
    ['ID', 'ENABLED', 'EVENTS', 'FLOWS', 'URL'],
    items.map((s) => [
      s.id,
      s.enabled ? 'yes' : 'no',
      s.events.join(','),
      s.flows.length === 0 ? '*' : s.flows.join(','),
      printable(s.url),
    ]),
  ).split('\n');
}

/** `--events a,b` and `--flows x,y` as lists. */
function list(value: string | undefined): string[] | undefined {
  return value === undefined
    ? undefined
    : value
        .split(',')
        .map((v) => v.trim())
        .filter(Boolean);
}

export const subscriptionsListHandler: CommandHandler<[]> = async (ctx) => {
  const answer = await ctx.api().json<{ items: SubscriptionAnswer[] }>('GET', '/api/subscriptions');
  ctx.out.result(answer);
  for (const line of formatSubscriptions(answer.items)) ctx.out.line(line);
  return 0;
};

interface CreateOptions {
  events?: string;
  flows?: string;
  description?: string;
  disabled?: boolean;
}

/** Subscribes a URL; prints the signing secret, which the server never shows again. */
export const subscriptionsCreateHandler: CommandHandler<[string], CreateOptions> = async (ctx, url) => {
  const events = list(ctx.options.events);
  if (!events || events.length === 0)
    throw usage('--events is required: e.g. --events run.failed,poll.failed');
  const created = await ctx.api().json<SubscriptionAnswer>('POST', '/api/subscriptions', {
    body: {
      url,
      events,
      ...(ctx.options.flows === undefined ? {} : { flows: list(ctx.options.flows) }),
      ...(ctx.options.description === undefined ? {} : { description: ctx.options.description }),
      ...(ctx.options.disabled ? { enabled: false } : {}),
    },
  });
  ctx.out.result(created);
  ctx.out.line(`subscription ${created.id} sends ${created.events.join(', ')} to ${printable(created.url)}`);
  ctx.out.line(`signing secret (shown this once; verify with any Standard Webhooks library):`);
  ctx.out.line(`  ${created.secret}`);
  return 0;
};

export const subscriptionsDeleteHandler: CommandHandler<[string]> = async (ctx, id) => {
  await ctx.api().json('DELETE', `/api/subscriptions/${encodeURIComponent(id)}`);
  ctx.out.result({ id, deleted: true });
  ctx.out.line(`subscription ${id} deleted`);
  return 0;
};

export function registerSubscriptionsCommands(program: Command, wire: Wire): void {
  const subscriptions = program
    .command('subscriptions')
    .description('operational webhooks: URLs sent run.failed and other events, signed (docs/alerts.md)');
  subscriptions.command('list').description('every subscription').action(wire(subscriptionsListHandler));
  subscriptions
    .command('create')
    .description('subscribe a URL to operational events; prints its signing secret once')
    .argument('<url>', 'where the events are POSTed (http or https)')
    .option('--events <types>', 'comma-separated: run.failed, run.succeeded, destination.paused, ...')
    .option('--flows <patterns>', "comma-separated flow slugs or patterns ('orders-*'); default every flow")
    .option('--description <text>', 'a note for people')
    .option('--disabled', 'create it turned off')
    .action(wire(subscriptionsCreateHandler));
  subscriptions
    .command('delete')
    .description('delete a subscription and its deliveries')
    .argument('<id>', 'subscription id')
    .action(wire(subscriptionsDeleteHandler));
}
