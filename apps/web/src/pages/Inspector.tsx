import { useState } from 'react';
import { Link, useParams, useSearchParams } from 'react-router';
import {
  ActionButton,
  Empty,
  ErrorBanner,
  JsonBlock,
  Loading,
  LoadMore,
  PageHeader,
  StatusBadge,
} from '../components/ui';
import { api, enc, query } from '../lib/api';
import type { InspectedEvent } from '../lib/flow-types';
import { formatTime, prettyBody } from '../lib/format';
import { usePagedList } from '../lib/hooks';
import { useCan } from '../lib/session';

const FILTERS = [
  { value: '', label: 'All requests' },
  { value: 'true', label: 'Accepted' },
  { value: 'false', label: 'Refused' },
];

/** The inbound inspector: every request the flow's trigger received, accepted or refused. */
export function Inspector() {
  const { slug = '' } = useParams();
  const [params, setParams] = useSearchParams();
  const accepted = params.get('accepted') ?? '';
  // The run page links here with ?event=<id>: that request opens selected.
  const [selectedId, setSelectedId] = useState<string | undefined>(params.get('event') ?? undefined);
  const page = usePagedList<InspectedEvent>(
    (cursor) =>
      `/api/flows/${enc(slug)}/events${query({ accepted: accepted || undefined, limit: 50, cursor })}`,
  );
  const events = page.items;
  const selected = events.find((e) => e.id === selectedId);

  return (
    <>
      <PageHeader
        title={
          <>
            Inspector: <Link to={`/flows/${enc(slug)}`}>{slug}</Link>
          </>
        }
      >
        <button type="button" className="btn" onClick={page.restart}>
          Refresh
        </button>
      </PageHeader>
      <div className="filters">
        <div className="field">
          <label htmlFor="accepted-filter">Show</label>
          <select
            id="accepted-filter"
            value={accepted}
            onChange={(e) => {
              page.restart();
              setParams(e.target.value ? { accepted: e.target.value } : {});
            }}
          >
            {FILTERS.map((f) => (
              <option key={f.value} value={f.value}>
                {f.label}
              </option>
            ))}
          </select>
        </div>
      </div>
      <ErrorBanner error={page.error} />
      {page.loading && events.length === 0 && <Loading />}
      {!page.loading && !page.error && events.length === 0 && (
        <Empty>
          No requests{accepted === 'false' ? ' refused' : accepted === 'true' ? ' accepted' : ''} yet.
        </Empty>
      )}
      <div className="inspector">
        {events.length > 0 && (
          <table className="table" aria-label="Received requests">
            <thead>
              <tr>
                <th>Received</th>
                <th>Method</th>
                <th>Status</th>
                <th>Outcome</th>
                <th>Source</th>
                <th>Body</th>
                <th>Run</th>
              </tr>
            </thead>
            <tbody>
              {events.map((e) => (
                <tr
                  key={e.id}
                  className={`clickable${e.id === selectedId ? ' selected' : ''}`}
                  data-testid={`event-row-${e.id}`}
                  onClick={() => setSelectedId(e.id)}
                >
                  <td>
                    {/* The keyboard's way to open a request (a refused one has no run link). */}
                    <button type="button" className="cell-button" aria-pressed={e.id === selectedId}>
                      {formatTime(e.receivedAt)}
                    </button>
                  </td>
                  <td>
                    <code>{e.method}</code>
                  </td>
                  <td>{e.statusCode}</td>
                  <td>
                    <StatusBadge status={e.accepted ? 'accepted' : 'refused'} />
                    {e.reason && <div className="reason">{e.reason}</div>}
                  </td>
                  <td className="muted">{e.sourceIp ?? '—'}</td>
                  <td className="body-preview">
                    <code>{e.bodyPreview ? e.bodyPreview.slice(0, 80) : ''}</code>
                  </td>
                  <td>
                    {e.runId ? (
                      <Link to={`/runs/${e.runId}`} onClick={(ev) => ev.stopPropagation()}>
                        {e.runId.slice(0, 8)}
                      </Link>
                    ) : (
                      '—'
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {page.nextCursor && <LoadMore onClick={page.loadMore} />}
        {selected && <EventDetail key={selected.id} slug={slug} event={selected} />}
      </div>
    </>
  );
}

function EventDetail({ slug, event }: { slug: string; event: InspectedEvent }) {
  const can = useCan();
  const [started, setStarted] = useState<string>();
  return (
    <section className="card event-detail" aria-label="Request">
      <div className="page-header">
        <h2>
          {event.method} {formatTime(event.receivedAt)}{' '}
          <StatusBadge status={event.accepted ? 'accepted' : 'refused'} />
        </h2>
        {can('write') && (event.runId || !event.accepted) && (
          <ActionButton
            kind="primary"
            onClick={async () => {
              const answer = event.runId
                ? await api.post<{ runId: string }>(`/api/runs/${event.runId}/replay`)
                : await api.post<{ runId: string }>(`/api/flows/${enc(slug)}/events/${event.id}/replay`);
              setStarted(answer.runId);
            }}
            confirm={
              event.runId
                ? undefined
                : 'Replay this refused request? It runs as if it had been accepted: its signature is not checked again.'
            }
          >
            Replay this request
          </ActionButton>
        )}
      </div>
      {started && (
        <div className="notice" role="status">
          Started run <Link to={`/runs/${started}`}>{started}</Link>
        </div>
      )}
      <dl className="facts">
        <dt>Status</dt>
        <dd>{event.statusCode}</dd>
        {event.reason && (
          <>
            <dt>Reason</dt>
            <dd>
              <code>{event.reason}</code>
            </dd>
          </>
        )}
        <dt>Source</dt>
        <dd>{event.sourceIp ?? '—'}</dd>
        <dt>Content type</dt>
        <dd>{event.contentType ?? '—'}</dd>
        <dt>Body</dt>
        <dd>{event.bodyBytes} bytes</dd>
        {event.runId && (
          <>
            <dt>Run</dt>
            <dd>
              <Link to={`/runs/${event.runId}`}>{event.runId}</Link>
            </dd>
          </>
        )}
      </dl>
      <div className="io-grid">
        <JsonBlock label="Headers" value={event.headers} />
        <JsonBlock label="Query" value={event.query ?? {}} />
      </div>
      <JsonBlock label="Body" value={event.bodyPreview ? prettyBody(event.bodyPreview) : '(empty)'} />
    </section>
  );
}
