import type { CompiledFlow, StepGraph } from '@hookflow/flows';
import { StepTransitions, type AttemptRecord, type ClaimedStep, type StepResult } from '@hookflow/store';
import type { AnswerChannel, StepQueue } from '@hookflow/queue';
import { RunProgress, type PickNext, type StepEndOutcome } from '../../apps/worker/src/runs/run-progress';
import type { HookflowHarness } from './hookflow-harness';

/** A queue that takes nothing: the tests that drive the store directly run no worker. */
const NO_QUEUE = { add: async () => true } as unknown as StepQueue;
/** Nobody waits on these runs' respond steps. */
const NO_ANSWERS = { publish: () => undefined } as unknown as AnswerChannel;

export type EndStep = (
  runId: string,
  stepId: string,
  result: StepResult,
  attempt: AttemptRecord,
  graph: StepGraph,
  /** The claim (or read) the end is recorded for; a number: the attempt of a claim whose view is not known. */
  claimed: ClaimedStep | number,
  pick?: PickNext,
) => Promise<StepEndOutcome>;

/**
 * Records steps' ends as the worker does (`RunProgress.stepEnded`: decided on a view of the run,
 * written in one statement, decided again if the run moved), for tests that drive the store
 * without a worker: the steps made ready are marked in PostgreSQL, not queued.
 */
export function stepEnds(hf: HookflowHarness): EndStep {
  const progress = new RunProgress(hf.api.get(StepTransitions), NO_QUEUE, NO_ANSWERS);
  return (runId, stepId, result, attempt, graph, claimed, pick) => {
    const flow = {
      graph,
      definition: { slug: 'test' },
      retryPolicy: () => ({ attempts: 1, backoff: 'fixed', delayMs: 0, maxDelayMs: 0 }),
      timeoutMs: () => 1000,
    } as unknown as CompiledFlow;
    const claim: ClaimedStep =
      typeof claimed === 'number'
        ? {
            attempt: claimed,
            attemptBase: 0,
            flowVersionId: '',
            flowSlug: '',
            trigger: {} as never,
            outputs: {},
          }
        : claimed;
    return progress.stepEnded(
      flow,
      { runId, stepId, flowVersionId: claim.flowVersionId },
      claim,
      result,
      attempt,
      pick,
    );
  };
}
