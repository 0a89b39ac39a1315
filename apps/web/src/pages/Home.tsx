import { useMemo, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { TimeChart, type ChartSeries } from '../components/Chart';
import { Empty, ErrorBanner, Loading, PageHeader } from '../components/ui';
import { enc, query } from '../lib/api';
import { formatAgo, formatDuration, formatPercent } from '../lib/format';
import { useApi, useInterval } from '../lib/hooks';
import { RANGES, type Bucket, type DestinationStats, type RangeKey, type Stats } from '../lib/stats';

const STATUS_ORDER = ['succeeded', 'failed', 'filtered', 'cancelled', 'running', 'queued'];
const REFRESH_MS = 30_000;
// What the runs page's quick picks call the same ranges.
const RUNS_RANGE: Record<RangeKey, string> = { '1h': '1h', '24h': '24h', '7d': '7d' };

export function Home() {
  const [params, setParams] = useSearchParams();
  const range: RangeKey =
    (params.get('range') as RangeKey) in RANGES ? (params.get('range') as RangeKey) : '24h';
  const bucket: Bucket =
    range === '7d' && params.get('bucket') === 'day' ? 'day' : (RANGES[range].bucket as Bucket);
  // The window moves with the clock: on each refresh and each change of range, not on each render.
  const [untilMs, setUntilMs] = useState(() => Date.now());
  useInterval(() => setUntilMs(Date.now()), REFRESH_MS);
  const path = useMemo(
    () =>
      `/api/stats${query({
        since: new Date(untilMs - RANGES[range].ms).toISOString(),
        until: new Date(untilMs).toISOString(),
        bucket,
      })}`,
    [range, bucket, untilMs],
  );
  const { data: stats, error } = useApi<Stats>(path, true);

  const set = (changes: Record<string, string | undefined>) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(changes)) {
      if (v) next.set(k, v);
      else next.delete(k);
    }
    setUntilMs(Date.now());
    setParams(next, { replace: true });
  };

  return (
    <div className="home-page">
      <PageHeader title="Home">
        <div className="segmented" role="group" aria-label="Range">
          {(Object.keys(RANGES) as RangeKey[]).map((r) => (
            <button
              key={r}
              type="button"
              className={`btn btn-small ${r === range ? 'btn-primary' : 'btn-secondary'}`}
              aria-pressed={r === range}
              onClick={() => set({ range: r, bucket: undefined })}
            >
              {RANGES[r].label}
            </button>
          ))}
        </div>
        {range === '7d' && (
          <select aria-label="Bucket" value={bucket} onChange={(e) => set({ bucket: e.target.value })}>
            <option value="hour">by hour</option>
            <option value="day">by day</option>
          </select>
        )}
      </PageHeader>
      <ErrorBanner error={error} />
      {!stats ? !error && <Loading /> : <Overview stats={stats} range={range} />}
    </div>
  );
}

function Overview({ stats, range }: { stats: Stats; range: RangeKey }) {
  const total = Object.values(stats.totals).reduce((a, b) => a + b, 0);
  const { times, series } = useMemo(() => {
    const times = stats.series.map((p) => Math.floor(new Date(p.at).getTime() / 1000));
    const series: ChartSeries[] = [
      { label: 'Succeeded', color: '#2b8a3e', values: stats.series.map((p) => p.succeeded) },
      { label: 'Failed', color: '#c92a2a', values: stats.series.map((p) => p.failed) },
    ];
    return { times, series };
  }, [stats]);
  const failingFlows = stats.flows
    .filter((f) => f.failed > 0)
    .sort((a, b) => b.failureRate - a.failureRate || b.failed - a.failed)
    .slice(0, 5);
  const failingDestinations = stats.destinations
    .filter((d) => d.failed > 0)
    .sort((a, b) => b.failureRate - a.failureRate || b.failed - a.failed);
  const runsLink = (extra: Record<string, string>) => `/runs${query({ range: RUNS_RANGE[range], ...extra })}`;

  return (
    <>
      <section className="totals" aria-label="Runs by status">
        <Link className="total card" to={runsLink({})}>
          <span className="total-label">Runs</span>
          <span className="total-value" data-testid="total-all">
            {total}
          </span>
        </Link>
        {STATUS_ORDER.map((s) => (
          <Link key={s} className={`total card total-${s}`} to={runsLink({ status: s })}>
            <span className="total-label">{s}</span>
            <span className="total-value" data-testid={`total-${s}`}>
              {stats.totals[s] ?? 0}
            </span>
          </Link>
        ))}
      </section>

      <section className="card">
        <h2 className="card-title">Deliveries and failures</h2>
        {total === 0 ? (
          <Empty>
            No runs in this range yet. Send a request to a flow&apos;s trigger URL (
            <Link to="/flows">Flows</Link>) and it shows up here.
          </Empty>
        ) : (
          <TimeChart times={times} series={series} label="Succeeded and failed runs over time" />
        )}
      </section>

      <div className="grid home-grid">
        <section className="card" aria-labelledby="failing-flows">
          <h2 className="card-title" id="failing-flows">
            Flows that fail most
          </h2>
          {failingFlows.length === 0 ? (
            <Empty>No flow failed in this range.</Empty>
          ) : (
            <table className="table compact" aria-label="Flows that fail most">
              <thead>
                <tr>
                  <th>Flow</th>
                  <th>Failed</th>
                  <th>Failure rate</th>
                  <th>p50 / p99</th>
                </tr>
              </thead>
              <tbody>
                {failingFlows.map((f) => (
                  <tr key={f.flow}>
                    <td>
                      <Link to={`/flows/${enc(f.flow)}`}>{f.flow}</Link>
                    </td>
                    <td>
                      <Link to={runsLink({ flow: f.flow, status: 'failed' })}>
                        {f.failed} of {f.total}
                      </Link>
                    </td>
                    <td>
                      <RateBar rate={f.failureRate} />
                    </td>
                    <td className="nowrap">
                      {formatDuration(f.p50Ms)} / {formatDuration(f.p99Ms)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>

        <section className="card" aria-labelledby="failing-destinations">
          <h2 className="card-title" id="failing-destinations">
            Destinations that are failing{' '}
            <Link to="/destinations" className="muted mono-small">
              paused and disabled →
            </Link>
          </h2>
          {failingDestinations.length === 0 ? (
            <Empty>No destination failed in this range.</Empty>
          ) : (
            <table className="table compact" aria-label="Destinations that are failing">
              <thead>
                <tr>
                  <th>Destination</th>
                  <th>Failure rate</th>
                  <th>Last</th>
                  <th>p50 / p99</th>
                </tr>
              </thead>
              <tbody>
                {failingDestinations.map((d) => (
                  <tr key={d.destination} data-testid="failing-destination">
                    <td className="mono">{d.destination}</td>
                    <td>
                      <RateBar rate={d.failureRate} />
                      <div className="muted small">
                        {d.failed} of {d.attempts} attempts
                      </div>
                    </td>
                    <td>
                      {d.lastStatus != null ? (
                        <span className={d.lastStatus >= 400 ? 'text-bad' : ''}>HTTP {d.lastStatus}</span>
                      ) : (
                        '—'
                      )}
                      <div className="muted small" title={d.lastAttemptAt ?? undefined}>
                        {formatAgo(d.lastAttemptAt)}
                      </div>
                      {d.lastError && <div className="small text-bad">{errorText(d.lastError)}</div>}
                    </td>
                    <td className="nowrap">
                      {formatDuration(d.p50Ms)} / {formatDuration(d.p99Ms)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      </div>
    </>
  );
}

function errorText(error: DestinationStats['lastError']): string {
  if (!error) return '';
  return typeof error === 'string' ? error : `${error.code}: ${error.message}`;
}

function RateBar({ rate }: { rate: number }) {
  return (
    <span className="rate">
      <span className="rate-track" aria-hidden="true">
        <span className="rate-fill" style={{ width: `${Math.min(Math.max(rate, 0), 1) * 100}%` }} />
      </span>
      {formatPercent(rate)}
    </span>
  );
}
