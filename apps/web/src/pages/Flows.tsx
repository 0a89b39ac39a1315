import { useEffect, useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { Empty, ErrorBanner, Loading, LoadMore, PageHeader, StatusBadge } from '../components/ui';
import { api, enc, query } from '../lib/api';
import type { FlowView } from '../lib/flow-types';
import { formatAgo, formatPercent, formatTime } from '../lib/format';
import { usePagedList } from '../lib/hooks';
import { useCan } from '../lib/session';
import type { FlowStats } from '../lib/stats';
import type { Page, RunSummary } from '../lib/types';

/** The last run of each flow shown, one small request each (a page holds at most 200 flows). */
function useLastRuns(slugs: string[]): Record<string, RunSummary | null> {
  const [runs, setRuns] = useState<Record<string, RunSummary | null>>({});
  const key = slugs.join(',');
  useEffect(() => {
    let live = true;
    for (const slug of key ? key.split(',') : []) {
      api.get<Page<RunSummary>>(`/api/runs${query({ flow: slug, limit: 1 })}`).then(
        (page) => live && setRuns((r) => ({ ...r, [slug]: page.items[0] ?? null })),
        () => undefined,
      );
    }
    return () => {
      live = false;
    };
  }, [key]);
  return runs;
}

/** Success over 24 h from GET /api/stats (its 100 flows with most failures: the rest show '—'). */
function useFlowStats(): Record<string, FlowStats> {
  const [stats, setStats] = useState<Record<string, FlowStats>>({});
  useEffect(() => {
    const since = new Date(Date.now() - 24 * 3600 * 1000).toISOString();
    api.get<{ flows?: FlowStats[] }>(`/api/stats${query({ since, bucket: 'day', top: 100 })}`).then(
      (answer) => setStats(Object.fromEntries((answer.flows ?? []).map((f) => [f.flow, f]))),
      () => setStats({}),
    );
  }, []);
  return stats;
}

export function Flows() {
  const can = useCan();
  const navigate = useNavigate();
  const page = usePagedList<FlowView>((cursor) => `/api/flows${query({ limit: 100, cursor })}`);
  const flows = page.items;
  const lastRuns = useLastRuns(flows.map((f) => f.slug));
  const stats = useFlowStats();

  return (
    <>
      <PageHeader title="Flows">
        {can('write') && (
          <button type="button" className="btn btn-primary" onClick={() => navigate('/new-flow')}>
            New flow
          </button>
        )}
      </PageHeader>
      <ErrorBanner error={page.error} />
      {page.loading && flows.length === 0 && <Loading />}
      {!page.loading && !page.error && flows.length === 0 && (
        <Empty>No flows yet.{can('write') ? ' Create one with “New flow”.' : ''}</Empty>
      )}
      {flows.length > 0 && (
        <table className="table" aria-label="Flows">
          <thead>
            <tr>
              <th>Flow</th>
              <th>State</th>
              <th>Trigger</th>
              <th>Last run</th>
              <th>Success (24 h)</th>
              <th>Version</th>
            </tr>
          </thead>
          <tbody>
            {flows.map((f) => {
              const last = lastRuns[f.slug];
              const s = stats[f.slug];
              return (
                <tr key={f.slug} data-testid={`flow-row-${f.slug}`}>
                  <td>
                    <Link to={`/flows/${enc(f.slug)}`}>{f.name || f.slug}</Link>
                    {f.name && <div className="muted mono-small">{f.slug}</div>}
                  </td>
                  <td>
                    <StatusBadge status={f.enabled ? 'enabled' : 'disabled'} />
                  </td>
                  <td>
                    <span className="badge">{f.definition.trigger.type}</span>
                  </td>
                  <td>
                    {last === undefined ? (
                      '…'
                    ) : last === null ? (
                      <span className="muted">never</span>
                    ) : (
                      <Link to={`/runs/${last.id}`} title={formatTime(last.createdAt)}>
                        <StatusBadge status={last.status} /> {formatAgo(last.createdAt)}
                      </Link>
                    )}
                  </td>
                  <td>{s && s.total > 0 ? formatPercent(1 - s.failureRate) : '—'}</td>
                  <td>v{f.version}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {page.nextCursor && <LoadMore onClick={page.loadMore} />}
    </>
  );
}
