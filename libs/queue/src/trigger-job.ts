// The trigger queue's contract: one BullMQ job scheduler per flow with a schedule or a poll.
export const TRIGGER_QUEUE = 'triggers';
export const TICK_JOB_NAME = 'tick';

/** A tick carries the flow only; the tick's time is the job's `prevMillis`, the rest is read when it fires. */
export interface TriggerJobData {
  flowId: string;
}

/** One scheduler per flow, so a flow's tick is made once however many processes sync the schedulers. */
export function schedulerIdOf(flowId: string): string {
  return `flow-${flowId}`;
}
