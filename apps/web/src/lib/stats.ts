/** Shapes of GET /api/stats (docs/api.md): deliveries and failures over time, by flow and by destination. */

export type Bucket = 'minute' | 'hour' | 'day';

export interface StatsPoint {
  at: string;
  succeeded: number;
  failed: number;
  filtered: number;
  cancelled: number;
  queued: number;
  running: number;
}

export interface FlowStats {
  flow: string;
  total: number;
  failed: number;
  failureRate: number;
  p50Ms: number | null;
  p99Ms: number | null;
  series?: StatsPoint[];
}

export interface DestinationStats {
  destination: string;
  attempts: number;
  failed: number;
  failureRate: number;
  p50Ms: number | null;
  p99Ms: number | null;
  lastStatus: number | null;
  lastAttemptAt: string | null;
  lastError: { code: string; message: string } | string | null;
  series?: unknown[];
}

export interface Stats {
  since: string;
  until: string;
  bucket: Bucket;
  totals: Record<string, number>;
  series: StatsPoint[];
  flows: FlowStats[];
  destinations: DestinationStats[];
}

/** The home page's ranges: how far back and how fine. */
export const RANGES = {
  '1h': { label: 'Last hour', ms: 3_600_000, bucket: 'minute' },
  '24h': { label: 'Last 24 h', ms: 86_400_000, bucket: 'hour' },
  '7d': { label: 'Last 7 days', ms: 7 * 86_400_000, bucket: 'hour' },
} as const satisfies Record<string, { label: string; ms: number; bucket: Bucket }>;

export type RangeKey = keyof typeof RANGES;
