import { Injectable } from '@nestjs/common';
import { alertThrottleMs, DEFAULT_ALERT_THROTTLE } from '@hookflow/flows';
import { AlertStateRepository, FlowRepository } from '@hookflow/store';
import { AppError } from '../common/app-error';

/** A flow's alert rule and its window, for operators (docs/alerts.md#alert-rules). */
export interface FlowAlertState {
  /** The rule of the flow's current version; null without one. */
  rule: { connector: string; throttle: string | number; throttleMs: number } | null;
  lastSentAt: string | null;
  /** While in the future, failures are counted, not told. */
  windowEndsAt: string | null;
  /** Failures counted in the window, told when it ends. */
  pending: number;
}

@Injectable()
export class FlowAlertsService {
  constructor(
    private readonly flows: FlowRepository,
    private readonly alerts: AlertStateRepository,
  ) {}

  async state(slug: string): Promise<FlowAlertState> {
    const record = await this.flows.findBySlug(slug);
    if (!record) throw AppError.notFound(`flow '${slug}'`);
    const rule = record.version.definition.alerts;
    const window = await this.alerts.window(record.flow.id);
    return {
      rule: rule
        ? {
            connector: rule.onFailure.connector,
            throttle: rule.throttle ?? DEFAULT_ALERT_THROTTLE,
            throttleMs: alertThrottleMs(rule),
          }
        : null,
      lastSentAt: iso(window?.lastSentAtMs),
      windowEndsAt: iso(window?.windowEndsAtMs),
      pending: window?.pending ?? 0,
    };
  }
}

function iso(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString();
}
