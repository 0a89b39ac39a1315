import { Injectable } from '@nestjs/common';
import { planSteps, type NewRunPlan } from '@hookflow/flows';
import { StepQueue } from '@hookflow/queue';
import { RunIntake, type CreatedRun, type TimedFlow } from '@hookflow/store';

/** Step plans kept by flow version: a schedule or a poll starts runs of one version over and over. */
const MAX_PLANS = 500;

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
  private readonly plans = new Map<string, NewRunPlan>();

  constructor(
    private readonly intake: RunIntake,
    private readonly stepQueue: StepQueue,
  ) {}

  async start(flow: TimedFlow, start: TimedStart): Promise<CreatedRun> {
    const plan = this.plan(flow);
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
      plan.roots.map(({ id, policy, timeoutMs }) => ({
        runId: created.runId,
        flowVersionId: flow.versionId,
        stepId: id,
        policy,
        timeoutMs,
      })),
    );
    return created;
  }

  private plan(flow: TimedFlow): NewRunPlan {
    let plan = this.plans.get(flow.versionId);
    if (!plan) {
      if (this.plans.size >= MAX_PLANS) this.plans.clear();
      plan = planSteps(flow.definition);
      this.plans.set(flow.versionId, plan);
    }
    return plan;
  }
}
