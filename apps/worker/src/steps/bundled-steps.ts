import { Injectable, Logger } from '@nestjs/common';
import { backoffDelayMs } from '@hookflow/flows';
import type { StepJobData } from '@hookflow/queue';
import { RunProgress, type StepRef } from '../runs/run-progress';
import { CompiledFlowCache } from './compiled-flow-cache';
import { DestinationGate } from './destination-gate';
import { InlineChain } from './inline-chain';
import type { AttemptVerdict } from './step-runner';

/** Runs a bundle job's steps side by side; a step that needs the queue again gets a job of its own. */
@Injectable()
export class BundledSteps {
  private readonly logger = new Logger(BundledSteps.name);

  constructor(
    private readonly chain: InlineChain,
    private readonly flows: CompiledFlowCache,
    private readonly progress: RunProgress,
    private readonly gate: DestinationGate,
  ) {}

  /** Runs the bundle's steps; never throws. `fresh`: the bundle job's first try, never stalled. */
  run(steps: StepJobData[], fresh: boolean): Promise<void[]> {
    return Promise.all(steps.map((step) => this.runOne(step, fresh)));
  }

  private async runOne(step: StepJobData, fresh: boolean): Promise<void> {
    const { runId, stepId, flowVersionId } = step;
    const at = { runId, step: stepId };
    try {
      if (!flowVersionId) throw new Error('bundled step without its flow version');
      const ref: StepRef = { runId, stepId, flowVersionId };
      const flow = await this.flows.get(flowVersionId);
      const admission = await this.gate.admit(runId, stepId, flowVersionId);
      if (!admission.go) {
        await this.progress.later(flow, ref, 0, admission.retryInMs);
        return;
      }
      let verdict: AttemptVerdict;
      try {
        verdict = await this.chain.runJob(runId, stepId, {
          isLastAttempt: false,
          leaseMs: step.leaseMs,
          ownStepDone: admission.release,
          fresh: fresh && !step.attemptsBefore ? { flowVersionId } : undefined,
        });
      } catch (err) {
        // As a job's attempt that threw: tried again after its backoff (the claim was given back).
        this.logger.warn({ msg: `step attempt failed: ${(err as Error).message}`, ...at });
        await this.progress.later(flow, ref, 1, backoffDelayMs(flow.retryPolicy(stepId), 1));
        return;
      } finally {
        admission.release();
      }
      await this.chain.followUp(flow, ref, verdict);
    } catch (err) {
      // Not even a job of its own could be made (its flow, the queue): the reconciler brings it back.
      this.logger.warn({ msg: `bundled step left to the reconciler: ${(err as Error).message}`, ...at });
    }
  }
}
