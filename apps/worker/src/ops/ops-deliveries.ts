import { Injectable } from '@nestjs/common';
import type { OpsEventType } from '@hookflow/flows';
import type { DispatchedOpsEvent } from './ops-event';

/**
 * Operational webhooks and alert rules: what the dispatcher hands each event to after the error
 * flows. Must be idempotent per event id: a dispatch cut short is repeated.
 */
@Injectable()
export class OpsDeliveries {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  async enqueue(events: readonly DispatchedOpsEvent[]): Promise<void> {}

  /** The event types some subscription listens for (the outbox writes `run.succeeded` only then). */
  async interests(): Promise<OpsEventType[]> {
    return [];
  }
}
