import { Injectable } from '@nestjs/common';
import { compileTrigger, type CompiledTrigger } from '@hookflow/flows';
import { StepQueue } from '@hookflow/queue';
import { RunIntake, type CreatedRun, type TimedFlow } from '@hookflow/store';

/** Compiled triggers kept by flow version: a schedule or a poll starts runs of one version over and over. */
const MAX_COMPILED = 500;

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
  private readonly compiled = new Map<string, CompiledTrigger>();

  constructor(
    private readonly intake: RunIntake,
    private readonly stepQueue: StepQueue,
  ) {}

  async start(flow: TimedFlow, start: TimedStart): Promise<CreatedRun> {
    const trigger = this.compile(flow);
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
      trigger.steps,
      { key: start.dedupeKey, windowMs: start.dedupeWindowMs },
    );
    if (created.duplicate) return created;
    await this.stepQueue.start(
      trigger.roots.map(({ id, policy, timeoutMs }) => ({
        runId: created.runId,
        flowVersionId: flow.versionId,
        stepId: id,
        policy,
        timeoutMs,
      })),
    );
    return created;
  }

  private compile(flow: TimedFlow): CompiledTrigger {
    let trigger = this.compiled.get(flow.versionId);
    if (!trigger) {
      if (this.compiled.size >= MAX_COMPILED) this.compiled.clear();
      trigger = compileTrigger(flow.definition);
      this.compiled.set(flow.versionId, trigger);
    }
    return trigger;
  }
}
