import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import {
  ActionButton,
  Empty,
  ErrorBanner,
  Loading,
  LoadMore,
  PageHeader,
  StatusBadge,
} from '../components/ui';
import { api, query } from '../lib/api';
import { formatAgo, formatDuration, formatTime, runDuration } from '../lib/format';
import { useApi, useRunStream, type RunChange, type StreamState } from '../lib/hooks';
import { useCan } from '../lib/session';
import type { Page, RunStatus, RunSummary } from '../lib/types';

const STATUSES: RunStatus[] = ['queued', 'running', 'succeeded', 'failed', 'filtered', 'cancelled'];
const RETRYABLE = new Set(['failed', 'cancelled']);
const QUICK_RANGES = { '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000 } as const;
type QuickRange = keyof typeof QUICK_RANGES;
const PAGE_SIZE = 50;
// Live additions stop here (a page left open for days); the notice offers the newest instead.
const MAX_LIVE_ROWS = 500;
// Counting before a bulk retry pages through the list; past this the confirmation says "more than".
const COUNT_PAGES = 10;

/** The list's filter as the URL holds it: a filtered view is a link to share. */
interface RunFilter {
  flow?: string;
  status?: string;
  q?: string;
  since?: string;
  until?: string;
}

function resolveFilter(params: URLSearchParams, nowMs: number): RunFilter {
  const range = params.get('range') as QuickRange | null;
  const since =
    range && range in QUICK_RANGES
      ? new Date(nowMs - QUICK_RANGES[range]).toISOString()
      : (params.get('since') ?? undefined);
  return {
    flow: params.get('flow') || undefined,
    status: params.get('status') || undefined,
    q: params.get('q') || undefined,
    since: since || undefined,
    until: range ? undefined : params.get('until') || undefined,
  };
}

/** Whether a run the stream announced belongs in the list (a search's matches cannot be told here). */
function matches(filter: RunFilter, change: RunChange): boolean {
  if (filter.q) return false;
  if (filter.flow && change.flow !== filter.flow) return false;
  if (filter.status && change.status !== filter.status) return false;
  const at = new Date(change.createdAt).getTime();
  if (filter.since && at < new Date(filter.since).getTime()) return false;
  if (filter.until && at >= new Date(filter.until).getTime()) return false;
  return true;
}

// datetime-local inputs speak local time without a zone; the URL and the API speak ISO.
function toLocalInput(iso: string | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const off = d.getTimezoneOffset() * 60_000;
  return new Date(d.getTime() - off).toISOString().slice(0, 16);
}

function fromLocalInput(value: string): string | undefined {
  if (!value) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

export function Runs() {
  const [params, setParams] = useSearchParams();
  const paramsKey = params.toString();
  // A quick range is relative: it is worked out again whenever the URL changes (only then).
  const filter = useMemo(() => resolveFilter(params, Date.now()), [paramsKey]);
  const filterKey = JSON.stringify(filter);
  const can = useCan();
  const flows = useApi<Page<{ slug: string; name?: string }>>('/api/flows?limit=200');

  const [runs, setRuns] = useState<RunSummary[]>([]);
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [loadingMore, setLoadingMore] = useState(false);
  const [error, setError] = useState<unknown>();
  const [retried, setRetried] = useState<string>();
  const [search, setSearch] = useState(filter.q ?? '');
  const [newer, setNewer] = useState(false);
  // Each list load gets a number: an answer for an older filter (or an older load) is dropped.
  const generation = useRef(0);

  useEffect(() => setSearch(filter.q ?? ''), [filter.q]);

  const load = useCallback(() => {
    const mine = ++generation.current;
    const live = () => mine === generation.current;
    setLoading(true);
    setNewer(false);
    api.get<Page<RunSummary>>(`/api/runs${query({ ...filter, limit: PAGE_SIZE })}`).then(
      (page) => {
        if (!live()) return;
        setRuns(page.items);
        setNextCursor(page.nextCursor);
        setError(undefined);
        setLoading(false);
      },
      (e: unknown) => {
        if (!live()) return;
        setRuns([]);
        setNextCursor(null);
        setError(e);
        setLoading(false);
      },
    );
    return () => {
      generation.current++;
    };
  }, [filterKey]);

  useEffect(() => load(), [load]);

  async function loadMore() {
    if (!nextCursor) return;
    const mine = generation.current;
    setLoadingMore(true);
    try {
      const page = await api.get<Page<RunSummary>>(
        `/api/runs${query({ ...filter, limit: PAGE_SIZE, cursor: nextCursor })}`,
      );
      // The filter changed (or the list was read again) meanwhile: this page belongs to another list.
      if (mine !== generation.current) return;
      setRuns((shown) => {
        const ids = new Set(shown.map((r) => r.id));
        return [...shown, ...page.items.filter((r) => !ids.has(r.id))];
      });
      setNextCursor(page.nextCursor);
    } catch (e) {
      if (mine === generation.current) setError(e);
    } finally {
      setLoadingMore(false);
    }
  }

  const stream = useRunStream(
    filter.flow,
    (change) => {
      if (runs.length >= MAX_LIVE_ROWS && matches(filter, change) && !runs.some((r) => r.id === change.id)) {
        setNewer(true);
        return;
      }
      setRuns((shown) => {
        const i = shown.findIndex((r) => r.id === change.id);
        if (i >= 0) {
          const next = [...shown];
          next[i] = { ...shown[i], ...change, status: change.status as RunStatus };
          return next;
        }
        if (!matches(filter, change)) return shown;
        // Older than the last row while more pages follow: it shows up when paging there.
        const oldest = shown[shown.length - 1];
        if (nextCursor && oldest && change.createdAt < oldest.createdAt) return shown;
        const row: RunSummary = { eventId: null, ...change, status: change.status as RunStatus };
        return [row, ...shown].sort((a, b) =>
          a.createdAt === b.createdAt ? b.id.localeCompare(a.id) : b.createdAt.localeCompare(a.createdAt),
        );
      });
    },
    load,
  );

  function update(changes: Record<string, string | undefined>) {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(changes)) {
      if (v) next.set(k, v);
      else next.delete(k);
    }
    setRetried(undefined);
    setParams(next);
  }

  function submitSearch(e: FormEvent) {
    e.preventDefault();
    update({ q: search.trim() || undefined });
  }

  const range = params.get('range') ?? '';
  const filtered = Boolean(filter.flow || filter.status || filter.q || filter.since || filter.until);
  const canBulkRetry = can('write') && filter.status !== undefined && RETRYABLE.has(filter.status);

  async function bulkRetry() {
    setRetried(undefined);
    // The window is closed at the moment of counting, so what is retried is what was counted.
    const until = filter.until ?? new Date().toISOString();
    const body = { flow: filter.flow, status: filter.status, since: filter.since, until, q: filter.q };
    let count = 0;
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Page<RunSummary> = await api.get<Page<RunSummary>>(
        `/api/runs${query({ ...body, limit: 200, cursor })}`,
      );
      count += page.items.length;
      cursor = page.nextCursor;
      pages++;
    } while (cursor && pages < COUNT_PAGES);
    if (count === 0) {
      setRetried(`No ${filter.status} runs to retry.`);
      return;
    }
    const many = cursor ? `more than ${count}` : String(count);
    if (!window.confirm(`Retry ${many} ${filter.status} run${count === 1 ? '' : 's'}?`)) return;
    const res = await api.post<{ count: number }>('/api/runs/retry', stripEmpty(body));
    setRetried(`Retried ${res.count} run${res.count === 1 ? '' : 's'}.`);
    load();
  }

  return (
    <div className="runs-page">
      <PageHeader
        title={
          <>
            Runs <LiveIndicator state={stream} />
          </>
        }
      >
        {canBulkRetry && (
          <ActionButton onClick={bulkRetry} testId="bulk-retry">
            Retry all {filter.status} runs shown by this filter
          </ActionButton>
        )}
      </PageHeader>
      {retried && (
        <div className="notice" role="status" data-testid="bulk-retry-result">
          {retried}
        </div>
      )}

      <div className="filters" role="search">
        <div className="field">
          <label htmlFor="runs-flow">Flow</label>
          <select id="runs-flow" value={filter.flow ?? ''} onChange={(e) => update({ flow: e.target.value })}>
            <option value="">All flows</option>
            {flows.data?.items.map((f) => (
              <option key={f.slug} value={f.slug}>
                {f.name ? `${f.name} (${f.slug})` : f.slug}
              </option>
            ))}
            {filter.flow && flows.data && !flows.data.items.some((f) => f.slug === filter.flow) && (
              <option value={filter.flow}>{filter.flow}</option>
            )}
          </select>
        </div>
        <div className="field">
          <label htmlFor="runs-status">Status</label>
          <select
            id="runs-status"
            value={filter.status ?? ''}
            onChange={(e) => update({ status: e.target.value })}
          >
            <option value="">Any status</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <span className="field-label">Time</span>
          <div className="quick-ranges" role="group" aria-label="Time range">
            {(Object.keys(QUICK_RANGES) as QuickRange[]).map((r) => (
              <button
                key={r}
                type="button"
                className={`btn btn-small ${range === r ? 'btn-primary' : 'btn-secondary'}`}
                aria-pressed={range === r}
                onClick={() =>
                  update({ range: range === r ? undefined : r, since: undefined, until: undefined })
                }
              >
                Last {r.replace('h', ' h').replace('d', ' d')}
              </button>
            ))}
          </div>
        </div>
        <div className="field">
          <label htmlFor="runs-since">Since</label>
          <input
            id="runs-since"
            type="datetime-local"
            value={range ? '' : toLocalInput(filter.since)}
            onChange={(e) => update({ range: undefined, since: fromLocalInput(e.target.value) })}
          />
        </div>
        <div className="field">
          <label htmlFor="runs-until">Until</label>
          <input
            id="runs-until"
            type="datetime-local"
            value={toLocalInput(filter.until)}
            onChange={(e) => update({ range: undefined, until: fromLocalInput(e.target.value) })}
          />
        </div>
        <form className="field field-grow" onSubmit={submitSearch}>
          <label htmlFor="runs-q">Search</label>
          <div className="search-row">
            <input
              id="runs-q"
              type="search"
              placeholder="A value in the payload or a step's output (ord_123)"
              value={search}
              maxLength={1000}
              onChange={(e) => setSearch(e.target.value)}
            />
            <button type="submit" className="btn btn-secondary">
              Search
            </button>
          </div>
        </form>
        {filtered && (
          <button
            type="button"
            className="btn btn-secondary btn-small"
            onClick={() => {
              setRetried(undefined);
              setParams(new URLSearchParams());
            }}
          >
            Clear filters
          </button>
        )}
      </div>
      {filter.q && (
        <p className="muted small">
          Runs whose payload or a step&apos;s output holds the value <code>{filter.q}</code>. New runs are not
          added live to a search; shown runs update.
        </p>
      )}

      {newer && (
        <div className="notice" role="status">
          Newer runs arrived.{' '}
          <button type="button" className="btn btn-secondary btn-small" onClick={load}>
            Show the newest
          </button>
        </div>
      )}
      <ErrorBanner error={error} />
      {loading && runs.length === 0 ? (
        <Loading />
      ) : runs.length === 0 && !error ? (
        <Empty>
          {filtered ? (
            'No runs match this filter.'
          ) : (
            <>
              No runs yet. Runs appear here as <Link to="/flows">flows</Link> receive events.
            </>
          )}
        </Empty>
      ) : (
        <RunTable runs={runs} />
      )}
      {nextCursor && <LoadMore busy={loadingMore} onClick={() => void loadMore()} />}
    </div>
  );
}

function stripEmpty(body: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined && v !== '')) as Record<
    string,
    string
  >;
}

export function LiveIndicator({ state }: { state: StreamState }) {
  const label = state === 'live' ? 'live' : state === 'connecting' ? 'connecting' : 'offline';
  return (
    <span
      className={`live live-${state}`}
      data-testid="live-indicator"
      title={state === 'live' ? 'Updates arrive as runs change' : 'Not receiving updates right now'}
    >
      <span className="live-dot" aria-hidden="true" />
      {label}
    </span>
  );
}

function RunTable({ runs }: { runs: RunSummary[] }) {
  const navigate = useNavigate();
  return (
    <table className="table runs-table" aria-label="Runs">
      <thead>
        <tr>
          <th>Status</th>
          <th>Flow</th>
          <th>Started</th>
          <th>Duration</th>
          <th>Version</th>
          <th>Run</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((run) => (
          <tr
            key={run.id}
            data-run-id={run.id}
            data-testid="run-row"
            className="clickable"
            // The id's link is the keyboard's way in; a click anywhere else on the row opens the run too.
            onClick={(e) => {
              if (!(e.target as HTMLElement).closest('a')) navigate(`/runs/${run.id}`);
            }}
          >
            <td>
              <StatusBadge status={run.status} />
            </td>
            <td>
              <Link to={`/flows/${encodeURIComponent(run.flow)}`}>{run.flow}</Link>
            </td>
            <td title={formatTime(run.startedAt ?? run.createdAt)}>
              {formatAgo(run.startedAt ?? run.createdAt)}
            </td>
            <td>{formatDuration(run.durationMs ?? runDuration(run))}</td>
            <td>{run.version != null ? `v${run.version}` : '—'}</td>
            <td>
              <Link to={`/runs/${run.id}`} className="mono">
                {run.id.slice(0, 8)}
              </Link>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
