import { Injectable } from '@nestjs/common';
import { planSteps } from '@hookflow/flows';
import { queuedRoots, StepQueue } from '@hookflow/queue';
import { RunIntake, type CreatedRun, type TimedFlow } from '@hookflow/store';

/** A run a schedule's tick or a polled item starts: what steps see as `trigger`. */
export interface TimedStart {
  method: string;
  body: unknown;
  /** Claimed once per flow: a tick or an item handled twice starts one run. */
  dedupeKey: string;
  dedupeWindowMs: number;
}

/** Starts runs without a request, as ingress does for one: stored in one statement, first steps queued. */
@Injectable()
export class TriggerRuns {
  constructor(
    private readonly intake: RunIntake,
    private readonly stepQueue: StepQueue,
  ) {}

  async start(flow: TimedFlow, start: TimedStart): Promise<CreatedRun> {
    const plan = planSteps(flow.definition);
    const created = await this.intake.createRunFromEvent(
      {
        flowId: flow.flowId,
        flowVersionId: flow.versionId,
        method: start.method,
        headers: {},
        query: {},
        body: start.body,
        rawBody: null,
        contentType: 'application/json',
        sourceIp: null,
        receivedAt: new Date(),
        statusCode: 202,
      },
      plan.steps,
      { key: start.dedupeKey, windowMs: start.dedupeWindowMs },
    );
    if (created.duplicate) return created;
    await this.stepQueue.start(
      queuedRoots({ runId: created.runId, flowVersionId: flow.versionId }, plan.roots),
    );
    return created;
  }
}
