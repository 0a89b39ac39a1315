import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  backoffDelayMs,
  compileFlow,
  DEFAULT_POLL_ATTEMPTS,
  executeStep,
  parseDuration,
  resolveRetryPolicy,
  TRIGGER_METHODS,
  type CompiledFlow,
  type ConnectorRegistry,
  type ExpressionEvaluator,
  type PollTriggerDef,
  type StepError,
} from '@hookflow/flows';
import { HOOKFLOW_CONFIG, WorkerMetrics, type HookflowConfig } from '@hookflow/platform';
import { ExpressionSandbox } from '@hookflow/sandbox';
import {
  EventRepository,
  PollRepository,
  SecretRepository,
  secretRedactor,
  type TimedFlow,
} from '@hookflow/store';
import { createHash } from 'node:crypto';
import { CONNECTORS } from '../steps/tokens';
import { TriggerRuns } from './trigger-runs';

/** The most items one poll takes; more fail the poll (`too_many_items`) rather than start a flood. */
export const MAX_POLL_ITEMS = 1_000;
/** Keys longer than this are kept as their SHA-256. */
const MAX_KEY_LENGTH = 200;
/** The request's step id in the flow a poll's request runs in. */
const REQUEST_STEP = 'request';

/** What one poll did, as its event in the inspector shows it. */
export interface PollSummary {
  ok: boolean;
  status?: number;
  items?: number;
  started?: number;
  seen?: number;
  recorded?: number;
  keyless?: number;
  error?: { code: string; message: string };
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
 * One poll of a poll trigger: the request (an `http` action run outside any run, so it has the
 * outbound guard, templates, secrets and retries of one), its items, and a run per new key.
 */
@Injectable()
export class Poller {
  private readonly logger = new Logger(Poller.name);
  private readonly requests = new Map<string, CompiledFlow>();

  constructor(
    @Inject(CONNECTORS) private readonly connectors: ConnectorRegistry,
    @Inject(ExpressionSandbox) private readonly expressions: ExpressionEvaluator,
    private readonly secrets: SecretRepository,
    private readonly polls: PollRepository,
    private readonly events: EventRepository,
    private readonly runs: TriggerRuns,
    private readonly metrics: WorkerMetrics,
    @Inject(HOOKFLOW_CONFIG) private readonly config: HookflowConfig,
  ) {}

  async poll(
    flow: TimedFlow,
    trigger: PollTriggerDef,
    tick: { scheduledAt: string; firedAt: string },
  ): Promise<PollSummary> {
    const startedAt = new Date();
    let summary: PollSummary;
    try {
      summary = await this.pollOnce(flow, trigger, tick, startedAt);
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
    }
    await this.record(flow, summary, startedAt);
    return summary;
  }

  private async pollOnce(
    flow: TimedFlow,
    trigger: PollTriggerDef,
    tick: { scheduledAt: string; firedAt: string },
    at: Date,
  ): Promise<PollSummary> {
    const response = await this.request(flow, trigger, tick);
    const items = await this.itemsOf(trigger, response.body);
    const keyed: { key: string; item: unknown }[] = [];
    let keyless = 0;
    const inResponse = new Set<string>();
    // Newest first is how list APIs answer (and what Zapier expects): the oldest item starts first.
    for (const item of [...items].reverse()) {
      const key = await this.keyOf(trigger, item);
      if (key === undefined) keyless++;
      else if (!inResponse.has(key)) {
        inResponse.add(key);
        keyed.push({ key, item });
      }
    }
    const first = await this.polls.countPoll(flow.flowId, at);
    const known = await this.polls.seen(
      flow.flowId,
      keyed.map((k) => k.key),
    );
    const fresh = keyed.filter((k) => !known.has(k.key));
    const emit = !first || trigger.initial === 'emit';
    let started = 0;
    if (emit) {
      for (const { key, item } of fresh) {
        const created = await this.runs.start(flow, {
          method: TRIGGER_METHODS.poll,
          body: item,
          dedupeKey: `poll:${key}`,
          dedupeWindowMs: this.config.dedupeWindowMs,
        });
        if (!created.duplicate) started++;
      }
    }
    // Remembered only once its run is stored: a poll that dies between the two starts it next time.
    await this.polls.remember(
      flow.flowId,
      fresh.map((k) => k.key),
      at,
    );
    this.metrics.polledItems.inc({ flow: flow.slug, fate: 'started' }, started);
    this.metrics.polledItems.inc({ flow: flow.slug, fate: 'seen' }, keyed.length - fresh.length);
    if (!emit) this.metrics.polledItems.inc({ flow: flow.slug, fate: 'recorded' }, fresh.length);
    if (keyless > 0) this.metrics.polledItems.inc({ flow: flow.slug, fate: 'keyless' }, keyless);
    return {
      ok: true,
      status: response.status,
      items: items.length,
      started,
      seen: keyed.length - fresh.length,
      recorded: emit ? 0 : fresh.length,
      keyless,
    };
  }

  /** The request's response, after up to `retry.attempts` tries within the poll's time. */
  private async request(
    flow: TimedFlow,
    trigger: PollTriggerDef,
    tick: { scheduledAt: string; firedAt: string },
  ): Promise<{ status: number; body: unknown }> {
    const compiled = this.requestFlow(flow, trigger);
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
    const policy = resolveRetryPolicy(compiled.step(REQUEST_STEP).def);
    // Retries of one poll end before the next poll is due.
    const deadline = Date.now() + parseDuration(trigger.every);
    for (let attempt = 1; ; attempt++) {
      const outcome = redact(
        await executeStep(
          compiled,
          REQUEST_STEP,
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
            idempotencyKey: `poll_${flow.flowId}_${Date.parse(tick.scheduledAt)}`,
            budget: this.config.expressionBudget,
          },
        ),
      );
      if (outcome.status === 'succeeded') {
        const output = outcome.output as { status: number; body: unknown };
        return { status: output.status, body: output.body };
      }
      const error: StepError =
        outcome.status === 'failed'
          ? outcome.error
          : { code: 'internal_error', message: `request ended ${outcome.status}`, retryable: false };
      const waitMs = backoffDelayMs(policy, attempt, error.retryAfterMs);
      if (!error.retryable || attempt >= policy.attempts || Date.now() + waitMs >= deadline) {
        throw new PollFailure(
          error.code,
          `${error.message} (after ${attempt} ${attempt === 1 ? 'try' : 'tries'})`,
          error.status,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }

  /** The poll's request as the one step of a flow, so it runs as an action would (compiled once per version). */
  private requestFlow(flow: TimedFlow, trigger: PollTriggerDef): CompiledFlow {
    let compiled = this.requests.get(flow.versionId);
    if (!compiled) {
      if (this.requests.size >= 500) this.requests.clear();
      compiled = compileFlow({
        slug: flow.slug,
        trigger: { type: 'webhook' },
        steps: [
          {
            id: REQUEST_STEP,
            type: 'action',
            connector: 'http',
            with: trigger.request,
            retry: { attempts: DEFAULT_POLL_ATTEMPTS, ...trigger.retry },
            ...(trigger.timeout === undefined ? {} : { timeout: trigger.timeout }),
          },
        ],
      });
      this.requests.set(flow.versionId, compiled);
    }
    return compiled;
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
    return text.length > MAX_KEY_LENGTH ? `sha256:${createHash('sha256').update(text).digest('hex')}` : text;
  }

  /** Every poll is an event of its flow (bounded like refusals), so the inspector lists polls. */
  private async record(flow: TimedFlow, summary: PollSummary, at: Date): Promise<void> {
    try {
      await this.events.recordRefused({
        flowId: flow.flowId,
        method: TRIGGER_METHODS.poll,
        headers: {},
        query: {},
        rawBody: Buffer.from(JSON.stringify(summary)),
        contentType: 'application/json',
        sourceIp: null,
        receivedAt: at,
        statusCode: summary.status ?? 0,
        reason: summary.ok ? 'polled' : 'poll_failed',
      });
    } catch (err) {
      this.logger.warn({ msg: `could not record a poll: ${(err as Error).message}`, flow: flow.slug });
    }
  }
}
