import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { within } from '../health/within';

/** Job states reported by `hookflow_queue_jobs`. */
export const QUEUE_JOB_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;
export type QueueJobState = (typeof QUEUE_JOB_STATES)[number];

/** A scrape must answer even when Redis does not: queue gauges keep their last value past this. */
const QUEUE_COUNT_TIMEOUT_MS = 2000;

/** A registry per app instance, never prom-client's global one: API and worker may share a process. */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** The API's metrics, served at its `/metrics`. */
export class ApiMetrics {
  readonly registry = createMetricsRegistry();

  /** `flow` is the slug ('' for an unknown key); `outcome` is accepted, duplicate, or the refusal's reason code. */
  readonly webhooksReceived = new Counter({
    name: 'hookflow_webhooks_received_total',
    help: 'Webhook requests answered, by flow and outcome (accepted, duplicate, or the refusal reason).',
    labelNames: ['flow', 'outcome'] as const,
    registers: [this.registry],
  });

  /** Runs started by hand (`POST /api/flows/:slug/run`, `hookflow run`), by flow slug; not counted as webhooks. */
  readonly manualRuns = new Counter({
    name: 'hookflow_manual_runs_total',
    help: 'Runs started by hand through the management API, by flow.',
    labelNames: ['flow'] as const,
    registers: [this.registry],
  });

  readonly ingestDuration = new Histogram({
    name: 'hookflow_ingest_duration_seconds',
    help: 'Time from the ingress controller receiving a webhook (body read) to answering it.',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  /** Accepted requests of flows with a respond step, by what answered them (`RESPOND_OUTCOMES`). */
  readonly respondAnswers = new Counter({
    name: 'hookflow_respond_answers_total',
    help: "Accepted webhooks of flows with a respond step, by how they were answered: answered (the step's answer), ended (the run did not reach it), timeout, busy (too many waiting), unheard (no channel to the workers), gone (the sender left).",
    labelNames: ['flow', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly respondWaiting = new Gauge({
    name: 'hookflow_respond_waiting',
    help: 'Webhook requests held open for a respond step right now (at most RESPOND_MAX_WAITING).',
    registers: [this.registry],
  });
}

/** How an accepted request of a flow with a respond step was answered. */
export const RESPOND_OUTCOMES = ['answered', 'ended', 'timeout', 'busy', 'unheard', 'gone'] as const;
export type RespondOutcome = (typeof RESPOND_OUTCOMES)[number];

/** One attempt of one step, as the worker counts it. */
export interface StepAttemptSample {
  type: string;
  /** succeeded, filtered, failed (for good) or retrying. */
  outcome: string;
  durationMs: number;
  /** The attempt's number; observed in `hookflow_step_attempts` only when the step finished. */
  attempt: number;
  /** The HTTP status an action got, null when it got none. */
  responseStatus: number | null;
}

/** The worker's metrics, served at `/metrics` on its health port. */
export class WorkerMetrics {
  readonly registry = createMetricsRegistry();

  readonly steps = new Counter({
    name: 'hookflow_steps_total',
    help: 'Step attempts, by step type and outcome (succeeded, filtered, failed, retrying).',
    labelNames: ['type', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly stepDuration = new Histogram({
    name: 'hookflow_step_duration_seconds',
    help: 'Duration of one step attempt, by step type.',
    labelNames: ['type'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly stepAttempts = new Histogram({
    name: 'hookflow_step_attempts',
    help: 'The attempt number at which a step finished (succeeded, filtered or failed for good).',
    buckets: [1, 2, 3, 4, 5, 6, 8, 10, 15, 20],
    registers: [this.registry],
  });

  readonly stepRetries = new Counter({
    name: 'hookflow_step_retries_total',
    help: 'Step attempts that failed and will be tried again.',
    registers: [this.registry],
  });

  readonly outboundResponses = new Counter({
    name: 'hookflow_outbound_responses_total',
    help: 'Responses to action requests by status class (2xx, 3xx, 4xx, 5xx; error when none came).',
    labelNames: ['class'] as const,
    registers: [this.registry],
  });

  readonly scheduleTicks = new Counter({
    name: 'hookflow_schedule_ticks_total',
    help: 'Ticks of schedules and polls, by flow and outcome (started, missed: a schedule late past its grace without catchUp, dropped: the flow is disabled, deleted or no longer timed, or the tick is of its old pattern, duplicate).',
    labelNames: ['flow', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly polls = new Counter({
    name: 'hookflow_polls_total',
    help: 'Polls of poll triggers, by flow and outcome (ok, failed, busy: skipped while the last poll of the flow still ran).',
    labelNames: ['flow', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly polledItems = new Counter({
    name: 'hookflow_polled_items_total',
    help: 'Items that polls found, by flow and fate (started: a run began, seen: known before, recorded: the first poll with initial skip, keyless).',
    labelNames: ['flow', 'fate'] as const,
    registers: [this.registry],
  });

  readonly reconcilerReenqueued = new Counter({
    name: 'hookflow_reconciler_reenqueued_total',
    help: 'Unfinished steps the reconciler found without a live job and enqueued again.',
    registers: [this.registry],
  });

  readonly retentionPruned = new Counter({
    name: 'hookflow_retention_pruned_rows_total',
    help: 'Rows deleted by retention pruning, by table (runs, step_runs, step_attempts, events, event_dedupe).',
    labelNames: ['table'] as const,
    registers: [this.registry],
  });

  readonly destinations = new Gauge({
    name: 'hookflow_destinations',
    help: 'Destinations the circuit breaker holds steps for, by state (paused, disabled), as this worker last read them.',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });

  readonly destinationHolds = new Counter({
    name: 'hookflow_destination_holds_total',
    help: 'Step jobs held in the queue for a paused or disabled destination (the same step counts at each return), and probes sent.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly queueJobs: Gauge<'state'>;

  /** `jobCounts` is read on each scrape (BullMQ's `queue.getJobCounts`). */
  constructor(jobCounts?: (...states: QueueJobState[]) => Promise<Record<string, number>>) {
    this.queueJobs = new Gauge({
      name: 'hookflow_queue_jobs',
      help: 'Jobs in the step queue by state, read when scraped.',
      labelNames: ['state'] as const,
      registers: [this.registry],
      async collect() {
        if (!jobCounts) return;
        try {
          const counts = await within(jobCounts(...QUEUE_JOB_STATES), QUEUE_COUNT_TIMEOUT_MS);
          for (const state of QUEUE_JOB_STATES) this.set({ state }, counts[state] ?? 0);
        } catch {
          // The queue is unreachable: /health/ready says so; the scrape still answers.
        }
      },
    });
  }

  /** Counts one finished attempt of a step. */
  recordStepAttempt(sample: StepAttemptSample): void {
    this.steps.inc({ type: sample.type, outcome: sample.outcome });
    this.stepDuration.observe({ type: sample.type }, sample.durationMs / 1000);
    if (sample.outcome === 'retrying') this.stepRetries.inc();
    else this.stepAttempts.observe(sample.attempt);
    if (sample.type !== 'action') return;
    const statusClass = outboundStatusClass(sample.responseStatus, sample.outcome);
    if (statusClass) this.outboundResponses.inc({ class: statusClass });
  }
}

/** '2xx'..'5xx'; 'error' for a failed action without a response; undefined when no status is reported. */
export function outboundStatusClass(status: number | null, outcome: string): string | undefined {
  if (status !== null && status >= 100 && status < 600) return `${Math.floor(status / 100)}xx`;
  return outcome === 'failed' || outcome === 'retrying' ? 'error' : undefined;
}
