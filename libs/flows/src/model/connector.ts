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
  /** Told what the attempt sent and received, once, also when it failed (docs/api.md, attempts). */
  onExchange?: (exchange: Exchange) => void;
}

/** The request an attempt sent; header names lower-case. */
export interface ExchangeRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | null;
  /** Size of the whole body as sent. */
  bodyBytes: number;
  /** True when `body` is not all of it. */
  bodyTruncated: boolean;
}

/** The response an attempt received; header names lower-case. */
export interface ExchangeResponse {
  status: number;
  headers: Record<string, string>;
  body: string | null;
  /** Size of the body as read (a connector stops reading at its own limit). */
  bodyBytes: number;
  bodyTruncated: boolean;
  /** From sending the request to the end of the body. */
  durationMs: number;
}

/** What one attempt of an action sent and got back; `response` is null when none came. */
export interface Exchange {
  /** `host:port` of the action's URL (before redirects). */
  destination: string;
  request: ExchangeRequest;
  response: ExchangeResponse | null;
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
