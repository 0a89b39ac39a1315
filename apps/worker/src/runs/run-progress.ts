import { Injectable, Logger } from '@nestjs/common';
import {
  afterStepEnd,
  isLiveRun,
  type CompiledFlow,
  type RunStatus,
  type RunTransition,
  type RunView,
} from '@hookflow/flows';
import { queuedSteps, StepQueue } from '@hookflow/queue';
import {
  StepTransitions,
  type AttemptRecord,
  type ClaimedStep,
  type StepEndRecorded,
  type StepResult,
} from '@hookflow/store';

/** One step of one run, as jobs, chains and bundles name it. */
export interface StepRef {
  runId: string;
  stepId: string;
  flowVersionId: string;
}

/** A destination slot a claimed step waits for in process: its release, or how long to stay away. */
export type SlotWait = () => Promise<{ go: true; release: () => void } | { go: false; retryInMs: number }>;

/**
 * Picks a ready step to claim and run in process (null: queue them all); `release` frees an unused
 * slot, `slot` is one to wait for once the step is claimed.
 */
export type PickNext = (
  ready: string[],
) => Promise<{ stepId: string; leaseMs: number; release?: () => void; slot?: SlotWait } | null>;

/** A step claimed by the write that recorded the step before it, for the caller to run at once. */
export interface NextStep {
  stepId: string;
  claimed: ClaimedStep;
  release?: () => void;
  slot?: SlotWait;
}

/** What recording a step's end did. */
export interface StepEndOutcome {
  /** False when the attempt no longer held the step: nothing was written. */
  recorded: boolean;
  /** Steps the end made ready (handed to the queue, or `next`). */
  ready: string[];
  /** The run's status after the write when the run is over (this end finished it, or it was cancelled); null while it runs. */
  runStatus: RunStatus | null;
  /** One of `ready`, claimed by the same write, for the caller to run at once. */
  next?: NextStep;
}

/** How many times a step's end is decided again because its run moved meanwhile, before the job's retry takes over. */
const MAX_DECISIONS = 20;

/** Moves a run on when a step ends (docs/architecture.md, "One way to end a step"). */
@Injectable()
export class RunProgress {
  private readonly logger = new Logger(RunProgress.name);

  constructor(
    private readonly transitions: StepTransitions,
    private readonly queue: StepQueue,
  ) {}

  /** Records a step's end; returns the step the same write claimed next, if any. */
  async stepEnded(
    flow: CompiledFlow,
    ref: StepRef,
    claimed: ClaimedStep,
    result: StepResult,
    attempt: AttemptRecord | null,
    pick?: PickNext,
  ): Promise<StepEndOutcome> {
    const expect = claimed.unclaimed ?? { status: 'running' as const, attempts: claimed.attempt };
    let view: RunView | null | undefined = claimed.view;
    for (let decisions = 1; ; decisions++) {
      view ??= await this.transitions.view(ref.runId);
      if (!view) return { recorded: false, ready: [], runStatus: null };
      const transition = afterStepEnd(flow.graph, view, ref.stepId, result.status, result.routes);
      // Only on the claim's own view are the outputs the claim read all there are: a step run next
      // in process reads them. On a view read later, what became ready goes to the queue.
      const mayPick = pick && view === claimed.view && transition.enqueue.length > 0;
      const next = mayPick ? await pick(transition.enqueue) : null;
      let recorded: StepEndRecorded;
      try {
        recorded = await this.transitions.recordStepEnd({
          runId: ref.runId,
          stepId: ref.stepId,
          result,
          attempt,
          version: view.version,
          transition,
          expect,
          unclaimed: claimed.unclaimed !== undefined,
          next: next ? { stepId: next.stepId, leaseMs: next.leaseMs } : undefined,
        });
      } catch (err) {
        next?.release?.();
        throw err;
      }
      if (recorded.recorded) {
        // A run no longer live (cancelled meanwhile) took the step's end alone: nothing runs after it.
        if (!isLiveRun(recorded.runStatus) && !transition.runStatus) {
          next?.release?.();
          return { recorded: true, ready: [], runStatus: recorded.runStatus };
        }
        const chained = next && recorded.next ? recorded.next.stepId : undefined;
        if (next && !chained) next.release?.();
        const queued = transition.enqueue.filter((id) => id !== chained);
        // A step meant to run here but not claimed after all was left unmarked: it goes with the rest.
        if (next && !chained)
          await this.transitions.touchEnqueued([{ runId: ref.runId, stepId: next.stepId }]);
        if (queued.length > 0) await this.enqueue(flow, ref, queued);
        if (transition.runStatus) this.logger.debug({ msg: `run ${transition.runStatus}`, runId: ref.runId });
        const outcome: StepEndOutcome = {
          recorded: true,
          ready: transition.enqueue,
          runStatus: isLiveRun(recorded.runStatus) ? null : recorded.runStatus,
        };
        if (!next || !recorded.next) return outcome;
        return {
          ...outcome,
          next: {
            stepId: recorded.next.stepId,
            release: next.release,
            slot: next.slot,
            claimed: this.nextClaim(claimed, ref.stepId, result, recorded, view, transition),
          },
        };
      }
      next?.release?.();
      // The run moved since the read and nothing was written: the step is claimed and run again.
      if (claimed.unclaimed) throw new StepMovedError(ref);
      if (recorded.reason === 'not-held') {
        this.logger.warn({
          msg: 'attempt was taken over by a later claim; result dropped',
          runId: ref.runId,
          flow: flow.definition.slug,
          step: ref.stepId,
          attempt: attempt?.n,
        });
        return { recorded: false, ready: [], runStatus: null };
      }
      // The run moved since the view: nothing was written; decide again on a fresh one.
      if (decisions >= MAX_DECISIONS)
        throw new Error(`run ${ref.runId} kept moving while step ${ref.stepId} ended`);
      view = undefined;
    }
  }

  /** Gives a chained or bundled step a job of its own for its retry or resume after `delayMs`. */
  later(flow: CompiledFlow, ref: StepRef, attemptsDone: number, delayMs: number): Promise<boolean> {
    return this.enqueue(flow, ref, [ref.stepId], { attemptsDone, delayMs });
  }

  /** Jobs for steps of a run. False when the queue did not take them in time; the reconciler re-adds them. */
  enqueue(
    flow: CompiledFlow,
    ref: Pick<StepRef, 'runId' | 'flowVersionId'>,
    stepIds: string[],
    more: { attemptsDone?: number; delayMs?: number } = {},
  ): Promise<boolean> {
    return this.queue.add(queuedSteps(flow, ref, stepIds, more));
  }

  /** The claim of the step the write claimed next: the run as that write left it, one version on. */
  private nextClaim(
    claimed: ClaimedStep,
    stepId: string,
    result: StepResult,
    recorded: Extract<StepEndRecorded, { recorded: true }>,
    view: RunView,
    transition: RunTransition,
  ): ClaimedStep {
    const next = recorded.next!;
    const steps = { ...view.steps };
    steps[stepId] = {
      status: result.status,
      attempts: claimed.attempt,
      enqueued: true,
      held: false,
      ...(result.routes ? { routes: result.routes } : {}),
    };
    for (const id of transition.skip) steps[id] = { ...steps[id], status: 'skipped' };
    for (const id of transition.enqueue) steps[id] = { ...steps[id], enqueued: true };
    steps[next.stepId] = { status: 'running', attempts: next.attempt, enqueued: true, held: true };
    return {
      attempt: next.attempt,
      attemptBase: next.attemptBase,
      flowVersionId: claimed.flowVersionId,
      flowSlug: claimed.flowSlug,
      trigger: claimed.trigger,
      // As a claim would read them: the finished step's output as stored, when it has one.
      outputs:
        result.status === 'failed' ? claimed.outputs : { ...claimed.outputs, [stepId]: recorded.output },
      view: { version: view.version + 1, status: 'running', steps },
    };
  }
}

/** A step read without a claim could not be recorded: its run moved since the read. Nothing was written. */
export class StepMovedError extends Error {
  constructor(ref: StepRef) {
    super(`run ${ref.runId} step ${ref.stepId} moved on since it was read`);
    this.name = 'StepMovedError';
  }
}
