import { Injectable, Logger } from '@nestjs/common';
import {
  afterLoopStart,
  afterStepEnd,
  isLiveRun,
  itemPrefix,
  parseItemStepId,
  respondSignal,
  type CompiledFlow,
  type RunStatus,
  type RunTransition,
  type RunView,
  type StepError,
} from '@hookflow/flows';
import { AnswerChannel, queuedSteps, StepQueue } from '@hookflow/queue';
import {
  StepTransitions,
  type AttemptRecord,
  type ClaimedStep,
  type LockedRun,
  type StepEnd,
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

/** A step's end is decided on its view, then once more under the run's lock if the run moved meanwhile. */
const MAX_DECISIONS = 2;

/** Moves a run on when a step ends (docs/architecture.md, "One way to end a step"). */
@Injectable()
export class RunProgress {
  private readonly logger = new Logger(RunProgress.name);

  constructor(
    private readonly transitions: StepTransitions,
    private readonly queue: StepQueue,
    private readonly answers: AnswerChannel,
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
    const end: EndToDecide = {
      flow,
      ref,
      claimed,
      result,
      attempt,
      pick,
      expect: claimed.unclaimed ?? { status: 'running' as const, attempts: claimed.attempt },
      // A loop item's output size counts towards its loop's output: worked out once.
      outputBytes: parseItemStepId(ref.stepId)
        ? Buffer.byteLength(JSON.stringify(result.output ?? null))
        : undefined,
    };
    let view: RunView | null | undefined = claimed.view;
    for (let decisions = 1; ; decisions++) {
      // After the run moved under a decision, the next is made with its row locked: nothing moves it then.
      const locked = decisions > 1 ? await this.transitions.lockRun(ref.runId, ref.stepId) : null;
      if (locked) view = locked.view;
      let decided: Decided | null;
      try {
        decided = await this.decideAndRecord(end, view, locked);
        await locked?.release();
      } catch (err) {
        await locked?.release(false).catch(() => undefined);
        throw err;
      }
      if (!decided) return { recorded: false, ready: [], runStatus: null };
      const { recorded, transition, next } = decided;
      view = decided.view;
      if (recorded.recorded) {
        // First of all: a sender may be waiting on the run's respond step.
        const signal = respondSignal(flow.respondStep, ref.stepId, result.status, transition.skip);
        if (signal) this.answers.publish(ref.runId, signal, recorded.output);
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
            claimed: this.nextClaim(end, recorded, view, transition),
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
      // The run moved since the view: nothing was written; decide again, with the run locked.
      if (decisions >= MAX_DECISIONS)
        throw new Error(`run ${ref.runId} kept moving while step ${ref.stepId} ended`);
      view = undefined;
    }
  }

  /** Decides the step's end on `view` (read if need be) and writes it, through `locked` when given. */
  private async decideAndRecord(
    end: EndToDecide,
    known: RunView | null | undefined,
    locked: LockedRun | null,
  ): Promise<Decided | null> {
    const { flow, ref, claimed, result, attempt, pick, expect } = end;
    let view = known ?? (await this.transitions.view(ref.runId));
    if (!view) return null;
    let transition = decide(end, view);
    if (!transition) {
      // The view holds the step's own loop item only, and this end moves the loop.
      view = locked ? await locked.whole() : await this.transitions.view(ref.runId);
      if (!view) return null;
      transition = decide(end, view)!;
    }
    // Only on the claim's own view are the outputs the claim read all there are: a step run next
    // in process reads them (or, in a loop, on any view where the step's item did not move). On a
    // view read later, what became ready goes to the queue. A loop's start or end, or another
    // item, changes what a step reads: those go to the queue too.
    const pickable =
      transition.loopEnd || result.items ? [] : transition.enqueue.filter(sameScope(ref.stepId));
    const current =
      view === claimed.view || (claimed.view !== undefined && itemUnmoved(ref.stepId, claimed.view, view));
    const next = pick && current && pickable.length > 0 ? await pick(pickable) : null;
    try {
      const write: StepEnd = {
        runId: ref.runId,
        stepId: ref.stepId,
        result,
        attempt,
        version: view.version,
        transition,
        expect,
        unclaimed: claimed.unclaimed !== undefined,
        next: next ? { stepId: next.stepId, leaseMs: next.leaseMs } : undefined,
        loop: result.items ? { items: result.items, steps: loopStepsOf(flow, ref.stepId) } : undefined,
      };
      const recorded = locked ? await locked.record(write) : await this.transitions.recordStepEnd(write);
      return { recorded, transition, next, view };
    } catch (err) {
      next?.release?.();
      throw err;
    }
  }

  /**
   * Fails a step no claim holds (pending, retrying, parked) with `error` and moves its run on as any
   * step's end would; false when the step or its run moved meanwhile (nothing was written).
   */
  async failUnclaimed(
    flow: CompiledFlow | undefined,
    step: { runId: string; stepId: string; flowVersionId: string },
    error: StepError,
  ): Promise<{ failed: boolean; runStatus?: RunStatus }> {
    const view = await this.transitions.view(step.runId);
    const state = view?.steps[step.stepId];
    if (!view || !isLiveRun(view.status) || !state || state.held || !UNCLAIMED.has(state.status))
      return { failed: false };
    // A whole view (not a claim's): afterStepEnd always decides on it.
    const transition =
      (flow && afterStepEnd(flow.graph, view, step.stepId, 'failed')) || failRun(view, step.stepId);
    const done = await this.transitions.recordStepEnd({
      runId: step.runId,
      stepId: step.stepId,
      result: { status: 'failed', input: null, output: null, error },
      attempt: null,
      version: view.version,
      transition,
      expect: { status: state.status, attempts: state.attempts },
    });
    if (!done.recorded) return { failed: false };
    if (flow && transition.enqueue.length > 0) await this.enqueue(flow, step, transition.enqueue);
    return { failed: true, ...(transition.runStatus ? { runStatus: transition.runStatus } : {}) };
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
    end: EndToDecide,
    recorded: Extract<StepEndRecorded, { recorded: true }>,
    view: RunView,
    transition: RunTransition,
  ): ClaimedStep {
    const { claimed, result } = end;
    const stepId = end.ref.stepId;
    const next = recorded.next!;
    const steps = { ...view.steps };
    steps[stepId] = {
      status: result.status,
      attempts: claimed.attempt,
      enqueued: true,
      held: false,
      ...(result.routes ? { routes: result.routes } : {}),
      ...(end.outputBytes !== undefined ? { bytes: end.outputBytes } : {}),
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
      ...(claimed.item ? { item: claimed.item } : {}),
      // As a claim would read them: the finished step's output as stored, when it has one.
      outputs:
        result.status === 'failed' ? claimed.outputs : { ...claimed.outputs, [stepId]: recorded.output },
      view: {
        version: view.version + 1,
        status: 'running',
        steps,
        ...(view.partial ? { partial: true } : {}),
      },
    };
  }
}

/** A step's end as it is to be decided and recorded, whatever view it is decided on. */
interface EndToDecide {
  flow: CompiledFlow;
  ref: StepRef;
  claimed: ClaimedStep;
  result: StepResult;
  attempt: AttemptRecord | null;
  pick?: PickNext;
  expect: StepEnd['expect'];
  /** A loop item step's output size as stored (bytes of JSON). */
  outputBytes?: number;
}

/** What a step's end does to its run (null: not known from a partial view); a `foreach` step that found its items starts them. */
function decide(end: EndToDecide, view: RunView): RunTransition | null {
  const { flow, ref, result } = end;
  if (result.items) return afterLoopStart(flow.graph, view, ref.stepId, result.items.length);
  return afterStepEnd(flow.graph, view, ref.stepId, result.status, result.routes, end.outputBytes);
}

/** The ids of a loop's own steps, in order. */
function loopStepsOf(flow: CompiledFlow, loopId: string): string[] {
  const loop = flow.graph.loopOf(loopId);
  if (!loop) throw new Error(`step '${loopId}' is not a loop`);
  return [...loop.graph.ids];
}

/** Unfinished steps no live claim holds. */
const UNCLAIMED = new Set(['pending', 'retrying', 'waiting', 'running']);

/** Without the flow's graph: the run fails, and its steps that have not started never will. */
function failRun(view: RunView, stepId: string): RunTransition {
  const skip = Object.keys(view.steps).filter((id) => id !== stepId && view.steps[id].status === 'pending');
  return { skip, enqueue: [], runStatus: 'failed' };
}

/** A step's end as decided and written. */
interface Decided {
  recorded: StepEndRecorded;
  transition: RunTransition;
  next: Awaited<ReturnType<PickNext>>;
  view: RunView;
}

/** A loop item's step whose item's rows read the same in both views: what the claim read still holds. */
function itemUnmoved(stepId: string, before: RunView, after: RunView): boolean {
  const item = parseItemStepId(stepId);
  if (!item) return false;
  const prefix = itemPrefix(item.loop, item.index);
  return Object.entries(after.steps).every(
    ([id, row]) => !id.startsWith(prefix) || id === stepId || before.steps[id]?.status === row.status,
  );
}

/** Whether a step is of the same loop item as `stepId`, or like it outside any loop. */
function sameScope(stepId: string): (id: string) => boolean {
  const item = parseItemStepId(stepId);
  const prefix = item ? itemPrefix(item.loop, item.index) : null;
  return (id) => (prefix ? id.startsWith(prefix) : !id.includes('['));
}

/** A step read without a claim could not be recorded: its run moved since the read. Nothing was written. */
export class StepMovedError extends Error {
  constructor(ref: StepRef) {
    super(`run ${ref.runId} step ${ref.stepId} moved on since it was read`);
    this.name = 'StepMovedError';
  }
}
