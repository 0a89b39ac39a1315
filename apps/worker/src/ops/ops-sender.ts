import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import {
  ALERT_MESSAGE_STEP,
  alertMessageFlow,
  ConnectorError,
  compileFlow,
  executeStep,
  type ConnectorRegistry,
  type ExpressionEvaluator,
} from '@hookflow/flows';
import { HOOKFLOW_CONFIG, type HookflowConfig } from '@hookflow/platform';
import { ExpressionSandbox } from '@hookflow/sandbox';
import {
  OpsDeliveryRepository,
  OpsSubscriptionRepository,
  secretRedactor,
  type ClaimedOpsDelivery,
  type OpsDeliveryOutcome,
} from '@hookflow/store';
import { StepSecrets } from '../steps/step-secrets';
import { CONNECTORS } from '../steps/tokens';
import type { AlertDeliveryBody } from './ops-deliveries';
import { OpsDeliveries } from './ops-deliveries';
import { opsRetryDecision, type OpsTryFailure } from './ops-retry';

/** How often the sender looks for due deliveries. */
export const OPS_SEND_INTERVAL_MS = 250;
/** Deliveries one worker sends at once. */
const MAX_IN_FLIGHT = 16;
/** One try's budget; its lease outlives it by a margin for the write of its outcome. */
const TRY_TIMEOUT_MS = 15_000;
const LEASE_MS = TRY_TIMEOUT_MS + 30_000;
/** Ended alert windows are looked for on every this many beats (about a second). */
const WINDOW_BEATS = 4;
/** Delivered and failed deliveries are kept this long for `GET /api/subscriptions/:id/deliveries`. */
const KEEP_FINISHED_MS = 7 * 86_400_000;
const PRUNE_EVERY_MS = 3_600_000;

/** What one try came to before the retry rules: delivered, or how it failed. */
type TryResult = { ok: true; status: number } | { ok: false; failure: OpsTryFailure; message: string };

/**
 * Sends operational deliveries (subscriptions' signed webhooks and alert messages): claims due
 * rows under a lease (`FOR UPDATE SKIP LOCKED`, so two workers never send one at once), sends,
 * and records delivered, a retry with backoff, or failed (docs/alerts.md).
 */
@Injectable()
export class OpsSender implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(OpsSender.name);
  private readonly inFlight = new Set<Promise<void>>();
  private readonly stopping = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private beat: Promise<void> | undefined;
  private beats = 0;
  private lastPruneMs = 0;

  constructor(
    @Inject(CONNECTORS) private readonly connectors: ConnectorRegistry,
    @Inject(ExpressionSandbox) private readonly expressions: ExpressionEvaluator,
    private readonly deliveries: OpsDeliveryRepository,
    private readonly subscriptions: OpsSubscriptionRepository,
    private readonly secrets: StepSecrets,
    private readonly ops: OpsDeliveries,
    @Inject(HOOKFLOW_CONFIG) private readonly config: HookflowConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.schedule();
  }

  /** Stops claiming, aborts the tries in flight and waits for their outcomes to be written. */
  async onModuleDestroy(): Promise<void> {
    this.stopping.abort();
    clearTimeout(this.timer);
    await this.beat;
    await Promise.allSettled([...this.inFlight]);
  }

  private schedule(): void {
    if (this.stopping.signal.aborted) return;
    this.timer = setTimeout(() => {
      this.beat = this.once()
        .catch((err: Error) => this.logger.warn({ msg: `ops deliveries: ${err.message}` }))
        .finally(() => {
          this.beat = undefined;
          this.schedule();
        });
    }, OPS_SEND_INTERVAL_MS);
    this.timer.unref();
  }

  /** One beat: windows ended, then as many due deliveries as there is room for. */
  async once(): Promise<void> {
    if (++this.beats % WINDOW_BEATS === 0) await this.ops.tellEndedWindows();
    if (Date.now() - this.lastPruneMs > PRUNE_EVERY_MS) {
      this.lastPruneMs = Date.now();
      await this.ops.prune(KEEP_FINISHED_MS);
    }
    const room = MAX_IN_FLIGHT - this.inFlight.size;
    if (room <= 0 || this.stopping.signal.aborted) return;
    for (const delivery of await this.deliveries.claim(room, LEASE_MS)) {
      const sending: Promise<void> = this.send(delivery)
        .then(() => undefined)
        .catch((err: Error) =>
          this.logger.error({ msg: `ops delivery crashed: ${err.message}`, delivery: delivery.id }),
        )
        .finally(() => this.inFlight.delete(sending));
      this.inFlight.add(sending);
    }
  }

  /** Sends one delivery and writes what came of it. */
  async send(delivery: ClaimedOpsDelivery): Promise<OpsDeliveryOutcome> {
    let result: TryResult;
    try {
      result =
        delivery.kind === 'subscription'
          ? await this.toSubscription(delivery)
          : await this.toAlertTarget(delivery);
    } catch (err) {
      result = {
        ok: false,
        failure: { code: 'internal_error', retryable: true },
        message: (err as Error).message,
      };
    }
    const outcome = outcomeOf(delivery, result);
    // A try cut short by shutdown is not the receiver's fault: the lease lapses and another worker sends it.
    if (this.stopping.signal.aborted && !result.ok && result.failure.code === 'cancelled') return outcome;
    await this.deliveries.record(delivery, outcome);
    if (outcome.status === 'failed')
      this.logger.warn({
        msg: `ops delivery failed: ${outcome.error}`,
        delivery: delivery.id,
        kind: delivery.kind,
      });
    return outcome;
  }

  /** A signed POST of the event's body: Standard Webhooks headers, `webhook-id` the same on every try. */
  private async toSubscription(delivery: ClaimedOpsDelivery): Promise<TryResult> {
    const target = await this.subscriptions.target(delivery.subscriptionId!);
    if (!target) return final('invalid_config', 'the subscription was deleted');
    if (!target.enabled) return final('invalid_config', 'the subscription is disabled');
    const http = this.connectors.get('http')!;
    try {
      const output = (await http.execute(
        {
          method: 'POST',
          url: target.url,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(delivery.body),
          sign: { secret: target.secret },
        },
        {
          runId: `ops_${delivery.id}`,
          stepId: 'delivery',
          attempt: delivery.attempts,
          timeoutMs: TRY_TIMEOUT_MS,
          idempotencyKey: delivery.key,
          signal: this.stopping.signal,
        },
      )) as { status: number };
      return { ok: true, status: output.status };
    } catch (err) {
      const redact = secretRedactor({ subscription: target.secret });
      if (err instanceof ConnectorError)
        return {
          ok: false,
          failure: {
            code: err.code,
            retryable: err.retryable,
            status: err.extra.status,
            retryAfterMs: err.extra.retryAfterMs,
          },
          message: redact(err.message),
        };
      return {
        ok: false,
        failure: { code: 'internal_error', retryable: false },
        message: redact((err as Error).message),
      };
    }
  }

  /** An alert message through the rule's connector, as the one action of a flow of its own. */
  private async toAlertTarget(delivery: ClaimedOpsDelivery): Promise<TryResult> {
    const { slug, target, message } = delivery.body as AlertDeliveryBody;
    const compiled = compileFlow(alertMessageFlow(slug, target));
    const loaded = await this.secrets.load(compiled, ALERT_MESSAGE_STEP);
    if (!loaded.ok) return final(loaded.error.code, loaded.error.message);
    const values = loaded.values;
    const redact = secretRedactor(values);
    const outcome = redact(
      await executeStep(
        compiled,
        ALERT_MESSAGE_STEP,
        {
          trigger: { body: message, query: {}, headers: {}, method: 'ALERT', receivedAt: message.at },
          steps: {},
          run: { id: `alert_${delivery.id}`, flow: slug },
        },
        {
          connectors: this.connectors,
          expressions: this.expressions,
          attempt: delivery.attempts,
          secrets: values,
          signal: this.stopping.signal,
          idempotencyKey: delivery.key,
          budget: this.config.expressionBudget,
        },
      ),
    );
    if (outcome.status === 'succeeded')
      return { ok: true, status: (outcome.output as { status: number }).status };
    if (outcome.status !== 'failed') return final('internal_error', `the message ended ${outcome.status}`);
    const { error } = outcome;
    return {
      ok: false,
      failure: {
        code: error.code,
        retryable: error.retryable,
        status: error.status,
        retryAfterMs: error.retryAfterMs,
      },
      message: error.message,
    };
  }
}

function final(code: string, message: string): TryResult {
  return { ok: false, failure: { code, retryable: false }, message };
}

/** The row's next state after a try: delivered, another try later, or failed for good. */
function outcomeOf(delivery: ClaimedOpsDelivery, result: TryResult): OpsDeliveryOutcome {
  if (result.ok) return { status: 'delivered', responseStatus: result.status };
  const error = `${result.failure.code}: ${result.message}`;
  const decision = opsRetryDecision(delivery.attempts, result.failure);
  return decision.retry
    ? {
        status: 'pending',
        nextAt: new Date(Date.now() + decision.delayMs),
        responseStatus: result.failure.status,
        error,
      }
    : { status: 'failed', responseStatus: result.failure.status, error };
}
