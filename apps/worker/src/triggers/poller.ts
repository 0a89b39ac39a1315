import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import {
  backoffDelayMs,
  compileFlow,
  executeStep,
  parseDuration,
  pollFingerprint,
  pollRequestFlow,
  POLL_REQUEST_STEP,
  resolveRetryPolicy,
  timedTriggerOf,
  TRIGGER_METHODS,
  type ConnectorRegistry,
  type ExpressionEvaluator,
  type PollTriggerDef,
  type StepError,
} from '@hookflow/flows';
import { HOOKFLOW_CONFIG, WorkerMetrics, type HookflowConfig } from '@hookflow/platform';
import { ExpressionSandbox } from '@hookflow/sandbox';
import {
  EventRepository,
  FlowRepository,
  OpsEventRepository,
  PollRepository,
  SecretRepository,
  secretRedactor,
  unstorableCharIn,
  type TimedFlow,
} from '@hookflow/store';
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { CONNECTORS } from '../steps/tokens';
import { TriggerRuns } from './trigger-runs';

/** The most items one poll takes; more fail the poll (`too_many_items`) rather than start a flood. */
export const MAX_POLL_ITEMS = 1_000;
/** A poll ends within its interval and within this, whatever its request's timeout and retries. */
export const MAX_POLL_MS = 15 * 60_000;
/** Polls one worker runs at once; a tick past them is skipped (the next one polls). */
const MAX_POLLS_IN_FLIGHT = 32;
/** Keys longer than this, or holding what PostgreSQL cannot store, are kept as their SHA-256. */
const MAX_KEY_LENGTH = 200;
/** A poll's lease outlives its deadline by this, for its last writes. */
const LEASE_MARGIN_MS = 30_000;

/** What one poll did, as its event in the inspector shows it. */
export interface PollSummary {
  ok: boolean;
  status?: number;
  items?: number;
  started?: number;
  seen?: number;
  recorded?: number;
  keyless?: number;
  /** Items whose run could not be stored: tried again at the next poll. */
  failed?: number;
  error?: { code: string; message: string };
}

interface Tick {
  scheduledAt: string;
  firedAt: string;
}

class PollFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/**
 * Poll triggers: one poll at a time per flow (a lease in PostgreSQL), run beside the trigger queue's
 * jobs so a slow one holds no tick back. A poll sends its request as an `http` action would, takes
 * its items, and starts a run per key the flow has not seen (docs/architecture.md).
 */
@Injectable()
export class Poller implements OnModuleDestroy {
  private readonly logger = new Logger(Poller.name);
  private readonly running = new Map<string, Promise<void>>();
  private readonly stopping = new AbortController();

  constructor(
    @Inject(CONNECTORS) private readonly connectors: ConnectorRegistry,
    @Inject(ExpressionSandbox) private readonly expressions: ExpressionEvaluator,
    private readonly secrets: SecretRepository,
    private readonly polls: PollRepository,
    private readonly flows: FlowRepository,
    private readonly events: EventRepository,
    private readonly ops: OpsEventRepository,
    private readonly runs: TriggerRuns,
    private readonly metrics: WorkerMetrics,
    @Inject(HOOKFLOW_CONFIG) private readonly config: HookflowConfig,
  ) {}

  /** Starts a poll and returns at once; none while this flow's last poll or too many others still run. */
  start(flow: TimedFlow, trigger: PollTriggerDef, tick: Tick): void {
    if (
      this.stopping.signal.aborted ||
      this.running.has(flow.flowId) ||
      this.running.size >= MAX_POLLS_IN_FLIGHT
    ) {
      this.metrics.polls.inc({ flow: flow.slug, outcome: 'busy' });
      return;
    }
    const poll = this.poll(flow, trigger, tick)
      .then(() => undefined)
      .catch((err: Error) => this.logger.error({ msg: `poll crashed: ${err.message}`, flow: flow.slug }))
      .finally(() => this.running.delete(flow.flowId));
    this.running.set(flow.flowId, poll);
  }

  /** Stops the polls running (their requests are aborted) and waits for them to let their leases go. */
  async onModuleDestroy(): Promise<void> {
    this.stopping.abort();
    await Promise.allSettled(this.running.values());
  }

  /** One poll, to its end; undefined when another worker's poll of the flow holds the lease. */
  async poll(flow: TimedFlow, trigger: PollTriggerDef, tick: Tick): Promise<PollSummary | undefined> {
    const budgetMs = Math.min(parseDuration(trigger.every), MAX_POLL_MS);
    const fingerprint = pollFingerprint(trigger);
    const claim = await this.polls.claim(flow.flowId, fingerprint, budgetMs + LEASE_MARGIN_MS);
    if (!claim.claimed) {
      this.metrics.polls.inc({ flow: flow.slug, outcome: 'busy' });
      return undefined;
    }
    const startedAt = new Date();
    const deadlineMs = startedAt.getTime() + budgetMs;
    const signal = AbortSignal.any([this.stopping.signal, AbortSignal.timeout(budgetMs)]);
    let summary: PollSummary;
    try {
      summary = await this.pollOnce(flow, trigger, tick, {
        first: claim.first,
        fingerprint,
        at: startedAt,
        signal,
        deadlineMs,
      });
      this.metrics.polls.inc({ flow: flow.slug, outcome: 'ok' });
    } catch (err) {
      const failure =
        err instanceof PollFailure ? err : new PollFailure('internal_error', (err as Error).message);
      summary = {
        ok: false,
        status: failure.status,
        error: { code: failure.code, message: failure.message },
      };
      this.metrics.polls.inc({ flow: flow.slug, outcome: 'failed' });
      this.logger.warn({ msg: `poll failed: ${failure.message}`, flow: flow.slug, code: failure.code });
      await this.polls.release(flow.flowId).catch(() => undefined);
    }
    await this.record(flow, summary, startedAt);
    if (!summary.ok && summary.error?.code !== 'superseded') await this.tell(flow, summary);
    return summary;
  }

  private async pollOnce(
    flow: TimedFlow,
    trigger: PollTriggerDef,
    tick: Tick,
    poll: { first: boolean; fingerprint: string; at: Date; signal: AbortSignal; deadlineMs: number },
  ): Promise<PollSummary> {
    const response = await this.request(flow, trigger, tick, poll);
    const items = await this.itemsOf(trigger, response.body);
    // Newest first is how list APIs answer (and what Zapier expects): a key listed twice keeps its
    // newest item, and the oldest item starts first.
    const byKey = new Map<string, unknown>();
    let keyless = 0;
    for (const item of items) {
      if (poll.signal.aborted) throw timedOut();
      const key = await this.keyOf(trigger, item);
      if (key === undefined) keyless++;
      else if (!byKey.has(key)) byKey.set(key, item);
    }
    const keyed = [...byKey].reverse();
    const known = await this.polls.seen(
      flow.flowId,
      keyed.map(([key]) => key),
    );
    await this.checkCurrent(flow, poll.fingerprint);
    const emit = !poll.first || trigger.initial === 'emit';
    const remembered: string[] = [];
    let started = 0;
    let failed = 0;
    for (const [key, item] of keyed) {
      if (known.has(key) || !emit) {
        remembered.push(key);
        continue;
      }
      // Past the deadline the rest wait, unremembered, for the next poll.
      if (poll.signal.aborted) continue;
      try {
        const created = await this.runs.start(flow, {
          method: TRIGGER_METHODS.poll,
          body: item,
          dedupeKey: `poll:${key}`,
          dedupeWindowMs: this.config.dedupeWindowMs,
        });
        if (!created.duplicate) started++;
        remembered.push(key);
      } catch (err) {
        failed++;
        this.logger.warn({
          msg: `could not start a run for a polled item: ${(err as Error).message}`,
          flow: flow.slug,
        });
      }
    }
    // Remembered only once its run is stored: a poll that stops half way starts the rest next time.
    await this.polls.finish(flow.flowId, poll.fingerprint, remembered, poll.at);
    const fresh = keyed.length - known.size;
    this.metrics.polledItems.inc({ flow: flow.slug, fate: 'started' }, started);
    this.metrics.polledItems.inc({ flow: flow.slug, fate: 'seen' }, known.size);
    if (!emit) this.metrics.polledItems.inc({ flow: flow.slug, fate: 'recorded' }, fresh);
    if (keyless > 0) this.metrics.polledItems.inc({ flow: flow.slug, fate: 'keyless' }, keyless);
    return {
      ok: true,
      status: response.status,
      items: items.length,
      started,
      seen: known.size,
      recorded: emit ? 0 : fresh,
      keyless,
      failed,
    };
  }

  /** The request's JSON answer, after up to `retry.attempts` tries within the poll's budget. */
  private async request(
    flow: TimedFlow,
    trigger: PollTriggerDef,
    tick: Tick,
    { signal, deadlineMs }: { signal: AbortSignal; deadlineMs: number },
  ): Promise<{ status: number; body: unknown }> {
    // Compiled per poll: a poll is seconds apart at the least, and its version may change between.
    const compiled = compileFlow(pollRequestFlow(flow.slug, trigger));
    const names = compiled.secretNames;
    let values: Record<string, string> = {};
    if (names.length > 0) {
      if (!this.secrets.available)
        throw new PollFailure(
          'invalid_config',
          'the request uses secrets, but the worker has no HOOKFLOW_MASTER_KEY',
        );
      values = await this.secrets.values(names);
    }
    const redact = secretRedactor(values);
    const policy = resolveRetryPolicy(compiled.step(POLL_REQUEST_STEP).def);
    for (let attempt = 1; ; attempt++) {
      const outcome = redact(
        await executeStep(
          compiled,
          POLL_REQUEST_STEP,
          {
            trigger: {
              body: tick,
              query: {},
              headers: {},
              method: TRIGGER_METHODS.poll,
              receivedAt: tick.firedAt,
            },
            steps: {},
            run: { id: `poll_${flow.flowId}`, flow: flow.slug },
          },
          {
            connectors: this.connectors,
            expressions: this.expressions,
            attempt,
            secrets: values,
            signal,
            idempotencyKey: `poll_${flow.flowId}_${Date.parse(tick.scheduledAt)}`,
            budget: this.config.expressionBudget,
          },
        ),
      );
      if (signal.aborted) throw timedOut();
      if (outcome.status === 'succeeded') {
        const output = outcome.output as { status: number; body: unknown };
        if (typeof output.body === 'string')
          throw new PollFailure(
            'response_not_json',
            'the response is not JSON, or was cut at MAX_STEP_OUTPUT_BYTES: a poll reads a JSON answer',
            output.status,
          );
        return { status: output.status, body: output.body };
      }
      const error: StepError =
        outcome.status === 'failed'
          ? outcome.error
          : { code: 'internal_error', message: `request ended ${outcome.status}`, retryable: false };
      const failure = new PollFailure(
        error.code,
        `${error.message} (after ${attempt} ${attempt === 1 ? 'try' : 'tries'})`,
        error.status,
      );
      const waitMs = backoffDelayMs(policy, attempt, error.retryAfterMs);
      // No try that would start past the poll's deadline: the next poll comes then.
      if (!error.retryable || attempt >= policy.attempts || Date.now() + waitMs >= deadlineMs) throw failure;
      try {
        await sleep(waitMs, undefined, { signal });
      } catch {
        throw failure;
      }
    }
  }

  /** A flow changed (or turned off) while its poll waited for an answer: that answer starts nothing. */
  private async checkCurrent(flow: TimedFlow, fingerprint: string): Promise<void> {
    const now = await this.flows.timedFlow(flow.flowId);
    const trigger = now?.enabled ? timedTriggerOf(now.definition) : undefined;
    if (trigger?.type !== 'poll' || pollFingerprint(trigger) !== fingerprint)
      throw new PollFailure(
        'superseded',
        'the flow changed or was turned off while this poll ran; the next poll uses it as it is now',
      );
  }

  private async itemsOf(trigger: PollTriggerDef, body: unknown): Promise<unknown[]> {
    let value: unknown;
    try {
      value = await this.expressions.evaluate({
        source: trigger.items ?? '$',
        input: body,
        budget: this.config.expressionBudget,
      });
    } catch (err) {
      throw new PollFailure('expression_error', `items: ${(err as Error).message}`);
    }
    const items = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
    if (items.length > MAX_POLL_ITEMS) {
      throw new PollFailure(
        'too_many_items',
        `items gave ${items.length} items; a poll takes at most ${MAX_POLL_ITEMS}`,
      );
    }
    return items;
  }

  /** The item's key as text; undefined when it has none (the item is skipped). */
  private async keyOf(trigger: PollTriggerDef, item: unknown): Promise<string | undefined> {
    let value: unknown;
    try {
      value = await this.expressions.evaluate({
        source: trigger.key,
        input: item,
        budget: this.config.expressionBudget,
      });
    } catch (err) {
      throw new PollFailure('expression_error', `key: ${(err as Error).message}`);
    }
    if (value === undefined || value === null || value === '') return undefined;
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    return text.length > MAX_KEY_LENGTH || unstorableCharIn(text)
      ? `sha256:${createHash('sha256').update(text).digest('hex')}`
      : text;
  }

  /** `poll.failed` for error flows and subscriptions: at most one a minute per flow, the rest counted. */
  private async tell(flow: TimedFlow, summary: PollSummary): Promise<void> {
    try {
      await this.ops.emitLimited('poll.failed', flow.flowId, {
        poll: { status: summary.status ?? null, error: summary.error },
        inspectorUrl: `${this.config.publicUrl}/ui/flows/${flow.slug}/events`,
      });
    } catch (err) {
      this.logger.warn({
        msg: `could not tell of a failed poll: ${(err as Error).message}`,
        flow: flow.slug,
      });
    }
  }

  /** Every poll is an event of its flow (bounded like refusals), so the inspector lists polls. */
  private async record(flow: TimedFlow, summary: PollSummary, at: Date): Promise<void> {
    try {
      await this.events.recordPoll({
        flowId: flow.flowId,
        receivedAt: at,
        statusCode: summary.status ?? 0,
        reason: summary.ok ? 'polled' : 'poll_failed',
        summary,
      });
    } catch (err) {
      this.logger.warn({ msg: `could not record a poll: ${(err as Error).message}`, flow: flow.slug });
    }
  }
}

function timedOut(): PollFailure {
  return new PollFailure(
    'timeout',
    'the poll did not end within its interval (or 15 minutes), or the worker stopped',
  );
}
