/** One line of an error's details: where (a file, a JSON pointer, both or neither) and what. */
export interface ErrorDetail {
  file?: string;
  path?: string;
  message: string;
}

/** An error for the person at the terminal: printed with its details, then exit with `exitCode`. */
export class CliError extends Error {
  readonly code: string;
  readonly details: ErrorDetail[];
  readonly exitCode: number;

  constructor(message: string, opts: { code?: string; details?: ErrorDetail[]; exitCode?: number } = {}) {
    super(message);
    this.name = 'CliError';
    this.code = opts.code ?? 'error';
    this.details = opts.details ?? [];
    this.exitCode = opts.exitCode ?? 1;
  }
}

/** A command used wrongly (bad option values, options that do not go together): exit 2. */
export function usage(message: string): CliError {
  return new CliError(message, { code: 'usage', exitCode: 2 });
}
