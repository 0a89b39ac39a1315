import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  backoffDelayMs,
  executeStep,
  type CompiledFlow,
  type ConnectorRegistry,
  type ExpressionBudget,
  type StepError,
  type StepOutcome,
} from '@hookflow/flows';
import { ExpressionSandbox } from '@hookflow/sandbox';
import { HOOKFLOW_CONFIG, WorkerMetrics, type HookflowConfig } from '@hookflow/platform';
import { LEASE_MARGIN_MS, type StepJobData } from '@hookflow/queue';
import {
  isDataRefused,
  RunRepository,
  secretRedactor,
  type AttemptRecord,
  StepNotClaimedError,
  type ClaimedStep,
  type PickNext,
  type StepResult,
} from '@hookflow/store';
import { RunOrchestrator } from '../runs/run-orchestrator';
import { CompiledFlowCache } from './compiled-flow-cache';
import { DestinationGate } from './destination-gate';
import { StepSecrets } from './step-secrets';
import { CONNECTORS } from './tokens';

/** Starts past its retry budget a step without side effects gets when workers die under it. */
const LOST_STARTS_ALLOWED = 3;

/**
 * Steps one job may run in process, one after the other, after its own: when a step's end makes
 * exactly one step ready, that step is claimed by the same statement and run at once instead of
 * making a round trip through the queue. Bounded so that one job does not hold a worker slot
 * through an endless flow.
 */
const MAX_INLINE_STEPS = 16;

/** A step claimed to run in process next, with the destination slot it holds, if any. */
interface InlineStep {
  stepId: string;
  claimed: ClaimedStep;
  release?: () => void;
}

/** How a job runs its step (`StepExecutor.run`). */
export interface RunOptions {
  /** From the job: a retryable failure on its last try fails the step. */
  isLastAttempt: boolean;
  /** How long a claim keeps other workers off the step. */
  leaseMs: number;
  /** Called once the job's own step is over, before any step it runs in process: frees its destination slot. */
  ownStepDone?: () => void;
  /** A fresh job (first try, never stalled) may run a step without side effects from a read. */
  unclaimed?: { flowVersionId: string };
}

/** The in-process continuation of one job. */
interface Chain {
  next?: InlineStep;
  remaining: number;
  /** The flow's secrets and their redactor, loaded for the job's first step and reused by the rest. */
  secrets?: { flowVersionId: string; values: Record<string, string>; redact: <T>(value: T) => T };
}

/** What one attempt came to, for the processor to tell BullMQ. */
export type AttemptVerdict =
  | { kind: 'done' }
  /** `tries`: attempts the step used of its budget, this one included. */
  | { kind: 'retry'; error: StepError; tries: number }
  | { kind: 'failed'; error: StepError }
  /** A delay step parked as `waiting`: bring the job back at `untilMs` (epoch ms). */
  | { kind: 'park'; untilMs: number; tries: number };

/**
 * Runs one attempt of one step. Knows nothing of BullMQ: it claims the step, runs it with
 * libs/flows, and records the outcome; the processor maps the verdict onto the queue.
 */
@Injectable()
export class StepExecutor {
  private readonly logger = new Logger(StepExecutor.name);
  private draining = false;
  private readonly budget: ExpressionBudget;

  constructor(
    private readonly runs: RunRepository,
    private readonly flows: CompiledFlowCache,
    private readonly orchestrator: RunOrchestrator,
    private readonly secrets: StepSecrets,
    private readonly metrics: WorkerMetrics,
    private readonly gate: DestinationGate,
    @Inject(CONNECTORS) private readonly connectors: ConnectorRegistry,
    private readonly expressions: ExpressionSandbox,
    @Inject(HOOKFLOW_CONFIG) config: HookflowConfig,
  ) {
    this.budget = config.expressionBudget;
  }

  async run(runId: string, stepId: string, opts: RunOptions): Promise<AttemptVerdict> {
    const { unclaimed } = opts;
    const read = unclaimed ? await this.readUnclaimed(runId, stepId, unclaimed.flowVersionId) : null;
    if (read) {
      try {
        return await this.runAndContinue(runId, stepId, read, opts);
      } catch (err) {
        // The run moved since the read and nothing was written: claim the step and run it again.
        if (!(err instanceof StepNotClaimedError)) throw err;
      }
    }
    const claimed = await this.runs.claimStep(runId, stepId, opts.leaseMs);
    if (!claimed) return { kind: 'done' };
    try {
      return await this.runAndContinue(runId, stepId, claimed, opts);
    } catch (err) {
      // The outcome could not be recorded (database trouble, a version that no longer compiles).
      // Give the claim back so the queue's next try can take it at once; the attempt budget
      // checked at claim time stops this from looping forever.
      await this.runs.releaseClaim(runId, stepId, claimed.attempt).catch(() => undefined);
      throw err;
    }
  }

  /**
   * A transform or filter in a fresh job (`unclaimed` from the processor: its first try, never
   * stalled) runs from a read, and the statement recording its end also claims it: one write
   * instead of two. Null when that does not apply; when the run moves between the read and the
   * end, recording throws `StepNotClaimedError` having written nothing, and the step is claimed
   * and run again, which a step without side effects allows. A crash meanwhile leaves no trace;
   * the job's stall brings it back.
   */
  private async readUnclaimed(
    runId: string,
    stepId: string,
    flowVersionId: string,
  ): Promise<ClaimedStep | null> {
    const flow = await this.flows.get(flowVersionId).catch(() => undefined);
    const type = flow && stepTypeOf(flow, stepId);
    if (type !== 'transform' && type !== 'filter') return null;
    return this.runs.readStep(runId, stepId);
  }

  /** The job's own step, then whatever its end lets run in process. */
  private async runAndContinue(
    runId: string,
    stepId: string,
    claimed: ClaimedStep,
    { isLastAttempt, ownStepDone }: RunOptions,
  ): Promise<AttemptVerdict> {
    const chain: Chain = { remaining: MAX_INLINE_STEPS };
    const verdict = await this.runClaimed(runId, stepId, claimed, isLastAttempt, chain, ownStepDone);
    ownStepDone?.();
    await this.runInline(runId, chain);
    return verdict;
  }

  /**
   * Runs the steps claimed in process after the job's own, one after the other. They have no
   * queue job: what a job's retry, park or failure would do through BullMQ is done here by
   * giving the step a job of its own (`later`), with the attempts it used counted.
   */
  private async runInline(runId: string, chain: Chain): Promise<void> {
    while (chain.next) {
      const { stepId, claimed, release } = chain.next;
      chain.next = undefined;
      chain.remaining--;
      const tries = claimed.attempt - claimed.attemptBase;
      let flow: CompiledFlow | undefined;
      let verdict: AttemptVerdict;
      try {
        flow = await this.flows.get(claimed.flowVersionId);
        verdict = await this.runClaimed(runId, stepId, claimed, false, chain, release);
      } catch (err) {
        await this.runs.releaseClaim(runId, stepId, claimed.attempt).catch(() => undefined);
        this.logger.warn({
          msg: `outcome could not be recorded (${(err as Error).message}); the step goes to the queue`,
          runId,
          flow: claimed.flowSlug,
          step: stepId,
          attempt: claimed.attempt,
        });
        // Without its flow no job can be built: the reconciler re-enqueues the step.
        if (flow) await this.orchestrator.later(flow, claimed.flowVersionId, runId, stepId, tries, 0);
        return;
      } finally {
        release?.();
      }
      await this.followUp(flow, claimed.flowVersionId, runId, stepId, verdict);
    }
  }

  /**
   * Runs one step carried by a bundle job (new runs' first steps, many to a job) as its own job
   * would run it, side by side with the bundle's other steps; never throws. What its job would
   * do through BullMQ (come back when its destination has a slot, retry, resume) is done by giving
   * it a job of its own.
   */
  async runBundled(step: StepJobData, unclaimed: RunOptions['unclaimed']): Promise<void> {
    const { runId, stepId, flowVersionId } = step;
    const at = { runId, step: stepId };
    try {
      if (!flowVersionId) throw new Error('bundled step without its flow version');
      const flow = await this.flows.get(flowVersionId);
      const admission = await this.gate.admit(runId, stepId, flowVersionId);
      if (!admission.go)
        return await this.orchestrator.later(flow, flowVersionId, runId, stepId, 0, admission.retryInMs);
      let verdict: AttemptVerdict;
      try {
        verdict = await this.run(runId, stepId, {
          isLastAttempt: false,
          leaseMs: step.leaseMs,
          ownStepDone: admission.release,
          unclaimed,
        });
      } catch (err) {
        // As a job's attempt that threw: tried again after its backoff (the claim was given back).
        this.logger.warn({ msg: `step attempt failed: ${(err as Error).message}`, ...at });
        const delayMs = backoffDelayMs(flow.retryPolicy(stepId), 1);
        return await this.orchestrator.later(flow, flowVersionId, runId, stepId, 1, delayMs);
      } finally {
        admission.release();
      }
      await this.followUp(flow, flowVersionId, runId, stepId, verdict);
    } catch (err) {
      // Not even a job of its own could be made (its flow, the queue): the reconciler brings it back.
      this.logger.warn({ msg: `bundled step left to the reconciler: ${(err as Error).message}`, ...at });
    }
  }

  /**
   * For a step without a job of its own (run in process after another, or carried by a bundle),
   * what its job would do next after `verdict`, as a job of its own: a retry after its backoff, a
   * park until its time.
   */
  private async followUp(
    flow: CompiledFlow,
    flowVersionId: string,
    runId: string,
    stepId: string,
    verdict: AttemptVerdict,
  ): Promise<void> {
    if (verdict.kind !== 'retry' && verdict.kind !== 'park') return;
    const delayMs =
      verdict.kind === 'retry'
        ? backoffDelayMs(flow.retryPolicy(stepId), verdict.tries, verdict.error.retryAfterMs)
        : verdict.untilMs - Date.now();
    await this.orchestrator.later(flow, flowVersionId, runId, stepId, verdict.tries, delayMs);
  }

  /** From the start of a graceful shutdown: no step is started in process any more. */
  stopChains(): void {
    this.draining = true;
  }

  /**
   * Offered the steps a step's end makes ready: the only one, when there is exactly one and the
   * chain has room, and when an action, only with a slot of its destination (known without
   * rendering). Anything else goes through the queue.
   */
  private picker(
    flow: CompiledFlow,
    chain: Chain | undefined,
    holder: { release?: () => void },
  ): PickNext | undefined {
    if (!chain || chain.remaining <= 0 || this.draining) return undefined;
    return async (ready) => {
      if (ready.length !== 1) return null;
      const admission = await this.gate.admitInline(flow, ready[0]);
      if (!admission?.go) return null;
      holder.release = admission.release;
      return { stepId: ready[0], leaseMs: flow.timeoutMs(ready[0]) + LEASE_MARGIN_MS };
    };
  }

  private async runClaimed(
    runId: string,
    stepId: string,
    claimed: ClaimedStep,
    isLastAttempt: boolean,
    chain?: Chain,
    /** Frees the destination slot the step holds: once its call is over, before the run moves on. */
    releaseSlot?: () => void,
  ): Promise<AttemptVerdict> {
    const flow = await this.flows.get(claimed.flowVersionId);
    if (claimed.resume) {
      releaseSlot?.();
      return this.resume(flow, runId, stepId, claimed, claimed.resume, chain);
    }
    const startedAt = new Date();
    const budget = flow.retryPolicy(stepId).attempts;
    // A retry of the run gives the step a fresh budget; attempt numbers keep counting across it.
    const tries = claimed.attempt - claimed.attemptBase;
    const outcome = await this.attempt(flow, runId, stepId, claimed, tries, budget, chain).finally(
      releaseSlot,
    );
    const type = stepTypeOf(flow, stepId);
    const attempt: AttemptRecord = {
      n: claimed.attempt,
      startedAt,
      durationMs: Date.now() - startedAt.getTime(),
      outcome: outcome.status,
      error: outcome.status === 'failed' ? outcome.error : null,
      responseStatus: type === 'action' ? responseStatusOf(outcome) : null,
    };
    const lastTry = isLastAttempt || tries >= budget;
    const retrying = outcome.status === 'failed' && outcome.error.retryable && !lastTry;
    this.metrics.recordStepAttempt({
      type,
      outcome: retrying ? 'retrying' : outcome.status,
      durationMs: attempt.durationMs,
      attempt: claimed.attempt,
      responseStatus: attempt.responseStatus,
    });

    if (
      outcome.status === 'succeeded' &&
      outcome.resumeAtMs !== undefined &&
      outcome.resumeAtMs > Date.now()
    ) {
      return this.park(runId, stepId, claimed, outcome.input, outcome.resumeAtMs);
    }
    if (outcome.status !== 'failed') {
      const unstored = await this.finish(
        flow,
        runId,
        stepId,
        { status: outcome.status, input: outcome.input, output: outcome.output, error: null },
        attempt,
        claimed,
        chain,
      );
      return unstored ? { kind: 'failed', error: unstored } : { kind: 'done' };
    }
    if (retrying) {
      // Between tries a step must hold a claim; one read without a claim takes the claim path.
      if (claimed.seen?.unclaimed) throw new StepNotClaimedError(runId, stepId);
      // False when a later claim took the step over or the run was cancelled meanwhile: no next try.
      const tryAgain = await this.runs.markRetrying(runId, stepId, outcome.input, {
        ...attempt,
        outcome: 'retrying',
      });
      return tryAgain ? { kind: 'retry', error: outcome.error, tries } : { kind: 'done' };
    }
    // The message is already scrubbed of secret values (attempt()); the step's input and output are not logged.
    this.logger.log({
      msg: `step failed: ${outcome.error.code}: ${outcome.error.message}`,
      runId,
      flow: claimed.flowSlug,
      step: stepId,
      attempt: claimed.attempt,
      code: outcome.error.code,
    });
    const unstored = await this.finish(
      flow,
      runId,
      stepId,
      { status: 'failed', input: outcome.input, output: outcome.output ?? null, error: outcome.error },
      attempt,
      claimed,
      chain,
    );
    return { kind: 'failed', error: unstored ?? outcome.error };
  }

  /**
   * A delay step's job came back: finish it (succeeded, its input passed on) and move the run on,
   * or park it again when the job came before its time (a reconciled job, clocks apart).
   */
  private async resume(
    flow: CompiledFlow,
    runId: string,
    stepId: string,
    claimed: ClaimedStep,
    resume: { inMs: number; input: unknown },
    chain?: Chain,
  ): Promise<AttemptVerdict> {
    if (resume.inMs > 0) return this.park(runId, stepId, claimed, resume.input, Date.now() + resume.inMs);
    const attempt: AttemptRecord = {
      n: claimed.attempt,
      startedAt: new Date(),
      durationMs: 0,
      outcome: 'succeeded',
      error: null,
      responseStatus: null,
    };
    const unstored = await this.finish(
      flow,
      runId,
      stepId,
      { status: 'succeeded', input: resume.input, output: resume.input, error: null },
      attempt,
      claimed,
      chain,
    );
    return unstored ? { kind: 'failed', error: unstored } : { kind: 'done' };
  }

  private async park(
    runId: string,
    stepId: string,
    claimed: ClaimedStep,
    input: unknown,
    untilMs: number,
  ): Promise<AttemptVerdict> {
    // False: a later claim holds the step, or the run was cancelled (the step is then cancelled).
    const parked = await this.runs.parkStep(runId, stepId, claimed.attempt, input, new Date(untilMs));
    return parked
      ? { kind: 'park', untilMs, tries: claimed.attempt - claimed.attemptBase }
      : { kind: 'done' };
  }

  /** Runs the attempt; the outcome is scrubbed of secret values, as all of it is stored, logged or queued. */
  private async attempt(
    flow: CompiledFlow,
    runId: string,
    stepId: string,
    claimed: ClaimedStep,
    tries: number,
    budget: number,
    chain?: Chain,
  ): Promise<StepOutcome> {
    // A step that sends nothing (transform, filter, delay) may be started again after its worker
    // died: one crash must not fail the run of an accepted webhook. Actions count lost starts
    // against their retry budget: they may have sent.
    const limit = flow.step(stepId).type === 'action' ? budget : budget + LOST_STARTS_ALLOWED;
    if (tries > limit) {
      // Claimed more often than the step may be tried: earlier attempts died without an
      // outcome (worker crashes, lost leases). Stop here rather than re-send forever.
      return {
        status: 'failed',
        input: null,
        error: {
          code: 'attempts_exhausted',
          message: `step was started ${tries - 1} times without recording an outcome (worker lost); giving up`,
          retryable: false,
        },
      };
    }
    const secrets = await this.flowSecrets(flow, stepId, claimed.flowVersionId, chain);
    if (!secrets.ok) return { status: 'failed', input: null, error: secrets.error };
    const outcome = await executeStep(
      flow,
      stepId,
      { trigger: claimed.trigger, steps: claimed.outputs, run: { id: runId, flow: claimed.flowSlug } },
      {
        connectors: this.connectors,
        expressions: this.expressions,
        budget: this.budget,
        attempt: claimed.attempt,
        idempotencyKey: `${runId}_${stepId}`,
        secrets: secrets.values,
      },
    );
    return secrets.redact(outcome);
  }

  /**
   * The flow's secrets (one read and decryption) and a redactor for them, once per job: the steps
   * it runs in process after its own reuse them.
   */
  private async flowSecrets(
    flow: CompiledFlow,
    stepId: string,
    flowVersionId: string,
    chain?: Chain,
  ): Promise<{ ok: false; error: StepError } | ({ ok: true } & NonNullable<Chain['secrets']>)> {
    if (chain?.secrets?.flowVersionId === flowVersionId) return { ok: true, ...chain.secrets };
    const loaded = await this.secrets.load(flow, stepId);
    if (!loaded.ok) return loaded;
    const secrets = { flowVersionId, values: loaded.values, redact: secretRedactor(loaded.values) };
    // Only values read from the store are kept: without them (no secrets, or no key to read them
    // with) the answer depends on the step, and costs no read anyway.
    if (chain && Object.keys(loaded.values).length > 0) chain.secrets = secrets;
    return { ok: true, ...secrets };
  }

  /**
   * Records the step's end and moves the run on. When PostgreSQL refuses the outcome itself (see
   * `isDataRefused`: trying again cannot help), the step is recorded failed instead, without its
   * input and output, with an `outcome_unstorable` error that says why; that error is returned.
   * Should even that be refused, it is logged and the first error thrown (the job's retries and
   * the reconciler's bound end it).
   */
  private async finish(
    flow: CompiledFlow,
    runId: string,
    stepId: string,
    result: StepResult,
    attempt: AttemptRecord,
    claimed: ClaimedStep,
    chain?: Chain,
  ): Promise<StepError | null> {
    try {
      await this.record(flow, runId, stepId, result, attempt, claimed, chain);
      return null;
    } catch (err) {
      if (!isDataRefused(err)) throw err;
      const error: StepError = {
        code: 'outcome_unstorable',
        message: `the step ran, but its outcome could not be stored: ${(err as Error).message}`.slice(0, 500),
        retryable: false,
      };
      const at = { runId, flow: claimed.flowSlug, step: stepId, attempt: claimed.attempt };
      this.logger.warn({ msg: `step failed: ${error.code}: ${error.message}`, ...at, code: error.code });
      try {
        await this.record(
          flow,
          runId,
          stepId,
          { status: 'failed', input: null, output: null, error },
          { ...attempt, outcome: 'failed', error },
          claimed,
        );
      } catch (again) {
        // Read without a claim, and the run moved: nothing was written; claimed, it runs again.
        if (again instanceof StepNotClaimedError) throw again;
        this.logger.error({
          msg: `the step's failure could not be stored either: ${(again as Error).message}`,
          ...at,
        });
        throw err;
      }
      return error;
    }
  }

  private async record(
    flow: CompiledFlow,
    runId: string,
    stepId: string,
    result: StepResult,
    attempt: AttemptRecord,
    claimed: ClaimedStep,
    chain?: Chain,
  ): Promise<void> {
    const holder: { release?: () => void } = {};
    const next = await this.orchestrator
      .stepFinished(
        flow,
        claimed.flowVersionId,
        runId,
        stepId,
        result,
        attempt,
        claimed.seen,
        this.picker(flow, chain, holder),
      )
      .catch((err: unknown) => {
        holder.release?.();
        throw err;
      });
    if (!next || !chain) {
      // Admitted, but the step was not claimed after all (the run moved on meanwhile).
      holder.release?.();
      return;
    }
    chain.next = {
      stepId: next.stepId,
      release: holder.release,
      claimed: {
        attempt: next.attempt,
        attemptBase: next.attemptBase,
        flowVersionId: claimed.flowVersionId,
        flowSlug: claimed.flowSlug,
        trigger: claimed.trigger,
        // As a claim would read them: the finished step's output as stored (jsonb), when it has one.
        outputs:
          result.status === 'failed'
            ? claimed.outputs
            : { ...claimed.outputs, [stepId]: next.finishedOutput },
        seen: next.seen,
      },
    };
  }
}

/** An action's HTTP status for its attempt record: only a real one (a whole number 100-599). */
function responseStatusOf(outcome: StepOutcome): number | null {
  const status =
    outcome.status === 'failed'
      ? outcome.error.status
      : outcome.status === 'succeeded'
        ? (outcome.output as { status?: unknown } | undefined)?.status
        : undefined;
  return Number.isInteger(status) && (status as number) >= 100 && (status as number) <= 599
    ? (status as number)
    : null;
}

/** The step's type for metric labels; 'unknown' rather than a throw over a step the flow lacks. */
function stepTypeOf(flow: CompiledFlow, stepId: string): string {
  try {
    return flow.step(stepId).type;
  } catch {
    return 'unknown';
  }
}
