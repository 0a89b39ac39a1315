import { Injectable, Logger } from '@nestjs/common';
import { backoffDelayMs, type CompiledFlow } from '@hookflow/flows';
import { stepLeaseMs } from '@hookflow/queue';
import type { ClaimedStep } from '@hookflow/store';
import {
  RunProgress,
  StepMovedError,
  type NextStep,
  type PickNext,
  type StepRef,
} from '../runs/run-progress';
import { CompiledFlowCache } from './compiled-flow-cache';
import { DestinationGate } from './destination-gate';
import { StepRunner, type AttemptVerdict, type RunSecrets } from './step-runner';

/** Steps a job may run in process after its own, so it cannot hold a worker slot through an endless flow. */
const MAX_INLINE_STEPS = 16;

/** How a job runs its step. */
export interface JobStepOptions {
  /** From the job: a retryable failure on its last try fails the step. */
  isLastAttempt: boolean;
  /** How long a claim keeps other workers off the step. */
  leaseMs: number;
  /** Called once the job's own step is over, before any step it runs in process: frees its destination slot. */
  ownStepDone?: () => void;
  /** A fresh job (first try, never stalled): a transform or filter may run from a read. */
  fresh?: { flowVersionId: string };
}

/** Runs a job's step, then the steps its ends claim in process; a retry or park gives those a job. */
@Injectable()
export class InlineChain {
  private readonly logger = new Logger(InlineChain.name);
  private draining = false;

  constructor(
    private readonly runner: StepRunner,
    private readonly flows: CompiledFlowCache,
    private readonly progress: RunProgress,
    private readonly gate: DestinationGate,
  ) {}

  /** From the start of a graceful shutdown: no step is started in process any more. */
  stopChains(): void {
    this.draining = true;
  }

  /** Runs the job's step and what its end lets run in process; returns the job's own step's verdict. */
  async runJob(runId: string, stepId: string, opts: JobStepOptions): Promise<AttemptVerdict> {
    const known = opts.fresh
      ? await this.flows.get(opts.fresh.flowVersionId).catch(() => undefined)
      : undefined;
    let claimed = await this.runner.claim(known, runId, stepId, opts.leaseMs, opts.fresh !== undefined);
    if (claimed?.unclaimed) {
      try {
        return await this.runFrom(runId, stepId, claimed, opts);
      } catch (err) {
        // The run moved since the read and nothing was written: claim the step and run it again.
        if (!(err instanceof StepMovedError)) throw err;
        claimed = await this.runner.claim(known, runId, stepId, opts.leaseMs, false);
      }
    }
    if (!claimed) return { kind: 'done' };
    const held = claimed;
    try {
      return await this.runFrom(runId, stepId, held, opts);
    } catch (err) {
      // The outcome could not be recorded: give the claim back so the queue's next try takes it at
      // once; the attempt budget checked at claim time stops this from looping forever.
      await this.runner.giveBack({ runId, stepId, flowVersionId: held.flowVersionId }, held);
      throw err;
    }
  }

  private async runFrom(
    runId: string,
    stepId: string,
    claimed: ClaimedStep,
    opts: JobStepOptions,
  ): Promise<AttemptVerdict> {
    const ref: StepRef = { runId, stepId, flowVersionId: claimed.flowVersionId };
    const flow = await this.flows.get(claimed.flowVersionId);
    let remaining = MAX_INLINE_STEPS;
    const first = await this.runner.run(flow, ref, claimed, {
      isLastAttempt: opts.isLastAttempt,
      releaseSlot: opts.ownStepDone,
      pickNext: this.picker(flow, remaining),
    });
    let next = first.next;
    let secrets = first.secrets;
    while (next) {
      const result = await this.runNext(flow, runId, next, --remaining, secrets);
      next = result?.next;
      secrets = result?.secrets ?? secrets;
    }
    return first.verdict;
  }

  /** One step claimed in process; its retry or park becomes a job of its own. */
  private async runNext(
    flow: CompiledFlow,
    runId: string,
    step: NextStep,
    remaining: number,
    secrets?: RunSecrets,
  ): Promise<{ next?: NextStep; secrets?: RunSecrets } | undefined> {
    const ref: StepRef = { runId, stepId: step.stepId, flowVersionId: step.claimed.flowVersionId };
    const tries = step.claimed.attempt - step.claimed.attemptBase;
    let release = step.release;
    if (step.slot) {
      const admission = await step.slot();
      if (!admission.go) {
        // No slot in time: the step goes to the queue as it would have without the claim. If the
        // claim cannot be undone, it lapses with its lease and the reconciler brings the step back.
        const undone = await this.runner.unclaim(ref, step.claimed).catch(() => false);
        if (undone) await this.progress.later(flow, ref, tries - 1, admission.retryInMs);
        return undefined;
      }
      release = admission.release;
    }
    let result;
    try {
      result = await this.runner.run(flow, ref, step.claimed, {
        isLastAttempt: false,
        releaseSlot: release,
        pickNext: this.picker(flow, remaining),
        secrets,
      });
    } catch (err) {
      await this.runner.giveBack(ref, step.claimed);
      this.logger.warn({
        msg: `outcome could not be recorded (${(err as Error).message}); the step goes to the queue`,
        runId,
        flow: step.claimed.flowSlug,
        step: step.stepId,
        attempt: step.claimed.attempt,
      });
      await this.progress.later(flow, ref, tries, 0);
      return undefined;
    } finally {
      release?.();
    }
    await this.followUp(flow, ref, result.verdict);
    return result;
  }

  /** For a step without a job of its own: its retry or park becomes a job of its own. */
  async followUp(flow: CompiledFlow, ref: StepRef, verdict: AttemptVerdict): Promise<void> {
    if (verdict.kind !== 'retry' && verdict.kind !== 'park') return;
    const delayMs =
      verdict.kind === 'retry'
        ? backoffDelayMs(flow.retryPolicy(ref.stepId), verdict.tries, verdict.error.retryAfterMs)
        : verdict.untilMs - Date.now();
    await this.progress.later(flow, ref, verdict.tries, delayMs);
  }

  /**
   * Takes the sole ready step if the chain has room and, for an action, its destination has a slot;
   * among several, the respond step, which a sender waits for (the others go to the queue).
   */
  private picker(flow: CompiledFlow, remaining: number): PickNext | undefined {
    if (remaining <= 0 || this.draining) return undefined;
    return async (ready) => {
      const respond = flow.respondStep !== undefined && ready.includes(flow.respondStep);
      if (ready.length !== 1 && !respond) return null;
      const stepId = respond ? flow.respondStep! : ready[0];
      const admission = this.gate.admitInline(flow, stepId);
      if (!admission) return null;
      const leaseMs = stepLeaseMs(flow.timeoutMs(stepId));
      return admission.go === true
        ? { stepId, leaseMs, release: admission.release }
        : { stepId, leaseMs, slot: admission.wait };
    };
  }
}
