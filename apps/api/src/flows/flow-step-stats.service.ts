import { Injectable } from '@nestjs/common';
import { FlowRepository, RunQueries, type StepStats } from '@hookflow/store';
import { AppError } from '../common/app-error';
import { parseTime } from '../common/query';

const DAY_MS = 24 * 60 * 60 * 1000;
/** The widest window one call may read: the query walks every run of the flow in it. */
export const MAX_STATS_WINDOW_MS = 31 * DAY_MS;

export interface StepStatsView extends StepStats {
  /** failed / total, null for a step that never ran in the window. */
  failureRate: number | null;
}

/** How each step of a flow ended over a window of runs, for the flow page's graph. */
@Injectable()
export class FlowStepStatsService {
  constructor(
    private readonly flows: FlowRepository,
    private readonly runs: RunQueries,
  ) {}

  async stats(
    slug: string,
    q: { since?: string; until?: string },
    nowMs = Date.now(),
  ): Promise<{ since: Date; until: Date; steps: StepStatsView[] }> {
    const window = parseWindow(q, nowMs);
    const record = await this.flows.findBySlug(slug);
    if (!record) throw AppError.notFound(`flow '${slug}'`);
    const rows = await this.runs.stepStats(record.flow.id, window);
    return {
      ...window,
      steps: rows.map((r) => ({ ...r, failureRate: r.total > 0 ? r.failed / r.total : null })),
    };
  }
}

/** `since` defaults to 24 h before `until`, `until` to now; at most 31 days apart. */
export function parseWindow(
  q: { since?: string; until?: string },
  nowMs: number,
): { since: Date; until: Date } {
  const until = parseTime(q.until, '/until') ?? new Date(nowMs);
  const since = parseTime(q.since, '/since') ?? new Date(until.getTime() - DAY_MS);
  if (since.getTime() >= until.getTime()) throw AppError.invalid('/until', 'must be later than since');
  if (until.getTime() - since.getTime() > MAX_STATS_WINDOW_MS) {
    throw AppError.invalid('/since', 'must be at most 31 days before until');
  }
  return { since, until };
}
