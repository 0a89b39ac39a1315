import { ApiClient, DEFAULT_HOOKFLOW_URL } from './api-client';
import { readLogin, sameServer, type SavedLogin } from './cli-config';
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
  private saved: SavedLogin | undefined | null = null;

  constructor(
    readonly io: CliIo,
    readonly options: TOptions & GlobalOptions,
  ) {
    this.out = new Output(io, options.json === true);
  }

  get json(): boolean {
    return this.out.json;
  }

  /** What `hookflow login` saved, read once. */
  get login(): SavedLogin | undefined {
    if (this.saved === null) this.saved = readLogin(this.io.env);
    return this.saved;
  }

  /** The server: `--url`, else HOOKFLOW_URL, else the saved login's, else http://localhost:3000. */
  get url(): string {
    return this.options.url || this.io.env.HOOKFLOW_URL || this.login?.url || DEFAULT_HOOKFLOW_URL;
  }

  /** `--key`, else HOOKFLOW_API_KEY. */
  get explicitKey(): string | undefined {
    return this.options.key || this.io.env.HOOKFLOW_API_KEY || undefined;
  }

  /** The explicit key, else the saved one when talking to the server it was saved for. */
  get key(): string | undefined {
    const explicit = this.explicitKey;
    if (explicit) return explicit;
    const login = this.login;
    return login?.key && sameServer(login.url, this.url) ? login.key : undefined;
  }

  /** A client for the management API at `url` with `key`. */
  api(): ApiClient {
    return new ApiClient({ baseUrl: this.url, apiKey: this.key });
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
