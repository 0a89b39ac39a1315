import type { Exchange } from './connector';

// The result of one attempt of one step; a failure is retried only when `retryable`.
export type StepErrorCode =
  | 'transform_error'
  | 'filter_error'
  /** A code step threw, or did not compile; final. */
  | 'code_error'
  /** A loop's `items` gave more than its `maxItems`; final. */
  | 'too_many_items'
  /** Items of a loop failed (without `continueOnError`), once all of them finished; final. */
  | 'loop_items_failed'
  | 'expression_timeout'
  | 'expression_depth'
  /** The expression ran out of the sandbox's memory (EXPRESSION_MEMORY_MB) or crashed it; final. */
  | 'expression_too_large'
  /** The step's output is over MAX_STEP_OUTPUT_BYTES; final, and nothing of it is kept. */
  | 'output_too_large'
  /** The expression sandbox could not take the evaluation; retryable. */
  | 'expression_unavailable'
  | 'template_error'
  | 'connector_not_found'
  | 'invalid_config'
  | 'network_error'
  | 'timeout'
  | 'http_error'
  /** The outbound guard refused the destination address (private, loopback, metadata...); final. */
  | 'blocked'
  /** TLS handshake or certificate failure; certificate errors are final, handshake errors retryable. */
  | 'tls_error'
  | 'attempts_exhausted'
  /** The step ran but PostgreSQL refused its outcome (input, output or error); recorded without them. */
  | 'outcome_unstorable'
  /** The reconciler re-enqueued the step its maximum number of times without an outcome; given up. */
  | 'requeue_limit'
  /** The step waited for a destination that the circuit breaker then disabled; final (docs/outbound.md). */
  | 'destination_disabled'
  | 'internal_error'
  /** The caller aborted the attempt through `signal` (shutdown, run cancelled); nothing is known about the receiver. */
  | 'cancelled';

export interface StepError {
  code: StepErrorCode;
  message: string;
  retryable: boolean;
  /** The receiver asked to wait this long (Retry-After), already capped. */
  retryAfterMs?: number;
  /** HTTP status of the response, where there was one. */
  status?: number;
}

export type StepOutcome =
  /** `resumeAtMs` (epoch ms): a delay step's resume time; the worker parks the step until then. */
  | {
      status: 'succeeded';
      input: unknown;
      output: unknown;
      resumeAtMs?: number;
      routes?: string[];
      /** A code step's `console.log` lines. */
      logs?: string[];
      /** A `foreach` step: the items its steps run for, once each. */
      items?: unknown[];
      /** An action: what it sent and received, as its connector told it. */
      exchange?: Exchange;
    }
  /** `routes`: a router that took no path ends filtered, with `[]`. */
  | { status: 'filtered'; input: unknown; output: unknown; routes?: string[] }
  | {
      status: 'failed';
      input: unknown;
      error: StepError;
      output?: unknown;
      logs?: string[];
      exchange?: Exchange;
    };
