import type { StepError } from '@hookflow/flows';

/** Thrown to BullMQ for a retryable failure; the backoff strategy reads `retryAfterMs`. */
export class RetryableStepError extends Error {
  readonly retryAfterMs?: number;

  constructor(error: StepError) {
    super(`${error.code}: ${error.message}`);
    this.name = 'RetryableStepError';
    this.retryAfterMs = error.retryAfterMs;
  }
}
