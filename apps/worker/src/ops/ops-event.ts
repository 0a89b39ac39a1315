import type { OpsEventType } from '@hookflow/flows';

/** An operational event as the dispatcher hands it on: its body is what every listener receives. */
export interface DispatchedOpsEvent {
  /** The outbox row's id: stable across a dispatch repeated after a crash (dedupe keys, webhook ids). */
  id: string;
  type: OpsEventType;
  at: Date;
  /** The flow it is about (run.*, trigger.refused, poll.failed), with its slug; none for destinations. */
  flow?: { id: string; slug: string };
  /** The event as error flows get it as `trigger.body`, and subscriptions as the request body. */
  body: { type: OpsEventType; at: string } & Record<string, unknown>;
}
