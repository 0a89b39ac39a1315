import { ApiClient, DEFAULT_HOOKFLOW_URL } from './api-client';
import { Output, type CliIo } from './output';

/** Options every command takes (`--url`, `--key`, `--json`). */
export interface GlobalOptions {
  url?: string;
  key?: string;
  json?: boolean;
}

/** What a command's handler gets: the process seams, its parsed options and the output. */
export class CommandContext<TOptions = Record<string, unknown>> {
  readonly out: Output;

  constructor(
    readonly io: CliIo,
    readonly options: TOptions & GlobalOptions,
  ) {
    this.out = new Output(io, options.json === true);
  }

  get json(): boolean {
    return this.out.json;
  }

  /** The server: `--url`, else HOOKFLOW_URL, else http://localhost:3000. */
  get url(): string {
    return this.options.url || this.io.env.HOOKFLOW_URL || DEFAULT_HOOKFLOW_URL;
  }

  /** A client for the management API with `--key` or HOOKFLOW_API_KEY. */
  api(): ApiClient {
    return new ApiClient({ baseUrl: this.url, apiKey: this.options.key || this.io.env.HOOKFLOW_API_KEY });
  }
}

/** A command's body: resolves with the exit code (0 for success) or throws a `CliError`. */
export type CommandHandler<TArgs extends unknown[], TOptions = Record<string, unknown>> = (
  ctx: CommandContext<TOptions>,
  ...args: TArgs
) => Promise<number>;

/** Turns a handler into a commander action that records its exit code (see main.ts). */
export type Wire = <TArgs extends unknown[], TOptions>(
  handler: CommandHandler<TArgs, TOptions>,
) => (...args: any[]) => Promise<void>;
