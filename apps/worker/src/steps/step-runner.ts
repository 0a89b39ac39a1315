import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  callsNoOne,
  executeStep,
  outputsInScope,
  parseItemStepId,
  scopeOf,
  stepContext,
  type CompiledFlow,
  type ConnectorRegistry,
  type ExpressionBudget,
  type StepError,
  type StepOutcome,
  routesOf,
  statusesOf,
  type StepStatus,
} from '@hookflow/flows';
import { captureExchange } from '@hookflow/connectors';
import { HOOKFLOW_CONFIG, WorkerMetrics, type HookflowConfig } from '@hookflow/platform';
import { ExpressionSandbox } from '@hookflow/sandbox';
import {
  isDataRefused,
  secretRedactor,
  StepTransitions,
  type AttemptRecord,
  type ClaimedStep,
  type StepResult,
} from '@hookflow/store';
import {
  RunProgress,
  StepMovedError,
  type NextStep,
  type PickNext,
  type StepRef,
} from '../runs/run-progress';
import { DestinationBreaker } from './destination-breaker';
import { StepSecrets } from './step-secrets';
import { CONNECTORS } from './tokens';

/** Starts past its retry budget a step without side effects gets when workers die under it. */
const LOST_STARTS_ALLOWED = 3;

/** What one attempt came to, for its job (or whoever runs the step without one) to act on. */
export type AttemptVerdict =
  | { kind: 'done' }
  /** `tries`: attempts the step used of its budget, this one included. */
  | { kind: 'retry'; error: StepError; tries: number }
  | { kind: 'failed'; error: StepError }
  /** A delay step parked as `waiting`: bring it back at `untilMs` (epoch ms). */
  | { kind: 'park'; untilMs: number; tries: number };

/** A flow's secrets and their redactor, loaded once for the steps of a run run one after the other. */
export interface RunSecrets {
  flowVersionId: string;
  values: Record<string, string>;
  redact: <T>(value: T) => T;
}

export interface StepRunOptions {
  /** From the job: a retryable failure on its last try fails the step. */
  isLastAttempt: boolean;
  /** Frees the destination slot the step holds: once its call is over, before the run moves on. */
  releaseSlot?: () => void;
  /** Offered the steps its end makes ready, may take one to run next in this process. */
  pickNext?: PickNext;
  /** The flow's secrets, when a step before it in this process loaded them. */
  secrets?: RunSecrets;
}

export interface StepRunResult {
  verdict: AttemptVerdict;
  /** The step claimed by the write that recorded this one, to run next in this process. */
  next?: NextStep;
  /** The flow's secrets as loaded for this step, for the next one to reuse. */
  secrets?: RunSecrets;
}

/** The one way a step runs: claim, execute, record, enqueue; chains and bundles build on it. */
@Injectable()
export class StepRunner {
  private readonly logger = new Logger(StepRunner.name);
  private readonly budget: ExpressionBudget;

  constructor(
    private readonly transitions: StepTransitions,
    private readonly progress: RunProgress,
    private readonly secrets: StepSecrets,
    private readonly metrics: WorkerMetrics,
    @Inject(CONNECTORS) private readonly connectors: ConnectorRegistry,
    private readonly expressions: ExpressionSandbox,
    private readonly breaker: DestinationBreaker,
    @Inject(HOOKFLOW_CONFIG) config: HookflowConfig,
  ) {
    this.budget = config.expressionBudget;
  }

  /** Claims the step (a fresh step that calls no one is only read); null: nothing to do. */
  async claim(
    flow: CompiledFlow | undefined,
    runId: string,
    stepId: string,
    leaseMs: number,
    fresh: boolean,
  ) {
    const type = flow && stepTypeOf(flow, stepId);
    if (fresh && callsNoOne(type)) {
      const read = await this.transitions.readStep(runId, stepId);
      if (read) return read;
    }
    return this.transitions.claimStep(runId, stepId, leaseMs);
  }

  /** Gives a claim back after its end could not be recorded, so the next try can take it at once. */
  giveBack(ref: StepRef, claimed: ClaimedStep): Promise<void> {
    if (claimed.unclaimed) return Promise.resolve();
    return this.transitions.releaseClaim(ref.runId, ref.stepId, claimed.attempt).catch(() => undefined);
  }

  /** Undoes a chained step's claim before its attempt started; false when the claim was no longer held. */
  unclaim(ref: StepRef, claimed: ClaimedStep): Promise<boolean> {
    return this.transitions.unclaim(ref.runId, ref.stepId, claimed.attempt);
  }

  /** Runs and records one attempt; throws `StepMovedError` if an unclaimed step's run moved. */
  async run(
    flow: CompiledFlow,
    ref: StepRef,
    claimed: ClaimedStep,
    opts: StepRunOptions,
  ): Promise<StepRunResult> {
    if (claimed.resume) {
      opts.releaseSlot?.();
      return this.resume(flow, ref, claimed, claimed.resume, opts.pickNext);
    }
    const startedAt = new Date();
    const budget = flow.retryPolicy(ref.stepId).attempts;
    // A retry of the run gives the step a fresh budget; attempt numbers keep counting across it.
    const tries = claimed.attempt - claimed.attemptBase;
    const secrets = await this.secretsFor(flow, ref, opts.secrets);
    const outcome = await this.attempt(flow, ref, claimed, tries, budget, secrets).finally(opts.releaseSlot);
    const type = stepTypeOf(flow, ref.stepId);
    // Before the end is recorded: a pause this attempt causes holds the steps that follow it.
    if (type === 'action') await this.breaker.observe(outcome);
    const attempt: AttemptRecord = {
      n: claimed.attempt,
      startedAt,
      durationMs: Date.now() - startedAt.getTime(),
      outcome: outcome.status,
      error: outcome.status === 'failed' ? outcome.error : null,
      responseStatus: type === 'action' ? responseStatusOf(outcome) : null,
      ...(outcome.status !== 'filtered' && outcome.logs ? { logs: outcome.logs } : {}),
      ...(outcome.status !== 'filtered' && outcome.exchange
        ? {
            request: outcome.exchange.request,
            response: outcome.exchange.response,
            destination: outcome.exchange.destination,
          }
        : {}),
    };
    const lastTry = opts.isLastAttempt || tries >= budget;
    const retrying = outcome.status === 'failed' && outcome.error.retryable && !lastTry;
    this.metrics.recordStepAttempt({
      type,
      outcome: retrying ? 'retrying' : outcome.status,
      durationMs: attempt.durationMs,
      attempt: claimed.attempt,
      responseStatus: attempt.responseStatus,
    });
    // Only values read from the store are passed on: without any, what a step gets depends on the step.
    const kept = secrets.ok && Object.keys(secrets.values).length > 0 ? secrets : undefined;

    if (
      outcome.status === 'succeeded' &&
      outcome.resumeAtMs !== undefined &&
      outcome.resumeAtMs > Date.now()
    ) {
      return { verdict: await this.park(ref, claimed, outcome.input, outcome.resumeAtMs), secrets: kept };
    }
    if (outcome.status !== 'failed') {
      const result: StepResult = {
        status: outcome.status,
        input: outcome.input,
        output: outcome.output,
        error: null,
        ...(outcome.routes ? { routes: outcome.routes } : {}),
        ...(outcome.status === 'succeeded' && outcome.items ? { items: outcome.items } : {}),
      };
      const ended = await this.end(flow, ref, claimed, result, attempt, opts.pickNext);
      return { ...ended, secrets: kept };
    }
    if (retrying) {
      // Between tries a step must hold a claim; one read without a claim takes the claim path.
      if (claimed.unclaimed) throw new StepMovedError(ref);
      // False when a later claim took the step over or the run was cancelled meanwhile: no next try.
      const again = await this.transitions.markRetrying(ref.runId, ref.stepId, outcome.input, {
        ...attempt,
        outcome: 'retrying',
      });
      return {
        verdict: again ? { kind: 'retry', error: outcome.error, tries } : { kind: 'done' },
        secrets: kept,
      };
    }
    // The message is already scrubbed of secret values (attempt()); the step's input and output are not logged.
    this.logger.log({
      msg: `step failed: ${outcome.error.code}: ${outcome.error.message}`,
      runId: ref.runId,
      flow: claimed.flowSlug,
      step: ref.stepId,
      attempt: claimed.attempt,
      code: outcome.error.code,
    });
    const result: StepResult = {
      status: 'failed',
      input: outcome.input,
      output: outcome.output ?? null,
      error: outcome.error,
    };
    const ended = await this.end(flow, ref, claimed, result, attempt, opts.pickNext);
    return { ...ended, verdict: { kind: 'failed', error: outcome.error }, secrets: kept };
  }

  /** A delay step's job came back: finish the step, or park it again if the job came early. */
  private async resume(
    flow: CompiledFlow,
    ref: StepRef,
    claimed: ClaimedStep,
    resume: { inMs: number; input: unknown },
    pickNext?: PickNext,
  ): Promise<StepRunResult> {
    if (resume.inMs > 0)
      return { verdict: await this.park(ref, claimed, resume.input, Date.now() + resume.inMs) };
    const attempt: AttemptRecord = {
      n: claimed.attempt,
      startedAt: new Date(),
      durationMs: 0,
      outcome: 'succeeded',
      error: null,
      responseStatus: null,
    };
    const result: StepResult = {
      status: 'succeeded',
      input: resume.input,
      output: resume.input,
      error: null,
    };
    return this.end(flow, ref, claimed, result, attempt, pickNext);
  }

  private async park(
    ref: StepRef,
    claimed: ClaimedStep,
    input: unknown,
    untilMs: number,
  ): Promise<AttemptVerdict> {
    // False: a later claim holds the step, or the run was cancelled (the step is then cancelled).
    const parked = await this.transitions.parkStep(
      ref.runId,
      ref.stepId,
      claimed.attempt,
      input,
      new Date(untilMs),
    );
    return parked
      ? { kind: 'park', untilMs, tries: claimed.attempt - claimed.attemptBase }
      : { kind: 'done' };
  }

  /** Records the step's end, or `outcome_unstorable` when PostgreSQL refuses it (docs/operations.md). */
  private async end(
    flow: CompiledFlow,
    ref: StepRef,
    claimed: ClaimedStep,
    result: StepResult,
    attempt: AttemptRecord,
    pickNext?: PickNext,
  ): Promise<StepRunResult> {
    try {
      const { next } = await this.progress.stepEnded(flow, ref, claimed, result, attempt, pickNext);
      return { verdict: { kind: 'done' }, next };
    } catch (err) {
      if (!isDataRefused(err)) throw err;
      const error: StepError = {
        code: 'outcome_unstorable',
        message: `the step ran, but its outcome could not be stored: ${(err as Error).message}`.slice(0, 500),
        retryable: false,
      };
      const at = { runId: ref.runId, flow: claimed.flowSlug, step: ref.stepId, attempt: claimed.attempt };
      this.logger.warn({ msg: `step failed: ${error.code}: ${error.message}`, ...at, code: error.code });
      try {
        await this.progress.stepEnded(
          flow,
          ref,
          claimed,
          { status: 'failed', input: null, output: null, error },
          { ...attempt, outcome: 'failed', error },
        );
      } catch (again) {
        // Read without a claim, and the run moved: nothing was written; claimed, it runs again.
        if (again instanceof StepMovedError) throw again;
        this.logger.error({
          msg: `the step's failure could not be stored either: ${(again as Error).message}`,
          ...at,
        });
        throw err;
      }
      return { verdict: { kind: 'failed', error } };
    }
  }

  /** Runs the attempt; the outcome is scrubbed of secret values, as all of it is stored, logged or queued. */
  private async attempt(
    flow: CompiledFlow,
    ref: StepRef,
    claimed: ClaimedStep,
    tries: number,
    budget: number,
    secrets: { ok: false; error: StepError } | ({ ok: true } & RunSecrets),
  ): Promise<StepOutcome> {
    // A step that sends nothing gets extra starts after worker crashes; actions count lost starts
    // against their retry budget, since they may have sent.
    const limit = flow.step(ref.stepId).type === 'action' ? budget : budget + LOST_STARTS_ALLOWED;
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
    if (!secrets.ok) return { status: 'failed', input: null, error: secrets.error };
    const outcome = await executeStep(
      flow,
      ref.stepId,
      { ...stepContext(ref.stepId, claimed, ref.runId), ...(await this.statusesFor(flow, ref, claimed)) },
      {
        connectors: this.connectors,
        expressions: this.expressions,
        budget: this.budget,
        attempt: claimed.attempt,
        secrets: secrets.values,
      },
    );
    if (outcome.status === 'filtered' || !outcome.exchange) return secrets.redact(outcome);
    // Masked and bounded on its own: cut after the secrets are replaced, so none is cut in two.
    const exchange = captureExchange(outcome.exchange, secrets.redact);
    return { ...secrets.redact({ ...outcome, exchange: undefined }), exchange };
  }

  /** The steps' statuses and routes for an `any` join's input: from the claim's view, else one read of the run. */
  private async statusesFor(
    flow: CompiledFlow,
    ref: StepRef,
    claimed: ClaimedStep,
  ): Promise<{ statuses?: Record<string, StepStatus>; routes?: Record<string, string[]> }> {
    const scope = scopeOf(flow, ref.stepId);
    if (scope.flow.graph.joinOf(scope.stepId) !== 'any') return {};
    const view = claimed.view ?? (await this.transitions.view(ref.runId));
    if (!view) return {};
    // In a loop, the statuses of the step's own item, by the ids the loop gives its steps.
    const item = parseItemStepId(ref.stepId);
    return { statuses: outputsInScope(statusesOf(view), item), routes: outputsInScope(routesOf(view), item) };
  }

  /** The flow's secrets (one read and decryption) and a redactor for them, reused along a chain. */
  private async secretsFor(
    flow: CompiledFlow,
    ref: StepRef,
    known?: RunSecrets,
  ): Promise<{ ok: false; error: StepError } | ({ ok: true } & RunSecrets)> {
    if (known?.flowVersionId === ref.flowVersionId) return { ok: true, ...known };
    const loaded = await this.secrets.load(flow, ref.stepId);
    if (!loaded.ok) return loaded;
    return {
      ok: true,
      flowVersionId: ref.flowVersionId,
      values: loaded.values,
      redact: secretRedactor(loaded.values),
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
export function stepTypeOf(flow: CompiledFlow, stepId: string): string {
  try {
    return flow.step(stepId).type;
  } catch {
    return 'unknown';
  }
}
