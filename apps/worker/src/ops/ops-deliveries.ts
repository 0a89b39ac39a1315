import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  alertOnFailure,
  alertOnWindowEnd,
  alertThrottleMs,
  failureMessage,
  NO_ALERT_WINDOW,
  slugMatches,
  summaryMessage,
  type AlertDecision,
  type AlertsDef,
  type AlertWindow,
} from '@hookflow/flows';
import { HOOKFLOW_CONFIG, type HookflowConfig } from '@hookflow/platform';
import {
  AlertStateRepository,
  OpsDeliveryRepository,
  OpsSubscriptionRepository,
  type AlertRule,
  type NewOpsDelivery,
  type StoredAlertWindow,
} from '@hookflow/store';
import type { DispatchedOpsEvent } from './ops-event';

/** Tries of a window's write when other workers keep moving it. */
const MAX_WINDOW_WRITES = 5;
/** Counted event ids are kept this long: a dispatch is repeated within minutes, if ever. */
const COUNTED_EVENTS_KEPT_MS = 2 * 86_400_000;

/** What an alert delivery carries: the rule's target (rendered when sent) and the message. */
export interface AlertDeliveryBody {
  slug: string;
  target: AlertsDef['onFailure'];
  message: ReturnType<typeof failureMessage>;
}

/**
 * Operational webhooks and alert rules: what the dispatcher hands each event to after the error
 * flows (which event types subscriptions want is kept in SQL, `hookflow_refresh_ops_interests`).
 * Idempotent per event id (a dispatch cut short is repeated): deliveries have a key per
 * event, and an alert window counts an event id once (docs/alerts.md).
 */
@Injectable()
export class OpsDeliveries {
  private readonly logger = new Logger(OpsDeliveries.name);

  constructor(
    private readonly subscriptions: OpsSubscriptionRepository,
    private readonly deliveries: OpsDeliveryRepository,
    private readonly alerts: AlertStateRepository,
    @Inject(HOOKFLOW_CONFIG) private readonly config: HookflowConfig,
  ) {}

  async enqueue(events: readonly DispatchedOpsEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.toSubscribers(events);
    await this.toAlertRules(events);
  }

  /** Tells the windows that ended with failures counted; the sender calls it on its beat. */
  async tellEndedWindows(nowMs = Date.now()): Promise<number> {
    const ended = await this.alerts.ended(100);
    if (ended.length === 0) return 0;
    const rules = new Map((await this.alerts.rules(ended.map((w) => w.flowId))).map((r) => [r.flowId, r]));
    let told = 0;
    for (const window of ended) {
      const rule = rules.get(window.flowId);
      // The rule was removed (or the flow deleted) since: nothing more is told.
      if (!rule) {
        await this.alerts.forget(window.flowId);
        continue;
      }
      const throttleMs = alertThrottleMs(rule.alerts);
      const decision = alertOnWindowEnd(window, nowMs, throttleMs);
      if (!decision.message) continue;
      const result = await this.alerts.write({
        flowId: window.flowId,
        version: window.version,
        throttleMs,
        window: decision.window,
        message: this.alertDelivery(
          rule,
          `w${window.windowEndsAtMs}`,
          decision,
          undefined,
          nowMs,
          throttleMs,
        ),
      });
      if (result === 'written') told++;
    }
    return told;
  }

  /** Forgets old counted event ids and finished deliveries; the sender calls it now and then. */
  async prune(keepFinishedMs: number): Promise<void> {
    await this.alerts.prune(COUNTED_EVENTS_KEPT_MS);
    await this.deliveries.prune(keepFinishedMs);
  }

  private async toSubscribers(events: readonly DispatchedOpsEvent[]): Promise<void> {
    const types = [...new Set(events.map((e) => e.type))];
    const listening = await this.subscriptions.listening(types);
    if (listening.length === 0) return;
    const due: NewOpsDelivery[] = [];
    for (const event of events) {
      for (const sub of listening) {
        if (!sub.events.includes(event.type)) continue;
        // `flows` narrows events about flows; events about no flow (destinations) reach everyone.
        if (event.flow && !slugMatches(event.flow.slug, sub.flows)) continue;
        due.push({
          kind: 'subscription',
          key: `sub_${sub.id}_${event.id}`,
          subscriptionId: sub.id,
          flowId: event.flow?.id ?? null,
          eventId: event.id,
          eventType: event.type,
          body: event.body,
        });
      }
    }
    await this.deliveries.enqueue(due);
  }

  private async toAlertRules(events: readonly DispatchedOpsEvent[]): Promise<void> {
    const failed = events.filter((e) => e.type === 'run.failed' && e.flow);
    if (failed.length === 0) return;
    const rules = new Map(
      (await this.alerts.rules([...new Set(failed.map((e) => e.flow!.id))])).map((r) => [r.flowId, r]),
    );
    for (const event of failed) {
      const rule = rules.get(event.flow!.id);
      if (rule) await this.countFailure(rule, event);
    }
  }

  /** One failure against its flow's window, decided again if another worker moved the window meanwhile. */
  private async countFailure(rule: AlertRule, event: DispatchedOpsEvent): Promise<void> {
    const throttleMs = alertThrottleMs(rule.alerts);
    for (let tries = 0; tries < MAX_WINDOW_WRITES; tries++) {
      const stored = await this.alerts.window(rule.flowId);
      const nowMs = Date.now();
      const decision = alertOnFailure(windowOf(stored), nowMs, throttleMs);
      const result = await this.alerts.write({
        flowId: rule.flowId,
        version: stored?.version ?? 0,
        throttleMs,
        window: decision.window,
        eventId: event.id,
        message: this.alertDelivery(rule, event.id, decision, event, nowMs, throttleMs),
      });
      if (result !== 'moved') return;
    }
    this.logger.warn({ msg: 'an alert window kept moving; this failure was not counted', flow: rule.slug });
  }

  private alertDelivery(
    rule: AlertRule,
    key: string,
    decision: AlertDecision,
    event: DispatchedOpsEvent | undefined,
    nowMs: number,
    throttleMs: number,
  ): NewOpsDelivery | undefined {
    if (!decision.message) return undefined;
    const message =
      decision.message.kind === 'failure' && event
        ? failureMessage(rule.slug, event.body, nowMs)
        : summaryMessage(
            rule.slug,
            decision.message.kind === 'summary' ? decision.message.count : 1,
            throttleMs,
            this.failedRunsUrl(rule.slug),
            nowMs,
          );
    const body: AlertDeliveryBody = { slug: rule.slug, target: rule.alerts.onFailure, message };
    return {
      kind: 'alert',
      key: `alert_${rule.flowId}_${key}`,
      flowId: rule.flowId,
      eventId: event?.id ?? null,
      eventType: 'run.failed',
      body,
    };
  }

  /** The dashboard's runs list, filtered to the flow's failed runs. */
  private failedRunsUrl(slug: string): string {
    return `${this.config.publicUrl}/ui/runs?flow=${encodeURIComponent(slug)}&status=failed`;
  }
}

function windowOf(stored: StoredAlertWindow | undefined): AlertWindow {
  if (!stored) return NO_ALERT_WINDOW;
  const { lastSentAtMs, windowEndsAtMs, pending } = stored;
  return { lastSentAtMs, windowEndsAtMs, pending };
}
