import { useCallback, useMemo, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { FlowGraph } from '../components/FlowGraph';
import { FlowJsonEditor, type EditorIssue } from '../components/FlowJsonEditor';
import { ActionButton, ErrorBanner, JsonBlock, Loading, PageHeader, StatusBadge } from '../components/ui';
import { api, ApiError, enc, query } from '../lib/api';
import { stepIdOfRow } from '../lib/flow-graph';
import type { DryRun, DryRunStep, FlowView, InspectedEvent } from '../lib/flow-types';
import { formatTime } from '../lib/format';
import { useApi } from '../lib/hooks';
import { useCan } from '../lib/session';
import type { Page, RunDetail } from '../lib/types';

const NEW_FLOW = `${JSON.stringify(
  {
    slug: 'my-flow',
    name: 'My flow',
    trigger: { type: 'webhook' },
    steps: [{ id: 'shape', type: 'transform', expression: '{ "received": $ }' }],
  },
  null,
  2,
)}\n`;

function parseOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The flow editor: `/flows/:slug/edit` for a saved flow, `/new-flow` for a new one. */
export function FlowEditor() {
  const { slug } = useParams();
  const flow = useApi<FlowView>(slug ? `/api/flows/${enc(slug)}` : null);
  // The export is the canonical file (fixed key order), as a flow file would read.
  const canonical = useApi<unknown>(slug ? `/api/flows/${enc(slug)}/export` : null);
  if (slug && (flow.error || canonical.error)) return <ErrorBanner error={flow.error ?? canonical.error} />;
  if (slug && (!flow.data || canonical.data === undefined)) return <Loading />;
  return (
    <Editor
      key={slug ?? ''}
      flow={slug ? flow.data : undefined}
      definition={slug ? canonical.data : undefined}
    />
  );
}

function Editor({ flow, definition }: { flow?: FlowView; definition?: unknown }) {
  const can = useCan();
  const navigate = useNavigate();
  const fileOwned = !!flow && flow.source !== 'api';
  const readOnly = !can('write') || fileOwned;
  const initial = useMemo(
    () => (definition !== undefined ? `${JSON.stringify(definition, null, 2)}\n` : NEW_FLOW),
    [definition],
  );
  const [text, setText] = useState(initial);
  const [issues, setIssues] = useState<EditorIssue[]>([]);
  const [saveError, setSaveError] = useState<unknown>();
  const doc = useMemo(() => parseOrUndefined(text), [text]);
  const [lastGood, setLastGood] = useState<unknown>(() => parseOrUndefined(initial));
  if (doc !== undefined && doc !== lastGood) setLastGood(doc);

  const validate = useCallback(async (definition: unknown): Promise<EditorIssue[]> => {
    try {
      const answer = await api.post<{ warnings: { path: string; message: string }[] }>(
        '/api/flows/validate',
        definition,
      );
      return answer.warnings.map((w) => ({ ...w, severity: 'warning' as const }));
    } catch (err) {
      if (err instanceof ApiError && err.details.length > 0) {
        return err.details.map((d) => ({ path: d.path, message: d.message, severity: 'error' as const }));
      }
      throw err;
    }
  }, []);

  const save = async () => {
    setSaveError(undefined);
    const definition = parseOrUndefined(text);
    if (definition === undefined) throw new Error('The definition is not valid JSON.');
    try {
      const saved = flow
        ? await api.put<FlowView>(`/api/flows/${enc(flow.slug)}`, definition)
        : await api.post<FlowView>('/api/flows', definition);
      navigate(`/flows/${enc(saved.slug)}`);
    } catch (err) {
      setSaveError(err);
    }
  };

  const errors = issues.filter((i) => i.severity === 'error');
  return (
    <>
      <PageHeader title={flow ? <>Edit {flow.name || flow.slug}</> : 'New flow'}>
        {flow && (
          <Link className="btn" to={`/flows/${enc(flow.slug)}`}>
            Back to the flow
          </Link>
        )}
        {!readOnly && (
          <ActionButton kind="primary" onClick={save}>
            {flow ? 'Save' : 'Create'}
          </ActionButton>
        )}
      </PageHeader>
      {fileOwned && (
        <div className="notice" role="note">
          This flow is owned by the flow file <code>{flow!.source}</code>: it is read-only here. Change the
          file instead.
        </div>
      )}
      {!fileOwned && !can('write') && (
        <div className="notice" role="note">
          Your key may only read: the definition is read-only.
        </div>
      )}
      <ErrorBanner error={saveError} />
      <div className="editor-layout">
        <div className="editor-main">
          <FlowJsonEditor
            initial={initial}
            readOnly={readOnly}
            validate={can('write') ? validate : null}
            onChange={setText}
            onIssues={setIssues}
          />
          <div className="issues" aria-label="Problems" data-testid="editor-issues">
            {issues.length === 0 ? (
              <span className="muted small">{can('write') ? 'No problems found.' : ''}</span>
            ) : (
              <ul>
                {issues.map((i, n) => (
                  <li key={n} className={`issue issue-${i.severity}`}>
                    <span className={`badge badge-${i.severity === 'error' ? 'failed' : 'retrying'}`}>
                      {i.severity}
                    </span>{' '}
                    {i.line !== undefined && <span className="muted">line {i.line} </span>}
                    {i.path && <code>{i.path}</code>} {i.message}
                  </li>
                ))}
              </ul>
            )}
            {errors.length > 0 && !readOnly && (
              <div className="muted small">Saving is refused while the definition has errors.</div>
            )}
          </div>
        </div>
        <div className="editor-side">
          {can('write') ? (
            <TestPanel definition={lastGood} slug={flow?.slug} />
          ) : (
            <FlowGraph definition={lastGood} height={380} />
          )}
        </div>
      </div>
    </>
  );
}

interface Sample {
  body: string;
  headers?: Record<string, unknown>;
  query?: Record<string, unknown>;
  method?: string;
  from?: string;
}

/** Statuses per graph node from a dry run; a loop's step shows its worst item. */
function statusesOf(steps: DryRunStep[]): Record<string, string> {
  const out: Record<string, string> = {};
  const rank = ['failed', 'succeeded', 'filtered', 'skipped'];
  const put = (id: string, status: string) => {
    const had = out[id];
    if (
      !had ||
      (rank.indexOf(status) !== -1 && (rank.indexOf(had) === -1 || rank.indexOf(status) < rank.indexOf(had)))
    )
      out[id] = status;
  };
  for (const s of steps) {
    put(s.id, s.status);
    for (const item of s.items ?? [])
      for (const inner of item.steps) put(stepIdOfRow(inner.id), inner.status);
  }
  return out;
}

function findStep(
  steps: DryRunStep[],
  id: string,
): { step?: DryRunStep; items: { index: number; step: DryRunStep }[] } {
  const items: { index: number; step: DryRunStep }[] = [];
  let step: DryRunStep | undefined;
  for (const s of steps) {
    if (s.id === id) step = s;
    for (const item of s.items ?? [])
      for (const inner of item.steps)
        if (stepIdOfRow(inner.id) === id) items.push({ index: item.index, step: inner });
  }
  return { step, items };
}

function TestPanel({ definition, slug }: { definition: unknown; slug?: string }) {
  const [sample, setSample] = useState<Sample>({ body: '{\n  "total": 120\n}' });
  const [result, setResult] = useState<DryRun>();
  const [error, setError] = useState<unknown>();
  const [selected, setSelected] = useState<string>();
  const events = useApi<Page<InspectedEvent>>(
    slug ? `/api/flows/${enc(slug)}/events${query({ accepted: 'true', limit: 20 })}` : null,
  );

  const pickEvent = async (id: string) => {
    const event = events.data?.items.find((e) => e.id === id);
    if (!event) return;
    if (event.runId) {
      const run = await api.get<RunDetail>(`/api/runs/${event.runId}`);
      const e = run.event;
      setSample({
        body: JSON.stringify(e?.body ?? null, null, 2),
        headers: e?.headers,
        query: e?.query,
        method:
          e && /^[A-Z]+$/.test(e.method) && !['MANUAL', 'SCHEDULE', 'POLL'].includes(e.method)
            ? e.method
            : undefined,
        from: `${event.method} at ${formatTime(event.receivedAt)}`,
      });
    } else {
      setSample({
        body: event.bodyPreview ?? 'null',
        from: `${event.method} at ${formatTime(event.receivedAt)}`,
      });
    }
  };

  const runTest = async () => {
    setError(undefined);
    let body: unknown;
    try {
      body = JSON.parse(sample.body);
    } catch {
      throw new ApiError(400, 'invalid_json', 'The sample payload is not valid JSON.', [
        { path: '/body', message: 'is not JSON' },
      ]);
    }
    if (definition === undefined) throw new Error('The definition is not valid JSON.');
    const trigger = (definition as { trigger?: { type?: string } }).trigger?.type;
    try {
      const answer = await api.post<DryRun>('/api/flows/test', {
        definition,
        body,
        ...(sample.headers ? { headers: sample.headers } : {}),
        ...(sample.query ? { query: sample.query } : {}),
        ...(sample.method && trigger === 'webhook' ? { method: sample.method } : {}),
      });
      setResult(answer);
      setSelected((s) => s ?? answer.steps[0]?.id);
    } catch (err) {
      setResult(undefined);
      setError(err);
    }
  };

  const statuses = useMemo(() => (result ? statusesOf(result.steps) : undefined), [result]);
  const picked = result && selected ? findStep(result.steps, selected) : undefined;

  return (
    <div className="test-panel">
      <h2>Test it</h2>
      <div className="filters">
        {slug && (
          <div className="field">
            <label htmlFor="past-event">Past request</label>
            <select id="past-event" value="" onChange={(e) => void pickEvent(e.target.value).catch(setError)}>
              <option value="">
                {events.data?.items.length ? 'Use a past request…' : 'No past requests'}
              </option>
              {events.data?.items.map((e) => (
                <option key={e.id} value={e.id}>
                  {e.method} {formatTime(e.receivedAt)} ({e.bodyBytes} bytes)
                </option>
              ))}
            </select>
          </div>
        )}
      </div>
      <label htmlFor="sample-body">Sample payload (JSON body)</label>
      {sample.from && <span className="muted small"> from {sample.from}, with its headers and query</span>}
      <textarea
        id="sample-body"
        className="sample-body"
        rows={6}
        spellCheck={false}
        value={sample.body}
        onChange={(e) => setSample((s) => ({ ...s, body: e.target.value }))}
      />
      <div className="test-actions">
        <ActionButton kind="primary" onClick={runTest}>
          Run test
        </ActionButton>
        {result && (
          <span>
            Dry run: <StatusBadge status={result.status} />{' '}
            <span className="muted small">nothing was sent or stored</span>
          </span>
        )}
      </div>
      <ErrorBanner error={error} />
      <FlowGraph
        definition={definition}
        statuses={statuses}
        selected={selected}
        onSelect={setSelected}
        height={340}
      />
      {result && (
        <table className="table dry-steps" aria-label="Dry run steps">
          <thead>
            <tr>
              <th>Step</th>
              <th>Status</th>
            </tr>
          </thead>
          <tbody>
            {result.steps.map((s) => (
              <tr
                key={s.id}
                className={`clickable${selected === s.id ? ' selected' : ''}`}
                onClick={() => setSelected(s.id)}
              >
                <td>
                  {s.id} <span className="muted">{s.type}</span>
                </td>
                <td>
                  <StatusBadge status={s.status} />
                  {s.routes && <span className="muted small"> → {s.routes.join(', ') || 'no path'}</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {picked && (
        <div className="step-detail" data-testid="dry-step-detail">
          <h3>
            {selected} {picked.step && <StatusBadge status={picked.step.status} />}
          </h3>
          {picked.step && <StepIo step={picked.step} />}
          {picked.items.map(({ index, step }) => (
            <div key={`${index}-${step.id}`} className="loop-item">
              <h3>
                item {index} <StatusBadge status={step.status} />
              </h3>
              <StepIo step={step} />
            </div>
          ))}
        </div>
      )}
    </div>
  );
}

function StepIo({ step }: { step: DryRunStep }) {
  return (
    <>
      {step.error && (
        <div className="error-banner" role="alert">
          <strong>{step.error.code}:</strong> {step.error.message}
        </div>
      )}
      <div className="io-grid">
        <JsonBlock label="Input" value={step.input} testId={`dry-input-${step.id}`} />
        <JsonBlock label="Output" value={step.output} testId={`dry-output-${step.id}`} />
      </div>
      {step.request !== undefined && step.request !== null && (
        <JsonBlock label="Request it would send" value={step.request} />
      )}
      {step.logs && step.logs.length > 0 && <JsonBlock label="Logs" value={step.logs.join('\n')} />}
    </>
  );
}
