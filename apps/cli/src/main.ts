import { Command, CommanderError } from 'commander';
import { CliError } from './cli-error';
import { CommandContext, type CommandHandler, type Wire } from './command-context';
import { registerExportCommand } from './export.command';
import { registerListenCommand } from './listen.command';
import { registerLoginCommands } from './login.command';
import { formatDetail, type CliIo } from './output';
import { registerRunCommand } from './run.command';
import { registerRunsCommands } from './runs.command';
import { registerStatsCommand } from './stats.command';
import { registerDestinationsCommand } from './destinations.command';
import { registerSubscriptionsCommands } from './subscriptions.command';
import { registerSyncCommands } from './sync.command';
import { registerTestCommand } from './test.command';
import { registerValidateCommand } from './validate.command';

/** Kept in step with package.json by hand: the compiled CLI under dist/ has no package.json. */
export const CLI_VERSION = '0.1.0';

function addGlobalOptions(command: Command): Command {
  return command
    .option(
      '--url <url>',
      'Hookflow server (default: $HOOKFLOW_URL, the saved login, or http://localhost:3000)',
    )
    .option('--key <key>', 'API key (default: $HOOKFLOW_API_KEY, or the saved login for its server)')
    .option('--json', 'print machine-readable JSON only');
}

function leaves(command: Command): Command[] {
  return command.commands.length === 0 ? [command] : command.commands.flatMap(leaves);
}

/** Options of a command and its ancestors; a value given closer to the command wins. */
function mergedOptions(command: Command): Record<string, unknown> {
  const chain: Command[] = [];
  for (let c: Command | null = command; c; c = c.parent) chain.unshift(c);
  const merged: Record<string, unknown> = {};
  for (const c of chain) {
    for (const [name, value] of Object.entries(c.opts())) if (value !== undefined) merged[name] = value;
  }
  return merged;
}

function buildProgram(io: CliIo, wire: Wire): Command {
  const program = new Command('hookflow')
    .description('Hookflow from the command line: flow files in git, plan/apply, local tests, runs.')
    .version(CLI_VERSION, '-V, --version', 'print the version')
    .enablePositionalOptions()
    .exitOverride()
    .showSuggestionAfterError()
    .configureOutput({
      writeOut: (text) => void io.stdout.write(text),
      writeErr: (text) => void io.stderr.write(text),
      getOutHelpWidth: () => io.stdout.columns ?? 100,
      getErrHelpWidth: () => io.stderr.columns ?? 100,
      getOutHasColors: () => false,
      getErrHasColors: () => false,
    })
    .addHelpText(
      'after',
      `
Environment:
  HOOKFLOW_URL      server for plan, apply, export, run, runs, stats and subscriptions (default: the saved login, or http://localhost:3000)
  HOOKFLOW_API_KEY  its API key (npm start keeps one in .data/api-key)
  HOOKFLOW_CONFIG   where hookflow login saves both (default ~/.config/hookflow/config.json)

Examples:
  hookflow login --url https://hooks.example.com --key hf_...   remember a server and its key
  hookflow validate                           check ./flows offline
  hookflow plan && hookflow apply --prune     sync ./flows to the server
  hookflow test flows/order-fanout.flow.json --payload flows/samples/order-fanout.json
  hookflow run order-fanout --payload flows/samples/order-fanout.json --wait   a real run, printed when it ends
  hookflow runs list --flow order-fanout --status failed
  hookflow stats --flow order-fanout          its last 24 hours: runs, failures, durations by destination
  hookflow destinations                       the circuit breaker: paused and failing destinations
  hookflow listen --fail-first 2              a local receiver that prints what it gets (500, 500, 200)`,
    );
  registerValidateCommand(program, wire);
  registerSyncCommands(program, wire);
  registerExportCommand(program, wire);
  registerTestCommand(program, wire);
  registerRunCommand(program, wire);
  registerRunsCommands(program, wire);
  registerStatsCommand(program, wire);
  registerDestinationsCommand(program, wire);
  registerSubscriptionsCommands(program, wire);
  registerLoginCommands(program, wire);
  registerListenCommand(program, wire);
  addGlobalOptions(program);
  for (const leaf of leaves(program)) if (leaf !== program) addGlobalOptions(leaf);
  return program;
}

function printError(err: unknown, io: CliIo, json: boolean): void {
  if (err instanceof CliError) {
    if (json) {
      io.stderr.write(`${JSON.stringify({ error: err.code, message: err.message, details: err.details })}\n`);
      return;
    }
    io.stderr.write(`hookflow: ${err.message}\n`);
    for (const detail of err.details) io.stderr.write(`  ${formatDetail(detail)}\n`);
    return;
  }
  const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
  io.stderr.write(
    json
      ? `${JSON.stringify({ error: 'internal_error', message: String((err as Error)?.message ?? err) })}\n`
      : `hookflow: unexpected error (please report it): ${message}\n`,
  );
}

/** Runs the CLI on `argv`, resolving with the exit code; never touches `process`, so tests can run it. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  let exitCode = 0;
  let json = argv.includes('--json');
  const wire: Wire =
    (handler) =>
    async (...args: unknown[]) => {
      const command = args[args.length - 1] as Command;
      const options = mergedOptions(command);
      json = options.json === true;
      const run = handler as CommandHandler<unknown[], unknown>;
      exitCode = await run(new CommandContext(io, options), ...args.slice(0, -2));
    };
  try {
    await buildProgram(io, wire).parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    printError(err, io, json);
    return err instanceof CliError ? err.exitCode : 1;
  }
}
