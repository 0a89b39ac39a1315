import { useEffect, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { Fact, RunTimeline } from '../components/RunTimeline';
import {
  ActionButton,
  CopyButton,
  ErrorBanner,
  JsonBlock,
  Loading,
  PageHeader,
  StatusBadge,
} from '../components/ui';
import { api, enc } from '../lib/api';
import { formatDuration, formatTime, runDuration } from '../lib/format';
import { useApi, useInterval, useRunStream } from '../lib/hooks';
import { useCan } from '../lib/session';
import type { RunDetail } from '../lib/types';
import { LiveIndicator } from './Runs';

const FINAL = new Set(['succeeded', 'failed', 'filtered', 'cancelled']);
// Steps move without the run's status changing: while it runs, the page also looks every so often.
const POLL_MS = 2000;

export function RunPage() {
  const { id = '' } = useParams();
  const navigate = useNavigate();
  const can = useCan();
  const { data: run, error, loading, reload } = useApi<RunDetail>(`/api/runs/${enc(id)}`);
  const [answer, setAnswer] = useState<string>();
  const [actionError, setActionError] = useState<unknown>();
  const [nowMs, setNowMs] = useState(() => Date.now());
  const final = run ? FINAL.has(run.status) : true;
  useEffect(() => {
    setAnswer(undefined);
    setActionError(undefined);
  }, [id]);

  // Kept open when final too: a retry from elsewhere (the list's bulk retry, the CLI) shows up here.
  const stream = useRunStream(
    run ? run.flow : null,
    (change) => {
      if (change.id === id) reload();
    },
    reload,
  );
  useInterval(() => {
    if (!run || final) return;
    setNowMs(Date.now());
    reload();
  }, POLL_MS);

  // After a replay the previous run's answer is still held until the new one arrives.
  if (!run || run.id !== id) return error ? <ErrorBanner error={error} /> : <Loading />;

  const duration = run.finishedAt ? runDuration(run) : null;
  // An action's answer or error shows under the header, where the buttons keep their place.
  const act = async (what: () => Promise<string | undefined>) => {
    setAnswer(undefined);
    setActionError(undefined);
    try {
      setAnswer(await what());
    } catch (e) {
      setActionError(e);
    }
    setNowMs(Date.now());
    reload();
  };
  const replay = (version: 'pinned' | 'latest') =>
    act(async () => {
      const res = await api.post<{ runId: string }>(`/api/runs/${enc(id)}/replay?version=${version}`);
      navigate(`/runs/${res.runId}`);
      return undefined;
    });

  return (
    <div className="run-page">
      <PageHeader
        title={
          <>
            Run <span className="mono">{run.id.slice(0, 8)}</span> <StatusBadge status={run.status} />{' '}
            {!final && <LiveIndicator state={stream} />}
          </>
        }
      >
        {can('write') && (run.status === 'failed' || run.status === 'cancelled') && (
          <ActionButton
            kind="primary"
            onClick={() =>
              act(async () => {
                const res = await api.post<{ runId: string; retried: string[] }>(
                  `/api/runs/${enc(id)}/retry`,
                );
                return res.retried.length > 0 ? `Retrying ${res.retried.join(', ')}.` : 'Retried.';
              })
            }
          >
            Retry
          </ActionButton>
        )}
        {/* Replay starts from the stored event: without one the API answers 409. */}
        {can('write') && run.event && (
          <>
            <ActionButton onClick={() => replay('pinned')}>
              Replay{run.version != null ? ` on v${run.version}` : ''}
            </ActionButton>
            <ActionButton onClick={() => replay('latest')}>Replay on latest version</ActionButton>
          </>
        )}
        {can('write') && (run.status === 'queued' || run.status === 'running') && (
          <ActionButton
            kind="danger"
            confirm="Cancel this run? Steps not started yet will not run."
            onClick={() =>
              act(async () => {
                await api.post(`/api/runs/${enc(id)}/cancel`);
                return 'Cancelled.';
              })
            }
          >
            Cancel
          </ActionButton>
        )}
      </PageHeader>
      {answer && (
        <div className="notice" role="status">
          {answer}
        </div>
      )}
      <ErrorBanner error={actionError} />
      {error && !loading && <ErrorBanner error={error} />}

      <dl className="fact-grid card run-facts">
        <Fact label="Flow">
          <Link to={`/flows/${enc(run.flow)}`}>{run.flow}</Link>{' '}
          <Link className="small" to={`/runs?flow=${enc(run.flow)}`}>
            runs
          </Link>
        </Fact>
        <Fact label="Version">{run.version != null ? `v${run.version}` : '—'}</Fact>
        <Fact label="Status">
          <StatusBadge status={run.status} />
        </Fact>
        <Fact label="Created">{formatTime(run.createdAt)}</Fact>
        <Fact label="Finished">{formatTime(run.finishedAt)}</Fact>
        <Fact label="Duration">{run.finishedAt ? formatDuration(duration) : 'still running'}</Fact>
        {run.originRunId && (
          <Fact label="Replay of">
            <Link className="mono" to={`/runs/${run.originRunId}`}>
              {run.originRunId.slice(0, 8)}
            </Link>
          </Fact>
        )}
        <Fact label="Run id">
          <span className="mono small">{run.id}</span> <CopyButton text={run.id} />
        </Fact>
      </dl>

      <h2>Timeline</h2>
      <RunTimeline run={run} nowMs={run.finishedAt ? new Date(run.finishedAt).getTime() : nowMs} />

      <h2>Event</h2>
      {run.event ? (
        <div className="card event-card">
          <dl className="fact-grid">
            <Fact label="Method">
              <code>{run.event.method}</code>
            </Fact>
            <Fact label="Received">{formatTime(run.event.receivedAt)}</Fact>
            {run.event.contentType && <Fact label="Content type">{run.event.contentType}</Fact>}
            {run.event.sourceIp && <Fact label="From">{run.event.sourceIp}</Fact>}
            <Fact label="Inspector">
              <Link to={`/flows/${enc(run.flow)}/events?event=${enc(run.event.id)}`}>
                Open in the flow&apos;s inspector
              </Link>
            </Fact>
          </dl>
          <div className="two-cols">
            <JsonBlock label="Headers" value={run.event.headers} />
            <JsonBlock label="Query" value={run.event.query} />
          </div>
          <JsonBlock label="Body" value={run.event.body} testId="event-body" />
        </div>
      ) : (
        <div className="empty">No stored event (a run started without one).</div>
      )}
    </div>
  );
}
