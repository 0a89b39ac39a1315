import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import {
  FLOW_EVENT_TYPES,
  slugMatches,
  TRIGGER_METHODS,
  type EventTriggerDef,
  type OpsEventType,
} from '@hookflow/flows';
import { HOOKFLOW_CONFIG, type HookflowConfig } from '@hookflow/platform';
import {
  FlowRepository,
  OpsEventRepository,
  type PendingOpsEvent,
  type RunEventFacts,
  type TimedFlow,
} from '@hookflow/store';
import { TriggerRuns } from '../triggers/trigger-runs';
import { OpsDeliveries } from './ops-deliveries';
import type { DispatchedOpsEvent } from './ops-event';

/** Events taken at once; a full batch is followed by the next one at once. */
const BATCH = 100;
/** How long a worker owns the events it took; past it (the worker died) another takes them. */
const LEASE_MS = 60_000;
/** Sleep between looks at an empty outbox. */
const IDLE_MS = 250;
/** `ops_interests` is recomputed on every flow and subscription change; this is a safety net. */
const INTERESTS_EVERY_MS = 60_000;
/** A per-flow limit unused for this long is forgotten (the next event of its kind goes out anyway). */
const LIMITS_KEPT_MS = 86_400_000;

/**
 * Hands operational events on (docs/alerts.md): from the outbox to the error flows whose `event`
 * trigger matches (a run each, deduplicated by the event's id), then to subscriptions and alert
 * rules. Runs of event-triggered flows start no event-triggered flow, so error flows never loop.
 */
@Injectable()
export class OpsDispatcher implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('OpsDispatcher');
  private stopping = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private interestsAt = 0;

  constructor(
    private readonly outbox: OpsEventRepository,
    private readonly flows: FlowRepository,
    private readonly runs: TriggerRuns,
    private readonly deliveries: OpsDeliveries,
    @Inject(HOOKFLOW_CONFIG) private readonly config: HookflowConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.loop = this.run();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      let taken = 0;
      try {
        if (Date.now() - this.interestsAt > INTERESTS_EVERY_MS) {
          this.interestsAt = Date.now();
          await this.outbox.refreshInterests();
          await this.outbox.pruneLimits(LIMITS_KEPT_MS);
        }
        taken = await this.dispatchOnce();
      } catch (err) {
        this.logger.warn({ msg: `operational events not dispatched: ${(err as Error).message}` });
      }
      if (taken < BATCH) await this.idle();
    }
  }

  private idle(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, IDLE_MS);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** One batch, to its end; how many events it took. */
  async dispatchOnce(): Promise<number> {
    const pending = await this.outbox.claim(BATCH, LEASE_MS);
    if (pending.length === 0) return 0;
    const { events, fromErrorFlows } = await this.describe(pending);
    const unstarted = await this.startErrorFlows(events, fromErrorFlows);
    await this.deliveries.enqueue(events);
    // An event whose error flow's run could not be stored stays, and is handed on again after its lease.
    await this.outbox.remove(pending.filter((e) => !unstarted.has(e.id)).map((e) => e.id));
    return pending.length;
  }

  /** Each event's body; events whose run is gone are dropped. */
  private async describe(
    pending: PendingOpsEvent[],
  ): Promise<{ events: DispatchedOpsEvent[]; fromErrorFlows: Set<string> }> {
    const facts = await this.outbox.runFacts(pending.flatMap((e) => (e.runId ? [e.runId] : [])));
    const refs = await this.flows.refsOf([
      ...new Set(pending.flatMap((e) => (e.flowId && !e.runId ? [e.flowId] : []))),
    ]);
    const events: DispatchedOpsEvent[] = [];
    const fromErrorFlows = new Set<string>();
    for (const e of pending) {
      const at = new Date(e.at).toISOString();
      if (e.runId) {
        const run = facts.get(e.runId);
        if (!run) continue;
        if (run.fromErrorFlow) fromErrorFlows.add(e.id);
        events.push({
          id: e.id,
          type: e.type,
          at: new Date(e.at),
          flow: { id: run.flowId, slug: run.slug },
          body: this.runBody(e.type, at, run),
        });
        continue;
      }
      const ref = e.flowId ? refs.get(e.flowId) : undefined;
      events.push({
        id: e.id,
        type: e.type,
        at: new Date(e.at),
        ...(ref && e.flowId ? { flow: { id: e.flowId, slug: ref.slug } } : {}),
        body: {
          type: e.type,
          at,
          ...(ref ? { flow: { slug: ref.slug, version: ref.version } } : {}),
          ...e.data,
        },
      });
    }
    return { events, fromErrorFlows };
  }

  private runBody(type: OpsEventType, at: string, run: RunEventFacts): DispatchedOpsEvent['body'] {
    return {
      type,
      at,
      flow: { slug: run.slug, version: run.version },
      run: {
        id: run.runId,
        status: run.status,
        url: `${this.config.publicUrl}/ui/runs/${run.runId}`,
        createdAt: new Date(run.createdAt).toISOString(),
        finishedAt: run.finishedAt ? new Date(run.finishedAt).toISOString() : null,
      },
      ...(type === 'run.failed'
        ? {
            failedSteps: run.failedSteps.map((s) => ({
              id: s.id,
              error: {
                code: s.error?.code ?? 'unknown',
                message: s.error?.message ?? '',
                ...(s.error?.status !== undefined ? { status: s.error.status } : {}),
              },
              attempts: s.attempts,
            })),
          }
        : {}),
    };
  }

  /**
   * A run per matching error flow; the event's id is its dedupe key, so a repeated dispatch starts
   * none twice. Returns the events some run could not be stored for.
   */
  private async startErrorFlows(
    events: DispatchedOpsEvent[],
    fromErrorFlows: Set<string>,
  ): Promise<Set<string>> {
    const unstarted = new Set<string>();
    const listening = events.some((e) => !fromErrorFlows.has(e.id)) ? await this.flows.eventFlows() : [];
    for (const event of events) {
      if (fromErrorFlows.has(event.id)) continue;
      for (const flow of listening.filter((f) => listens(f, event))) {
        try {
          await this.runs.start(flow, {
            method: TRIGGER_METHODS.event,
            body: event.body,
            dedupeKey: `event:${event.id}`,
            dedupeWindowMs: this.config.dedupeWindowMs,
          });
        } catch (err) {
          unstarted.add(event.id);
          this.logger.warn({
            msg: `could not start an error flow's run: ${(err as Error).message}`,
            flow: flow.slug,
            event: event.type,
          });
        }
      }
    }
    return unstarted;
  }
}

function listens(flow: TimedFlow, event: DispatchedOpsEvent): boolean {
  const trigger = flow.definition.trigger as EventTriggerDef;
  if (!trigger.on.includes(event.type)) return false;
  // Destination events concern no one flow: every error flow listening for the type hears them.
  if (!FLOW_EVENT_TYPES.has(event.type)) return true;
  return event.flow !== undefined && slugMatches(event.flow.slug, trigger.flows);
}
