import { useEffect, useMemo, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { FlowGraph } from '../components/FlowGraph';
import type { StepCounts } from '../lib/flow-types';
import { FlowVersionDiff } from '../components/FlowVersionDiff';
import { ActionButton, CopyButton, ErrorBanner, Loading, PageHeader, StatusBadge } from '../components/ui';
import { api, enc } from '../lib/api';
import type { FlowVersionItem, FlowVersionView, FlowView, StepStatsAnswer } from '../lib/flow-types';
import { formatTime } from '../lib/format';
import { useApi } from '../lib/hooks';
import { useCan } from '../lib/session';

export function FlowPage() {
  const { slug = '' } = useParams();
  const can = useCan();
  const navigate = useNavigate();
  const base = `/api/flows/${enc(slug)}`;
  const flow = useApi<FlowView>(base);
  const stats = useApi<StepStatsAnswer>(`${base}/steps/stats`);
  const [notice, setNotice] = useState<string>();
  // The same page shows another flow (/flows/a -> /flows/b): a's notice is not b's.
  useEffect(() => setNotice(undefined), [slug]);

  const counts = useMemo(
    () => stats.data && Object.fromEntries(stats.data.steps.map((s): [string, StepCounts] => [s.id, s])),
    [stats.data],
  );

  if (flow.error) return <ErrorBanner error={flow.error} />;
  if (!flow.data) return <Loading />;
  const f = flow.data;
  const trigger = f.definition.trigger.type;
  const fileOwned = f.source !== 'api';

  return (
    <>
      <PageHeader
        title={
          <>
            {f.name || f.slug} <StatusBadge status={f.enabled ? 'enabled' : 'disabled'} />{' '}
            <span className="badge">{trigger}</span> <span className="muted small">v{f.version}</span>
          </>
        }
      >
        <Link className="btn" to={`/runs?flow=${enc(f.slug)}`}>
          Runs
        </Link>
        <Link className="btn" to={`/flows/${enc(f.slug)}/events`}>
          Inspector
        </Link>
        <Link className="btn" to={`/flows/${enc(f.slug)}/edit`}>
          {can('write') && !fileOwned ? 'Edit' : 'View definition'}
        </Link>
        {can('write') && (
          <>
            {/* A file-owned flow is enabled in its file; the API refuses the change here. */}
            {!fileOwned && (
              <ActionButton
                onClick={async () => {
                  await api.patch(base, { enabled: !f.enabled });
                  flow.reload();
                }}
              >
                {f.enabled ? 'Disable' : 'Enable'}
              </ActionButton>
            )}
            <ActionButton
              kind="primary"
              onClick={async () => {
                const run = await api.post<{ runId: string }>(`${base}/run`, {});
                navigate(`/runs/${run.runId}`);
              }}
            >
              Run now
            </ActionButton>
          </>
        )}
      </PageHeader>
      {f.description && <p className="muted">{f.description}</p>}
      {fileOwned && (
        <div className="notice">
          Owned by the flow file <code>{f.source}</code>: change the file to change this flow.
        </div>
      )}
      {notice && <div className="notice">{notice}</div>}

      <section className="card flow-trigger">
        {f.triggerUrl ? (
          <div className="trigger-url">
            <span className="muted">Trigger URL</span>
            <code data-testid="trigger-url">{f.triggerUrl}</code>
            <CopyButton text={f.triggerUrl} />
            {can('write') && (
              <ActionButton
                kind="danger"
                confirm="Rotate the trigger URL? The current URL stops working at once."
                onClick={async () => {
                  await api.post(`${base}/trigger/rotate`);
                  setNotice('The trigger URL was rotated: senders need the new one.');
                  flow.reload();
                }}
              >
                Rotate URL
              </ActionButton>
            )}
          </div>
        ) : f.definition.trigger.type === 'event' ? (
          <div data-testid="event-trigger">
            <span className="muted">Starts on</span>{' '}
            {((f.definition.trigger.on as string[] | undefined) ?? []).map((type) => (
              <code key={type} className="badge">
                {type}
              </code>
            ))}{' '}
            <span className="muted">of</span>{' '}
            {((f.definition.trigger.flows as string[] | undefined) ?? ['every flow']).join(', ')}
          </div>
        ) : (
          <div>
            <span className="muted">Next fire times</span>{' '}
            {f.nextFireAt && f.nextFireAt.length > 0 ? (
              <ul className="fire-times">
                {f.nextFireAt.map((t) => (
                  <li key={t}>{formatTime(t)}</li>
                ))}
              </ul>
            ) : (
              <span className="muted">none{f.enabled ? '' : ' while disabled'}</span>
            )}
          </div>
        )}
      </section>

      <h2>Steps</h2>
      <p className="muted small">
        Counts over the last 24 hours{stats.error ? ' are not available' : ''}. Edges follow each step’s
        needs; router paths are labelled.
      </p>
      <FlowGraph definition={f.definition} counts={counts ?? undefined} />

      <h2>Versions</h2>
      <Versions slug={f.slug} current={f.version} />
    </>
  );
}

function Versions({ slug, current }: { slug: string; current: number }) {
  const list = useApi<{ items: FlowVersionItem[] }>(`/api/flows/${enc(slug)}/versions`);
  const [a, setA] = useState<number>();
  const [b, setB] = useState<number>();
  useEffect(() => {
    setB(current);
    setA(current > 1 ? current - 1 : current);
  }, [current]);
  const [texts, setTexts] = useState<{ a: string; b: string }>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    if (a === undefined || b === undefined) return;
    let live = true;
    const text = (v: number) =>
      api
        .get<FlowVersionView>(`/api/flows/${enc(slug)}/versions/${v}`)
        .then((d) => `${JSON.stringify(d.definition, null, 2)}\n`);
    Promise.all([text(a), text(b)]).then(
      ([ta, tb]) => live && (setTexts({ a: ta, b: tb }), setError(undefined)),
      (e) => live && setError(e),
    );
    return () => {
      live = false;
    };
  }, [slug, a, b]);

  if (list.error) return <ErrorBanner error={list.error} />;
  if (!list.data) return <Loading />;
  const items = list.data.items;
  return (
    <div className="versions">
      <table className="table versions-table" aria-label="Versions">
        <thead>
          <tr>
            <th>Version</th>
            <th>Created</th>
            <th>Checksum</th>
            <th>Compare</th>
          </tr>
        </thead>
        <tbody>
          {items.map((v) => (
            <tr key={v.version}>
              <td>
                v{v.version} {v.current && <span className="badge badge-enabled">current</span>}
              </td>
              <td>{formatTime(v.createdAt)}</td>
              <td>
                <code className="mono-small">{v.checksum.slice(0, 12)}</code>
              </td>
              <td className="compare">
                <label>
                  <input
                    type="radio"
                    name="diff-a"
                    checked={a === v.version}
                    onChange={() => setA(v.version)}
                  />{' '}
                  left
                </label>
                <label>
                  <input
                    type="radio"
                    name="diff-b"
                    checked={b === v.version}
                    onChange={() => setB(v.version)}
                  />{' '}
                  right
                </label>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <ErrorBanner error={error} />
      {items.length < 2 && (
        <p className="muted">One version so far: saving a change makes the next, and a diff.</p>
      )}
      {items.length >= 2 && texts && a !== undefined && b !== undefined && (
        <>
          <h3>
            v{a} → v{b}
            {a === b ? <span className="muted"> (the same version: pick two)</span> : null}
          </h3>
          <FlowVersionDiff a={texts.a} b={texts.b} />
        </>
      )}
    </div>
  );
}
