import type { Command } from 'commander';
import { CliError } from './cli-error';
import type { CommandContext, CommandHandler, Wire } from './command-context';
import { alignColumns, plural } from './output';
import { DEFAULT_FLOWS_DIR, formatReports, loadFlowFiles, reportDetails } from './validate.command';

/** `POST /api/flows/sync` answer (ISSUE3 contract). */
export interface SyncResult {
  dryRun: boolean;
  created: Array<{ slug: string; path: string; version: number }>;
  updated: Array<{ slug: string; path: string; fromVersion: number; toVersion: number; changes: string[] }>;
  unchanged: Array<{ slug: string; path: string }>;
  disabled: Array<{ slug: string; source: string | null }>;
}

interface SyncOptions {
  prune?: boolean;
  dryRun?: boolean;
}

/** The readable diff: one aligned line a flow, then a count line. */
export function formatSyncResult(result: SyncResult): string[] {
  const rows: string[][] = [
    ...result.created.map((c) => ['+ created', c.slug, `(${c.path})`]),
    ...result.updated.map((u) => [
      '~ updated',
      u.slug,
      `v${u.fromVersion} -> v${u.toVersion}${u.changes.length > 0 ? `: ${u.changes.join('; ')}` : ''}`,
    ]),
    ...result.unchanged.map((u) => ['= unchanged', u.slug]),
    ...result.disabled.map((d) => ['- disabled', d.slug, d.source ? `(${d.source} is gone)` : '']),
  ];
  const counts = result.dryRun
    ? [
        `${result.created.length} to create`,
        `${result.updated.length} to update`,
        `${result.unchanged.length} unchanged`,
        `${result.disabled.length} to disable`,
      ]
    : [
        `${result.created.length} created`,
        `${result.updated.length} updated`,
        `${result.unchanged.length} unchanged`,
        `${result.disabled.length} disabled`,
      ];
  const total = rows.length;
  const summary = result.dryRun
    ? `Plan: ${counts.join(', ')} (${plural(total, 'flow')}; dry run, nothing changed).`
    : `Applied: ${counts.join(', ')}.`;
  return [...alignColumns(rows), summary];
}

async function sync(
  ctx: CommandContext<SyncOptions>,
  dir: string | undefined,
  dryRun: boolean,
): Promise<number> {
  const reports = await loadFlowFiles([dir ?? DEFAULT_FLOWS_DIR], ctx);
  const invalid = reports.filter((r) => !r.valid);
  if (invalid.length > 0) {
    throw new CliError(
      `${invalid.length} of ${plural(reports.length, 'flow file')} ${invalid.length === 1 ? 'is' : 'are'} invalid; nothing was sent`,
      { code: 'invalid_flow', details: reportDetails(invalid) },
    );
  }
  if (!ctx.json) for (const line of formatReports(reports)) ctx.io.stderr.write(`${line}\n`);
  const result = await ctx.api().json<SyncResult>('POST', '/api/flows/sync', {
    body: {
      files: reports.map((r) => ({ path: r.syncPath, definition: r.definition })),
      prune: ctx.options.prune === true,
      dryRun,
    },
  });
  ctx.out.result(result);
  for (const line of formatSyncResult(result)) ctx.out.line(line);
  if (dryRun && !ctx.json && (result.created.length || result.updated.length || result.disabled.length)) {
    ctx.out.note(
      `run 'hookflow apply${dir ? ` ${dir}` : ''}${ctx.options.prune ? ' --prune' : ''}' to make these changes`,
    );
  }
  return 0;
}

export const planHandler: CommandHandler<[string | undefined], SyncOptions> = (ctx, dir) =>
  sync(ctx, dir, true);

export const applyHandler: CommandHandler<[string | undefined], SyncOptions> = (ctx, dir) =>
  sync(ctx, dir, ctx.options.dryRun === true);

export function registerSyncCommands(program: Command, wire: Wire): void {
  const dirHelp = `folder of *.flow.json files (default ${DEFAULT_FLOWS_DIR})`;
  program
    .command('plan')
    .description('show what apply would change on the server (nothing is changed)')
    .argument('[dir]', dirHelp)
    .option('--prune', 'also show which file-managed flows without a file would be disabled')
    .action(wire(planHandler));
  program
    .command('apply')
    .description('create and update flows on the server from flow files (validated locally first)')
    .argument('[dir]', dirHelp)
    .option('--prune', 'disable file-managed flows whose file is gone (runs are kept)')
    .option('--dry-run', 'show the plan only, like `plan`')
    .action(wire(applyHandler));
}
