import { Injectable } from '@nestjs/common';
import { SLUG_PATTERN, type RunStatus } from '@hookflow/flows';
import { StatsRepository, type DestinationBucket, type FlowBucket } from '@hookflow/store';
import { AppError } from '../common/app-error';
import { parseTime } from '../common/query';
import { RUN_STATUS_VALUES } from '../common/openapi.schemas';

/** Bucket sizes and their length; buckets start at whole minutes, hours and UTC days. */
export const STATS_BUCKETS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;
export type StatsBucket = keyof typeof STATS_BUCKETS;
/** Longest window one request may ask for. */
export const MAX_STATS_RANGE_MS = 31 * 86_400_000;
/** Most buckets one answer may hold. */
export const MAX_STATS_BUCKETS = 1500;
const DEFAULT_RANGE_MS = 86_400_000;
/** Most flows and destinations one answer lists, each with a series of up to MAX_STATS_BUCKETS. */
export const MAX_STATS_TOP = 100;
const DEFAULT_TOP = 20;
const SLUG = new RegExp(SLUG_PATTERN);

export interface StatsQuery {
  since?: unknown;
  until?: unknown;
  bucket?: unknown;
  flow?: unknown;
  top?: unknown;
}

/** Figures over a time window for the dashboard: runs by status, per flow, per destination. */
@Injectable()
export class StatsService {
  constructor(private readonly stats: StatsRepository) {}

  async get(query: StatsQuery, nowMs = Date.now()) {
    const bucket = parseBucket(query.bucket);
    const untilMs = parseTime(query.until, '/until')?.getTime() ?? nowMs;
    const sinceMs = parseTime(query.since, '/since')?.getTime() ?? untilMs - DEFAULT_RANGE_MS;
    if (sinceMs >= untilMs) throw AppError.invalid('/since', 'must be before until');
    if (untilMs - sinceMs > MAX_STATS_RANGE_MS) {
      throw AppError.invalid('/since', 'is more than 31 days before until; ask for a shorter window');
    }
    const stepMs = STATS_BUCKETS[bucket];
    const originMs = Math.floor(sinceMs / stepMs) * stepMs;
    const count = Math.ceil((untilMs - originMs) / stepMs);
    if (count > MAX_STATS_BUCKETS) {
      throw AppError.invalid(
        '/bucket',
        `${bucket} cuts this window into ${count} buckets, more than ${MAX_STATS_BUCKETS}; choose a larger bucket or a shorter window`,
      );
    }
    const flow = parseFlow(query.flow);
    const top = parseTop(query.top);
    const found = await this.stats.window({
      since: new Date(sinceMs),
      until: new Date(untilMs),
      bucket: `1 ${bucket}`,
      origin: new Date(originMs),
      flowSlug: flow,
      top,
    });

    const starts = Array.from({ length: count }, (_, k) => originMs + k * stepMs);
    const zero = () => Object.fromEntries(RUN_STATUS_VALUES.map((s) => [s, 0])) as Record<RunStatus, number>;
    const totals = zero();
    const byBucket = new Map(starts.map((at) => [at, zero()]));
    for (const row of found.runs) {
      totals[row.status] += row.count;
      const counts = byBucket.get(row.at.getTime());
      if (counts) counts[row.status] += row.count;
    }
    return {
      since: new Date(sinceMs).toISOString(),
      until: new Date(untilMs).toISOString(),
      bucket,
      totals,
      series: starts.map((at) => ({ at: new Date(at).toISOString(), ...byBucket.get(at)! })),
      flowCount: found.flowCount,
      destinationCount: found.destinationCount,
      flows: found.flows
        .map(({ series, ...f }) => ({
          ...f,
          failureRate: rate(f.failed, f.total),
          series: everyBucket(starts, series, (): Omit<FlowBucket, 'at'> => ({
            total: 0,
            failed: 0,
            p50Ms: null,
            p99Ms: null,
          })),
        }))
        .sort((a, b) => b.failed - a.failed || b.total - a.total || a.flow.localeCompare(b.flow)),
      destinations: found.destinations
        .map(({ series, ...d }) => ({
          destination: d.destination,
          attempts: d.attempts,
          failed: d.failed,
          failureRate: rate(d.failed, d.attempts),
          p50Ms: d.p50Ms,
          p99Ms: d.p99Ms,
          lastStatus: d.lastStatus,
          lastAttemptAt: d.lastAttemptAt && d.lastAttemptAt.toISOString(),
          lastError: d.lastError,
          series: everyBucket(starts, series, (): Omit<DestinationBucket, 'at'> => ({
            attempts: 0,
            failed: 0,
            p50Ms: null,
            p99Ms: null,
          })),
        }))
        .sort(
          (a, b) =>
            b.failed - a.failed || b.attempts - a.attempts || a.destination.localeCompare(b.destination),
        ),
    };
  }
}

/** One entry per bucket start, those without rows filled with `empty()`. */
function everyBucket<T extends { at: Date }>(starts: number[], rows: T[], empty: () => Omit<T, 'at'>) {
  const byAt = new Map(rows.map(({ at, ...rest }) => [at.getTime(), rest]));
  return starts.map((at) => ({ at: new Date(at).toISOString(), ...(byAt.get(at) ?? empty()) }));
}

function rate(part: number, whole: number): number {
  return whole === 0 ? 0 : Math.round((part / whole) * 10_000) / 10_000;
}

function parseBucket(raw: unknown): StatsBucket {
  if (raw === undefined || raw === '') return 'hour';
  if (typeof raw !== 'string' || !Object.hasOwn(STATS_BUCKETS, raw)) {
    throw AppError.invalid('/bucket', `must be one of ${Object.keys(STATS_BUCKETS).join(', ')}`);
  }
  return raw as StatsBucket;
}

function parseTop(raw: unknown): number {
  if (raw === undefined || raw === '') return DEFAULT_TOP;
  const n = typeof raw === 'string' && /^\d{1,4}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(n >= 1 && n <= MAX_STATS_TOP))
    throw AppError.invalid('/top', `must be a whole number from 1 to ${MAX_STATS_TOP}`);
  return n;
}

function parseFlow(raw: unknown): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (typeof raw !== 'string' || !SLUG.test(raw)) throw AppError.invalid('/flow', 'must be a flow slug');
  return raw;
}
