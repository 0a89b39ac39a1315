import { ActionButton, Empty, ErrorBanner, Loading, PageHeader, StatusBadge } from '../components/ui';
import { api, enc } from '../lib/api';
import { formatAgo, formatPercent, formatTime } from '../lib/format';
import { useApi, useInterval } from '../lib/hooks';
import { useCan } from '../lib/session';

/** A destination as GET /api/destinations answers it (docs/outbound.md, "Circuit breaker"). */
export interface Destination {
  id: string;
  host: string;
  state: 'healthy' | 'paused' | 'disabled';
  pausedBy: 'breaker' | 'hand' | null;
  consecutiveFailures: number;
  failureRate: number | null;
  lastSuccessAt: string | null;
  lastFailureAt: string | null;
  lastError: { code: string; message: string; status?: number } | null;
  pausedUntil: string | null;
  waitingSteps: number;
}

/** Destinations that failed, with their circuit breaker state; write keys pause and resume them. */
export function Destinations() {
  const can = useCan();
  const list = useApi<{ items: Destination[] }>('/api/destinations', true);
  // States change on their own (cool-downs, probes): kept current while the page is open.
  useInterval(list.reload, 5_000);
  const items = list.data?.items ?? [];

  const act = async (d: Destination, action: 'pause' | 'resume') => {
    await api.post(`/api/destinations/${enc(d.id)}/${action}`);
    list.reload();
  };

  return (
    <>
      <PageHeader title="Destinations" />
      <p className="muted">
        Receivers (<span className="mono">host:port</span>) that have failed. After many failures in a row one
        is paused: its steps wait in the queue, and one probe after a cool-down decides whether it is healthy
        again.
      </p>
      <ErrorBanner error={list.error} />
      {list.loading && !list.data && <Loading />}
      {list.data && items.length === 0 && <Empty>No destination has failed.</Empty>}
      {items.length > 0 && (
        <table className="table" aria-label="Destinations">
          <thead>
            <tr>
              <th>Destination</th>
              <th>State</th>
              <th>Failures in a row</th>
              <th>Failure rate (1 h)</th>
              <th>Waiting steps</th>
              <th>Last success</th>
              <th>Last error</th>
              {can('write') && <th />}
            </tr>
          </thead>
          <tbody>
            {items.map((d) => (
              <tr key={d.id} data-testid={`destination-${d.host}`}>
                <td className="mono">{d.host}</td>
                <td>
                  <StatusBadge status={d.state} />
                  {d.state === 'paused' && (
                    <div className="muted mono-small">
                      {d.pausedBy === 'hand' ? 'by hand' : `probe at ${formatTime(d.pausedUntil)}`}
                    </div>
                  )}
                </td>
                <td>{d.consecutiveFailures}</td>
                <td>{d.failureRate === null ? '—' : formatPercent(d.failureRate)}</td>
                <td data-testid="waiting-steps">{d.waitingSteps}</td>
                <td title={formatTime(d.lastSuccessAt)}>
                  {d.lastSuccessAt ? formatAgo(d.lastSuccessAt) : '—'}
                </td>
                <td>
                  {d.lastError ? (
                    <span title={formatTime(d.lastFailureAt)}>
                      <span className="mono-small">
                        {d.lastError.code}
                        {d.lastError.status ? ` ${d.lastError.status}` : ''}
                      </span>{' '}
                      {d.lastError.message}
                    </span>
                  ) : (
                    '—'
                  )}
                </td>
                {can('write') && (
                  <td>
                    {d.state === 'healthy' ? (
                      <ActionButton onClick={() => act(d, 'pause')} testId="pause">
                        Pause
                      </ActionButton>
                    ) : (
                      <ActionButton onClick={() => act(d, 'resume')} kind="primary" testId="resume">
                        Resume
                      </ActionButton>
                    )}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
