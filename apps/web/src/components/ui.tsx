import { useState, type ReactNode } from 'react';
import { ApiError } from '../lib/api';
import { prettyJson } from '../lib/format';

/** A run's, step's or attempt's status as a coloured badge. */
export function StatusBadge({ status }: { status: string }) {
  return (
    <span className={`badge badge-${status}`} data-status={status}>
      {status}
    </span>
  );
}

/** An API error as the server said it, with the fields it names. */
export function ErrorBanner({ error }: { error: unknown }) {
  if (!error) return null;
  const err = error as Error;
  return (
    <div className="error-banner" role="alert">
      <strong>{err instanceof ApiError ? `${err.status} ${err.code}` : 'Error'}:</strong> {err.message}
      {err instanceof ApiError && err.details.length > 0 && (
        <ul>
          {err.details.map((d, i) => (
            <li key={i}>
              <code>{d.path || '/'}</code> {d.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function JsonBlock({ value, label, testId }: { value: unknown; label?: string; testId?: string }) {
  return (
    <div className="json-block">
      {label && <div className="json-label">{label}</div>}
      <pre data-testid={testId}>{value === undefined ? '—' : prettyJson(value)}</pre>
    </div>
  );
}

export function PageHeader({ title, children }: { title: ReactNode; children?: ReactNode }) {
  return (
    <header className="page-header">
      <h1>{title}</h1>
      <div className="page-actions">{children}</div>
    </header>
  );
}

export function Loading() {
  return <div className="loading">Loading…</div>;
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}

/** A button that runs an async action, disabled while it runs, showing its error under it. */
export function ActionButton({
  onClick,
  children,
  kind = 'secondary',
  confirm,
  testId,
}: {
  onClick: () => Promise<unknown>;
  children: ReactNode;
  kind?: 'primary' | 'secondary' | 'danger';
  confirm?: string;
  testId?: string;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  return (
    <span className="action">
      <button
        type="button"
        className={`btn btn-${kind}`}
        disabled={busy}
        data-testid={testId}
        onClick={async () => {
          if (confirm && !window.confirm(confirm)) return;
          setBusy(true);
          setError(undefined);
          try {
            await onClick();
          } catch (e) {
            setError(e);
          } finally {
            setBusy(false);
          }
        }}
      >
        {children}
      </button>
      {error !== undefined && <ErrorBanner error={error} />}
    </span>
  );
}

export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [copied, setCopied] = useState<'Copied' | 'Copy failed: select the text'>();
  return (
    <button
      type="button"
      className="btn btn-secondary btn-small"
      onClick={async () => {
        // Over plain http (not localhost) there is no clipboard: saying "Copied" would lose a key shown once.
        const done = await (
          navigator.clipboard?.writeText(text).then(() => true) ?? Promise.resolve(false)
        ).catch(() => false);
        setCopied(done ? 'Copied' : 'Copy failed: select the text');
        setTimeout(() => setCopied(undefined), done ? 1500 : 4000);
      }}
    >
      {copied ?? label}
    </button>
  );
}

/** The button under a cursor-paged list that asks for its next page. */
export function LoadMore({ onClick, busy = false }: { onClick: () => void; busy?: boolean }) {
  return (
    <div className="load-more">
      <button type="button" className="btn btn-secondary" disabled={busy} onClick={onClick}>
        {busy ? 'Loading…' : 'Load more'}
      </button>
    </div>
  );
}
