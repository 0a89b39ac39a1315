/** One line of an error's details: where (a file, a JSON pointer, both or neither) and what. */
export interface ErrorDetail {
  file?: string;
  path?: string;
  message: string;
}

/**
 * An error meant for the person at the terminal: `message` is printed as is (after
 * `hookflow: `), each detail on its own line, and the process exits with `exitCode`.
 */
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
