import { useState, type ReactNode } from 'react';
import { formatDuration, formatTime, prettyBody } from '../lib/format';
import type { AttemptView, RunDetail, StepView } from '../lib/types';
import { JsonBlock, StatusBadge } from './ui';

// Past this many item steps a loop's items start folded.
const OPEN_ITEMS_MAX = 30;

interface Clock {
  startMs: number;
  spanMs: number;
}

/** The run's steps in the API's order (definition order, a loop's items after it), each with a bar on the run's clock. */
export function RunTimeline({ run, nowMs }: { run: RunDetail; nowMs: number }) {
  const startMs = new Date(run.createdAt).getTime();
  const endMs = Math.max(
    run.finishedAt ? new Date(run.finishedAt).getTime() : nowMs,
    ...run.steps.map((s) => (s.finishedAt ? new Date(s.finishedAt).getTime() : 0)),
  );
  const clock: Clock = { startMs, spanMs: Math.max(endMs - startMs, 1) };
  const top = run.steps.filter((s) => typeof s.loop !== 'string');
  const itemsOf = (loop: string) => run.steps.filter((s) => s.loop === loop);

  if (run.steps.length === 0) return <div className="empty">No steps ran.</div>;
  return (
    <div className="timeline" role="list" aria-label="Steps">
      <div className="timeline-head" aria-hidden="true">
        <span>Step</span>
        <span>Status</span>
        <span className="timeline-scale">
          <span>0</span>
          <span>{formatDuration(clock.spanMs)}</span>
        </span>
        <span>Duration</span>
      </div>
      {top.map((step) => (
        <StepRow key={step.id} step={step} clock={clock} nowMs={nowMs} items={itemsOf(step.id)} />
      ))}
    </div>
  );
}

function StepRow({
  step,
  clock,
  nowMs,
  items = [],
  nested = false,
}: {
  step: StepView;
  clock: Clock;
  nowMs: number;
  items?: StepView[];
  nested?: boolean;
}) {
  const [open, setOpen] = useState(step.status === 'failed');
  const [itemsOpen, setItemsOpen] = useState(items.length <= OPEN_ITEMS_MAX);
  const label = nested ? `${String(step.step ?? step.id)} [${String(step.index ?? '?')}]` : step.id;
  const started = step.startedAt ? new Date(step.startedAt).getTime() : null;
  const finished = step.finishedAt ? new Date(step.finishedAt).getTime() : started !== null ? nowMs : null;
  const loopItems = step.items as { count?: number; failed?: number[] } | undefined;
  return (
    <div
      className={`step ${nested ? 'step-nested' : ''}`}
      role="listitem"
      data-step-id={step.id}
      data-testid="step"
    >
      <button
        type="button"
        className="step-row"
        aria-expanded={open}
        onClick={() => setOpen((o) => !o)}
        title={open ? 'Hide details' : 'Show input, output and attempts'}
      >
        <span className="step-name">
          <span className="caret" aria-hidden="true">
            {open ? '▾' : '▸'}
          </span>
          {label}
          {step.attempts.length > 1 && <span className="muted small"> ×{step.attempts.length}</span>}
        </span>
        <span>
          <StatusBadge status={step.status} />
        </span>
        <span className="bar-track">
          {started !== null && finished !== null && (
            <span
              className={`bar bar-${step.status}`}
              style={{
                left: `${((started - clock.startMs) / clock.spanMs) * 100}%`,
                width: `${Math.max(((finished - started) / clock.spanMs) * 100, 0.6)}%`,
              }}
            />
          )}
        </span>
        <span className="step-duration">
          {started !== null && step.finishedAt ? formatDuration(finished! - started) : '—'}
        </span>
      </button>
      {open && <StepDetails step={step} loopItems={loopItems} />}
      {items.length > 0 && (
        <div className="step-items">
          <button
            type="button"
            className="btn btn-small btn-secondary"
            onClick={() => setItemsOpen((o) => !o)}
          >
            {itemsOpen ? 'Hide' : 'Show'} {items.length} item step{items.length === 1 ? '' : 's'}
          </button>
          {itemsOpen &&
            items.map((item) => <StepRow key={item.id} step={item} clock={clock} nowMs={nowMs} nested />)}
        </div>
      )}
    </div>
  );
}

function StepDetails({
  step,
  loopItems,
}: {
  step: StepView;
  loopItems: { count?: number; failed?: number[] } | undefined;
}) {
  return (
    <div className="step-details">
      <dl className="fact-grid">
        <Fact label="Started">{formatTime(step.startedAt)}</Fact>
        <Fact label="Finished">{formatTime(step.finishedAt)}</Fact>
        {step.resumeAt && <Fact label="Resumes at">{formatTime(step.resumeAt)}</Fact>}
        {step.routes && step.routes.length > 0 && <Fact label="Routes taken">{step.routes.join(', ')}</Fact>}
        {loopItems && (
          <Fact label="Items">
            {loopItems.count ?? 0}
            {loopItems.failed && loopItems.failed.length > 0 && (
              <span className="text-bad">
                {' '}
                (failed: item{loopItems.failed.length === 1 ? '' : 's'} {loopItems.failed.join(', ')})
              </span>
            )}
          </Fact>
        )}
      </dl>
      {step.error && (
        <div className="error-banner">
          <strong>{step.error.code}:</strong> {step.error.message}
        </div>
      )}
      <div className="two-cols">
        <JsonBlock label="Input" value={step.input ?? undefined} />
        <JsonBlock label="Output" value={step.output ?? undefined} testId={`output-${step.id}`} />
      </div>
      {/* A loop calls no one itself: its items' steps hold the attempts. */}
      {!(loopItems && step.attempts.length === 0) && (
        <>
          <h4>Attempts</h4>
          {step.attempts.length === 0 ? (
            <div className="muted small">No attempt yet.</div>
          ) : (
            step.attempts.map((a) => <Attempt key={a.n} attempt={a} stepId={step.id} />)
          )}
        </>
      )}
    </div>
  );
}

function Attempt({ attempt, stepId }: { attempt: AttemptView; stepId: string }) {
  const status = attempt.response?.status ?? attempt.responseStatus;
  return (
    <details className="attempt" data-testid={`attempt-${stepId}-${attempt.n}`}>
      <summary>
        <span>Attempt {attempt.n}</span>
        <StatusBadge status={attempt.outcome} />
        {status != null && (
          <span className={`http-status ${status >= 400 ? 'text-bad' : ''}`}>HTTP {status}</span>
        )}
        <span className="muted">{formatDuration(attempt.durationMs)}</span>
        {attempt.destination && <span className="muted mono">{attempt.destination}</span>}
        <span className="muted small">{formatTime(attempt.startedAt)}</span>
      </summary>
      <div className="attempt-body">
        {attempt.error && (
          <div className="error-banner">
            <strong>{attempt.error.code}:</strong> {attempt.error.message}
          </div>
        )}
        {attempt.request && (
          <section aria-label="Request sent">
            <h5>
              Sent <code>{attempt.request.method}</code> <code className="break">{attempt.request.url}</code>
            </h5>
            <Headers headers={attempt.request.headers} />
            <Body
              body={attempt.request.body}
              truncated={attempt.request.bodyTruncated}
              bytes={attempt.request.bodyBytes}
              label="Request body"
            />
          </section>
        )}
        {attempt.response ? (
          <section aria-label="Response received">
            <h5>
              Received <code>HTTP {attempt.response.status}</code>
              {attempt.response.durationMs != null && (
                <span className="muted"> in {formatDuration(attempt.response.durationMs)}</span>
              )}
            </h5>
            <Headers headers={attempt.response.headers} />
            <Body
              body={attempt.response.body}
              truncated={attempt.response.bodyTruncated}
              bytes={attempt.response.bodyBytes}
              label="Response body"
              testId="response-body"
            />
          </section>
        ) : (
          attempt.request && <div className="muted small">No response (the request did not complete).</div>
        )}
        {attempt.logs && attempt.logs.length > 0 && (
          <div className="json-block">
            <div className="json-label">Logs</div>
            <pre>{attempt.logs.join('\n')}</pre>
          </div>
        )}
        {!attempt.request && !attempt.error && !attempt.logs?.length && (
          <div className="muted small">Nothing was sent over HTTP in this attempt.</div>
        )}
      </div>
    </details>
  );
}

function Headers({ headers }: { headers: Record<string, string> }) {
  const entries = Object.entries(headers ?? {});
  if (entries.length === 0) return null;
  return (
    <table className="headers-table">
      <tbody>
        {entries.map(([k, v]) => (
          <tr key={k}>
            <th>{k}</th>
            <td>{v}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Body({
  body,
  truncated,
  bytes,
  label,
  testId,
}: {
  body: string | null;
  truncated?: boolean;
  bytes?: number;
  label: string;
  testId?: string;
}) {
  return (
    <div className="json-block">
      <div className="json-label">
        {label}
        {bytes != null && <span className="muted"> ({bytes} bytes)</span>}
        {truncated && (
          <span className="truncated" title="Only the start of the body was kept">
            truncated
          </span>
        )}
      </div>
      <pre data-testid={testId}>{body ? prettyBody(body) : <span className="muted">(empty)</span>}</pre>
    </div>
  );
}

export function Fact({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="fact">
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}
