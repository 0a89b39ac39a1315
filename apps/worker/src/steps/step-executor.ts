import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  executeStep,
  type CompiledFlow,
  type ConnectorRegistry,
  type StepError,
  type StepOutcome,
} from '@hookflow/flows';
import {
  RunRepository,
  secretRedactor,
  WorkerMetrics,
  type AttemptRecord,
  type ClaimedStep,
} from '@hookflow/store';
import { RunOrchestrator } from '../runs/run-orchestrator';
import { CompiledFlowCache } from './compiled-flow-cache';
import { StepSecrets } from './step-secrets';
import { CONNECTORS } from './tokens';

/** What one attempt came to, for the processor to tell BullMQ. */
export type AttemptVerdict =
  | { kind: 'done' }
  | { kind: 'retry'; error: StepError }
  | { kind: 'failed'; error: StepError }
  /** A delay step parked as `waiting`: bring the job back at `untilMs` (epoch ms). */
  | { kind: 'park'; untilMs: number };

/**
 * Runs one attempt of one step. Knows nothing of BullMQ: it claims the step, runs it with
 * libs/flows, and records the outcome; the processor maps the verdict onto the queue.
 */
@Injectable()
export class StepExecutor {
  private readonly logger = new Logger(StepExecutor.name);

  constructor(
    private readonly runs: RunRepository,
    private readonly flows: CompiledFlowCache,
    private readonly orchestrator: RunOrchestrator,
    private readonly secrets: StepSecrets,
    private readonly metrics: WorkerMetrics,
    @Inject(CONNECTORS) private readonly connectors: ConnectorRegistry,
  ) {}

  /**
   * `isLastAttempt` comes from the job: a retryable failure on the last try fails the step.
   * `leaseMs` is how long the claim keeps other workers off this step.
   */
  async run(runId: string, stepId: string, isLastAttempt: boolean, leaseMs: number): Promise<AttemptVerdict> {
    const claimed = await this.runs.claimStep(runId, stepId, leaseMs);
    if (!claimed) return { kind: 'done' };
    try {
      return await this.runClaimed(runId, stepId, claimed, isLastAttempt);
    } catch (err) {
      // The outcome could not be recorded (database trouble, a version that no longer compiles).
      // Give the claim back so the queue's next try can take it at once; the attempt budget
      // checked at claim time stops this from looping forever.
      await this.runs.releaseClaim(runId, stepId, claimed.attempt).catch(() => undefined);
      throw err;
    }
  }

  private async runClaimed(
    runId: string,
    stepId: string,
    claimed: ClaimedStep,
    isLastAttempt: boolean,
  ): Promise<AttemptVerdict> {
    const flow = await this.flows.get(claimed.flowVersionId);
    if (claimed.resume) return this.resume(flow, runId, stepId, claimed, claimed.resume);
    const startedAt = new Date();
    const budget = flow.retryPolicy(stepId).attempts;
    // A retry of the run gives the step a fresh budget; attempt numbers keep counting across it.
    const tries = claimed.attempt - claimed.attemptBase;
    const outcome = await this.attempt(flow, runId, stepId, claimed, tries, budget);
    const attempt: AttemptRecord = {
      n: claimed.attempt,
      startedAt,
      durationMs: Date.now() - startedAt.getTime(),
      outcome: outcome.status,
      error: outcome.status === 'failed' ? outcome.error : null,
      responseStatus: responseStatusOf(outcome),
    };
    const lastTry = isLastAttempt || tries >= budget;
    const retrying = outcome.status === 'failed' && outcome.error.retryable && !lastTry;
    this.metrics.recordStepAttempt({
      type: stepTypeOf(flow, stepId),
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
      return this.park(runId, stepId, claimed.attempt, outcome.input, outcome.resumeAtMs);
    }
    if (outcome.status !== 'failed') {
      await this.finish(
        flow,
        claimed.flowVersionId,
        runId,
        stepId,
        outcome.status,
        outcome.input,
        outcome.output,
        null,
        attempt,
      );
      return { kind: 'done' };
    }
    if (retrying) {
      // False when a later claim took the step over or the run was cancelled meanwhile: no next try.
      const tryAgain = await this.runs.markRetrying(runId, stepId, outcome.input, {
        ...attempt,
        outcome: 'retrying',
      });
      return tryAgain ? { kind: 'retry', error: outcome.error } : { kind: 'done' };
    }
    this.logger.log(`run ${runId} step ${stepId} failed: ${outcome.error.code}: ${outcome.error.message}`);
    await this.finish(
      flow,
      claimed.flowVersionId,
      runId,
      stepId,
      'failed',
      outcome.input,
      outcome.output ?? null,
      outcome.error,
      attempt,
    );
    return { kind: 'failed', error: outcome.error };
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
  ): Promise<AttemptVerdict> {
    if (resume.inMs > 0)
      return this.park(runId, stepId, claimed.attempt, resume.input, Date.now() + resume.inMs);
    const attempt: AttemptRecord = {
      n: claimed.attempt,
      startedAt: new Date(),
      durationMs: 0,
      outcome: 'succeeded',
      error: null,
      responseStatus: null,
    };
    await this.finish(
      flow,
      claimed.flowVersionId,
      runId,
      stepId,
      'succeeded',
      resume.input,
      resume.input,
      null,
      attempt,
    );
    return { kind: 'done' };
  }

  private async park(
    runId: string,
    stepId: string,
    attemptN: number,
    input: unknown,
    untilMs: number,
  ): Promise<AttemptVerdict> {
    // False: a later claim holds the step, or the run was cancelled (the step is then cancelled).
    const parked = await this.runs.parkStep(runId, stepId, attemptN, input, new Date(untilMs));
    return parked ? { kind: 'park', untilMs } : { kind: 'done' };
  }

  /** Runs the attempt; the outcome is scrubbed of secret values, as all of it is stored, logged or queued. */
  private async attempt(
    flow: CompiledFlow,
    runId: string,
    stepId: string,
    claimed: ClaimedStep,
    tries: number,
    budget: number,
  ): Promise<StepOutcome> {
    if (tries > budget) {
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
    const secrets = await this.secrets.load(flow, stepId);
    if (!secrets.ok) return { status: 'failed', input: null, error: secrets.error };
    const outcome = await executeStep(
      flow,
      stepId,
      { trigger: claimed.trigger, steps: claimed.outputs, run: { id: runId, flow: claimed.flowSlug } },
      {
        connectors: this.connectors,
        attempt: claimed.attempt,
        idempotencyKey: `${runId}_${stepId}`,
        secrets: secrets.values,
      },
    );
    return secretRedactor(secrets.values)(outcome);
  }

  private finish(
    flow: CompiledFlow,
    flowVersionId: string,
    runId: string,
    stepId: string,
    status: 'succeeded' | 'filtered' | 'failed',
    input: unknown,
    output: unknown,
    error: StepError | null,
    attempt: AttemptRecord,
  ): Promise<void> {
    return this.orchestrator.stepFinished(
      flow,
      flowVersionId,
      runId,
      stepId,
      { status, input, output, error },
      attempt,
    );
  }
}

function responseStatusOf(outcome: StepOutcome): number | null {
  if (outcome.status === 'failed') return outcome.error.status ?? null;
  const out = outcome.output as { status?: unknown } | undefined;
  return outcome.status === 'succeeded' && typeof out?.status === 'number' ? out.status : null;
}

/** The step's type for metric labels; 'unknown' rather than a throw over a step the flow lacks. */
function stepTypeOf(flow: CompiledFlow, stepId: string): string {
  try {
    return flow.step(stepId).type;
  } catch {
    return 'unknown';
  }
}
