import { Inject, Injectable, Logger } from '@nestjs/common';
import { executeStep, type ConnectorRegistry, type StepError } from '@hookflow/flows';
import { RunRepository, type AttemptRecord } from '@hookflow/store';
import { RunOrchestrator } from '../runs/run-orchestrator';
import { CompiledFlowCache } from './compiled-flow-cache';
import { CONNECTORS } from './tokens';

/** What one attempt came to, for the processor to tell BullMQ. */
export type AttemptVerdict =
  { kind: 'done' } | { kind: 'retry'; error: StepError } | { kind: 'failed'; error: StepError };

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
    @Inject(CONNECTORS) private readonly connectors: ConnectorRegistry,
  ) {}

  /** `isLastAttempt` comes from the job: a retryable failure on the last try fails the step. */
  async run(runId: string, stepId: string, isLastAttempt: boolean): Promise<AttemptVerdict> {
    const claimed = await this.runs.claimStep(runId, stepId);
    if (!claimed) return { kind: 'done' };
    const flow = await this.flows.get(claimed.flowVersionId);
    const startedAt = new Date();
    const outcome = await executeStep(
      flow,
      stepId,
      { trigger: claimed.trigger, steps: claimed.outputs, run: { id: runId, flow: claimed.flowSlug } },
      { connectors: this.connectors, attempt: claimed.attempt, idempotencyKey: `${runId}_${stepId}` },
    );
    const attempt: AttemptRecord = {
      n: claimed.attempt,
      startedAt,
      durationMs: Date.now() - startedAt.getTime(),
      outcome: outcome.status === 'failed' ? 'failed' : outcome.status,
      error: outcome.status === 'failed' ? outcome.error : null,
      responseStatus: responseStatusOf(outcome),
    };

    if (outcome.status !== 'failed') {
      await this.orchestrator.stepFinished(
        flow,
        runId,
        stepId,
        { status: outcome.status, input: outcome.input, output: outcome.output, error: null },
        attempt,
      );
      return { kind: 'done' };
    }
    if (outcome.error.retryable && !isLastAttempt) {
      await this.runs.markRetrying(runId, stepId, outcome.input, { ...attempt, outcome: 'retrying' });
      return { kind: 'retry', error: outcome.error };
    }
    this.logger.log(`run ${runId} step ${stepId} failed: ${outcome.error.code}: ${outcome.error.message}`);
    await this.orchestrator.stepFinished(
      flow,
      runId,
      stepId,
      { status: 'failed', input: outcome.input, output: outcome.output ?? null, error: outcome.error },
      attempt,
    );
    return { kind: 'failed', error: outcome.error };
  }
}

function responseStatusOf(outcome: { status: string; output?: unknown; error?: StepError }): number | null {
  if (outcome.error?.status) return outcome.error.status;
  const out = outcome.output as { status?: unknown } | undefined;
  return outcome.status === 'succeeded' && typeof out?.status === 'number' ? out.status : null;
}
