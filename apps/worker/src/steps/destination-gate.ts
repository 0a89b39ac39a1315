import { Inject, Injectable } from '@nestjs/common';
import {
  bindingsOf,
  parseDuration,
  stepContext,
  stepInput,
  type CompiledFlow,
  type CompiledStep,
} from '@hookflow/flows';
import { HOOKFLOW_CONFIG, type HookflowConfig } from '@hookflow/platform';
import { stepLeaseMs } from '@hookflow/queue';
import { StepTransitions } from '@hookflow/store';
import { CompiledFlowCache } from './compiled-flow-cache';
import { DestinationBreaker } from './destination-breaker';
import {
  DestinationLimiter,
  destinationKey,
  staticDestinationKey,
  type DestinationLimit,
} from './destination-limiter';
import type { SlotWait } from '../runs/run-progress';
import { StepSecrets } from './step-secrets';

/** Admission of one step job: go ahead (release the slot afterwards), or come back later. */
export type Admission = { go: true; release: () => void } | { go: false; retryInMs: number };

const NO_SLOT: { go: true; release: () => void } = { go: true, release: () => undefined };

/** How long a job may wait in process for a slot of a fast destination before it is parked in the queue. */
const IN_PROCESS_WAIT_MS = 100;

/** How long a chained step, claimed already (its run recorded), may wait in process for a slot. */
const CLAIMED_WAIT_MS = 2_000;

/** A chained step's slot: taken now, or to wait for once the step is claimed (`wait`). */
export type InlineAdmission = { go: true; release: () => void } | { go: 'after-claim'; wait: SlotWait };

/** Admits an action to its destination before the claim, so a refused job uses no attempt. */
@Injectable()
export class DestinationGate {
  readonly limiter = new DestinationLimiter();

  constructor(
    private readonly runs: StepTransitions,
    private readonly flows: CompiledFlowCache,
    private readonly secrets: StepSecrets,
    private readonly breaker: DestinationBreaker,
    @Inject(HOOKFLOW_CONFIG) private readonly config: HookflowConfig,
  ) {}

  /** `flowVersionId` from the job spares a database read: the step is known from the flow cache. */
  async admit(runId: string, stepId: string, flowVersionId?: string): Promise<Admission> {
    try {
      return await this.decide(runId, stepId, flowVersionId);
    } catch {
      // The claim meets the same trouble (database, a version that no longer compiles) and
      // handles it; the gate only ever spares a receiver, never blocks a step on its own.
      return NO_SLOT;
    }
  }

  /**
   * Admission for a chained step, asked before the write that claims it, so it never holds that
   * write back: a free slot, or a wait after the claim for a fast destination. Null: the queue.
   */
  admitInline(flow: CompiledFlow, stepId: string): InlineAdmission | null {
    const step = flow.step(stepId);
    if (step.type !== 'action') return NO_SLOT;
    const key = staticDestinationKey(step.def.with.url);
    // A destination that needs rendering, or one the breaker holds steps for, is the job's gate's.
    if (!key || this.breaker.holds(key)) return null;
    const limit = this.limitOf(step);
    const grant = this.limiter.tryAcquire(key, limit);
    if (grant.ok) return { go: true, release: grant.release };
    if (!this.limiter.mayWait(key, limit, CLAIMED_WAIT_MS)) return null;
    return {
      go: 'after-claim',
      wait: async () => {
        const later = await this.limiter.acquire(key, limit, CLAIMED_WAIT_MS);
        return later.ok ? { go: true, release: later.release } : { go: false, retryInMs: later.retryInMs };
      },
    };
  }

  private async decide(runId: string, stepId: string, knownVersionId?: string): Promise<Admission> {
    let versionId = knownVersionId;
    if (!versionId) {
      // A job from before jobs carried their version: read it (and skip work the claim would refuse).
      const peek = await this.runs.peekStep(runId, stepId);
      if (!peek?.claimable) return NO_SLOT;
      versionId = peek.flowVersionId;
    }
    const flow = await this.flows.get(versionId);
    const step = flow.step(stepId);
    // Transforms, filters and delays call no one: no slot, and no read on their way to the claim.
    // (An action whose step is already finished takes a slot for the moment its claim refuses it.)
    if (step.type !== 'action') return NO_SLOT;
    const key = await this.destinationOf(flow, step, runId, stepId);
    // An unknown destination (a URL that does not render) fails at its claim; do not hold it here.
    if (!key) return NO_SLOT;
    if (this.breaker.holds(key)) {
      // Paused or disabled: the job waits in the delayed set, unclaimed, unless it is the probe.
      const held = await this.breaker.admit(key, { runId, stepId }, stepLeaseMs(flow.timeoutMs(stepId)));
      if (held.hold) return { go: false, retryInMs: held.retryInMs };
      const slot = await this.slot(key, step);
      if (held.probe && !slot.go) await this.breaker.probeNotSent(key);
      return slot;
    }
    return this.slot(key, step);
  }

  /** A slot of the destination `key` under the step's limits, waiting in process a little for a fast one. */
  private async slot(key: string, step: Extract<CompiledStep, { type: 'action' }>): Promise<Admission> {
    const grant = await this.limiter.acquire(key, this.limitOf(step), IN_PROCESS_WAIT_MS);
    return grant.ok ? { go: true, release: grant.release } : { go: false, retryInMs: grant.retryInMs };
  }

  private limitOf(step: Extract<CompiledStep, { type: 'action' }>): DestinationLimit {
    const own = step.def.destination;
    const rate = own?.rate
      ? { limit: own.rate.limit, perMs: parseDuration(own.rate.per) }
      : this.config.destinationRate;
    return { concurrency: own?.concurrency ?? this.config.destinationConcurrency, ...(rate ? { rate } : {}) };
  }

  private async destinationOf(
    flow: CompiledFlow,
    step: Extract<CompiledStep, { type: 'action' }>,
    runId: string,
    stepId: string,
  ): Promise<string | null> {
    const template = step.def.with.url;
    const known = staticDestinationKey(template);
    if (known || typeof template !== 'string') return known;
    const ctx = await this.runs.runContext(runId, stepId);
    if (!ctx) return null;
    const secrets = step.secretNames.length > 0 ? await this.secrets.load(flow, stepId) : undefined;
    if (secrets && !secrets.ok) return null;
    try {
      const context = stepContext(stepId, ctx, runId);
      const input = stepInput(flow, stepId, context);
      const rendered = step.with.render({ input, ...bindingsOf(context) }, secrets?.values ?? {}) as {
        url?: unknown;
      };
      return destinationKey(rendered.url);
    } catch {
      return null;
    }
  }
}
