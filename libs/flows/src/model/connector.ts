// The seam between libs/flows and libs/connectors: flows renders `with`, a connector executes it.
import type { StepErrorCode } from './step-outcome';

export interface ConnectorContext {
  runId: string;
  stepId: string;
  /** 1-based attempt number. */
  attempt: number;
  /** Budget for the whole attempt (connect + headers + body). */
  timeoutMs: number;
  /** Same for every attempt of one step of one run, so receivers can drop repeats. */
  idempotencyKey: string;
  signal?: AbortSignal;
}

export interface Connector<TWith = Record<string, unknown>> {
  key: string;
  /** JSON Schema (draft 2020-12 subset understood by ajv) of the rendered `with` options. */
  schema: Record<string, unknown>;
  /** Runs the action. Resolves with the step output; throws `ConnectorError` on failure. */
  execute(input: TWith, ctx: ConnectorContext): Promise<unknown>;
}

export interface ConnectorRegistry {
  get(key: string): Connector | undefined;
  keys(): string[];
}

/** A classified connector failure. Anything else thrown by a connector is treated as a bug (final). */
export class ConnectorError extends Error {
  constructor(
    readonly code: StepErrorCode,
    message: string,
    readonly retryable: boolean,
    readonly extra: { status?: number; retryAfterMs?: number; output?: unknown } = {},
  ) {
    super(message);
    this.name = 'ConnectorError';
  }
}
