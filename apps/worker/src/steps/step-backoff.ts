import { backoffDelayMs } from '@hookflow/flows';
import type { StepJobData } from '@hookflow/queue';
import type { MinimalJob } from 'bullmq';
import type { RetryableStepError } from './step-errors';

/** BullMQ backoff for step jobs: the step's schedule from the job; Retry-After wins, capped at maxDelay. */
export function stepBackoff(attemptsMade: number, _type?: string, err?: Error, job?: MinimalJob): number {
  const data = job?.data as StepJobData | undefined;
  if (!data?.backoff) return 1000;
  const policy = {
    attempts: 0,
    backoff: data.backoff.kind,
    delayMs: data.backoff.delayMs,
    maxDelayMs: data.backoff.maxDelayMs,
  };
  return Math.round(
    backoffDelayMs(
      policy,
      attemptsMade + (data.attemptsBefore ?? 0),
      (err as RetryableStepError | undefined)?.retryAfterMs,
    ),
  );
}
