import type { Command } from 'commander';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { CliError } from './cli-error';
import type { CommandHandler, Wire } from './command-context';

interface ExportOptions {
  output?: string;
}

/** Writes the server's canonical file text unchanged, so export -> apply -> export round-trips. */
export const exportHandler: CommandHandler<[string], ExportOptions> = async (ctx, slug) => {
  const text = await ctx.api().text('GET', `/api/flows/${encodeURIComponent(slug)}/export`);
  const file = ctx.options.output;
  if (file === undefined || file === '-') {
    ctx.io.stdout.write(text);
    return 0;
  }
  const target = path.resolve(ctx.io.cwd, file);
  try {
    await fs.writeFile(target, text);
  } catch (err) {
    throw new CliError(`cannot write ${file}: ${(err as Error).message}`);
  }
  ctx.out.result({ slug, file: target, bytes: Buffer.byteLength(text) });
  ctx.out.line(`exported ${slug} to ${file}`);
  return 0;
};

export function registerExportCommand(program: Command, wire: Wire): void {
  program
    .command('export')
    .description("print a flow's canonical file (what apply takes) or write it to a file")
    .argument('<slug>', 'the flow')
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .action(wire(exportHandler));
}
