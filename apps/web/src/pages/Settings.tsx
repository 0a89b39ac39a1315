import { useState, type FormEvent } from 'react';
import { ActionButton, CopyButton, Empty, ErrorBanner, Loading, PageHeader } from '../components/ui';
import { api, enc } from '../lib/api';
import { formatAgo, formatTime } from '../lib/format';
import { useApi } from '../lib/hooks';
import { useCan } from '../lib/session';
import type { Scope } from '../lib/types';

interface SecretItem {
  name: string;
  createdAt: string;
  updatedAt: string;
}

interface KeyItem {
  id: string;
  name: string;
  scope: Scope;
  createdAt: string;
  lastUsedAt: string | null;
}

export function Settings() {
  const can = useCan();
  return (
    <>
      <PageHeader title="Settings" />
      <Secrets />
      {can('admin') && <ApiKeys />}
    </>
  );
}

/** Names only: a secret's value goes in and never comes back out. */
function Secrets() {
  const can = useCan();
  const secrets = useApi<{ items: SecretItem[] }>('/api/secrets');
  const [name, setName] = useState('');
  const [value, setValue] = useState('');
  const [error, setError] = useState<unknown>();

  async function save(e: FormEvent) {
    e.preventDefault();
    setError(undefined);
    try {
      await api.put(`/api/secrets/${enc(name.trim())}`, { value });
      setName('');
      setValue('');
      secrets.reload();
    } catch (err) {
      setError(err);
    }
  }

  return (
    <section className="card settings-section" aria-labelledby="secrets-title">
      <h2 id="secrets-title">Secrets</h2>
      <p className="muted">
        Flows use a secret as <code>{"{{secret 'NAME'}}"}</code>. Values are stored encrypted and never shown
        again; setting a name that exists replaces its value.
      </p>
      <ErrorBanner error={secrets.error} />
      {secrets.loading && !secrets.data ? (
        <Loading />
      ) : secrets.data?.items.length ? (
        <table className="table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Created</th>
              <th>Updated</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {secrets.data.items.map((s) => (
              <tr key={s.name}>
                <td>
                  <code>{s.name}</code>
                </td>
                <td>{formatTime(s.createdAt)}</td>
                <td>{formatAgo(s.updatedAt)}</td>
                <td className="row-actions">
                  {can('write') && (
                    <>
                      <button
                        type="button"
                        className="btn btn-small btn-secondary"
                        onClick={() => setName(s.name)}
                      >
                        Replace
                      </button>{' '}
                      <ActionButton
                        kind="danger"
                        confirm={`Delete the secret ${s.name}? Flows that use it will fail until it is set again.`}
                        onClick={async () => {
                          await api.delete(`/api/secrets/${enc(s.name)}`);
                          secrets.reload();
                        }}
                      >
                        Delete
                      </ActionButton>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <Empty>No secrets yet.</Empty>
      )}
      {can('write') && (
        <form className="inline-form" onSubmit={save} aria-label="Set a secret">
          <div className="field">
            <label htmlFor="secret-name">Name</label>
            <input
              id="secret-name"
              value={name}
              onChange={(e) => setName(e.target.value)}
              placeholder="SLACK_WEBHOOK"
              maxLength={128}
            />
          </div>
          <div className="field grow">
            <label htmlFor="secret-value">Value</label>
            <input
              id="secret-value"
              type="password"
              autoComplete="off"
              value={value}
              onChange={(e) => setValue(e.target.value)}
            />
          </div>
          <button type="submit" className="btn btn-primary" disabled={!name.trim() || !value}>
            Set secret
          </button>
        </form>
      )}
      <ErrorBanner error={error} />
    </section>
  );
}

/** A new key is shown once, right after it is made; the list never shows a key again. */
function ApiKeys() {
  const keys = useApi<{ items: KeyItem[] }>('/api/keys');
  const [name, setName] = useState('');
  const [scope, setScope] = useState<Scope>('read');
  const [created, setCreated] = useState<{ name: string; key: string }>();
  const [error, setError] = useState<unknown>();

  async function create(e: FormEvent) {
    e.preventDefault();
    setError(undefined);
    try {
      const made = await api.post<{ name: string; key: string }>('/api/keys', { name: name.trim(), scope });
      setCreated(made);
      setName('');
      keys.reload();
    } catch (err) {
      setError(err);
    }
  }

  return (
    <section className="card settings-section" aria-labelledby="keys-title">
      <h2 id="keys-title">API keys</h2>
      <p className="muted">
        <code>read</code> sees flows and runs, <code>write</code> also changes them, <code>admin</code> also
        manages keys. The key set in <code>HOOKFLOW_API_KEY</code> is not listed.
      </p>
      {created && (
        <div className="notice notice-stack" role="status" data-testid="new-key">
          <div>
            Key <strong>{created.name}</strong> was created. Copy it now: it is not shown again.
          </div>
          <code className="secret-once">{created.key}</code> <CopyButton text={created.key} />
        </div>
      )}
      <ErrorBanner error={keys.error} />
      {keys.loading && !keys.data ? (
        <Loading />
      ) : keys.data?.items.length ? (
        <table className="table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Scope</th>
              <th>Created</th>
              <th>Last used</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {keys.data.items.map((k) => (
              <tr key={k.id}>
                <td>{k.name}</td>
                <td>
                  <span className="badge">{k.scope}</span>
                </td>
                <td>{formatTime(k.createdAt)}</td>
                <td>{k.lastUsedAt ? formatAgo(k.lastUsedAt) : 'never'}</td>
                <td className="row-actions">
                  <ActionButton
                    kind="danger"
                    confirm={`Revoke the key ${k.name}? Whatever uses it stops working at once.`}
                    onClick={async () => {
                      await api.delete(`/api/keys/${enc(k.id)}`);
                      keys.reload();
                    }}
                  >
                    Revoke
                  </ActionButton>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <Empty>No keys made here yet.</Empty>
      )}
      <form className="inline-form" onSubmit={create} aria-label="Create an API key">
        <div className="field grow">
          <label htmlFor="key-name">Name</label>
          <input id="key-name" value={name} onChange={(e) => setName(e.target.value)} placeholder="ci" />
        </div>
        <div className="field">
          <label htmlFor="key-scope">Scope</label>
          <select id="key-scope" value={scope} onChange={(e) => setScope(e.target.value as Scope)}>
            <option value="read">read</option>
            <option value="write">write</option>
            <option value="admin">admin</option>
          </select>
        </div>
        <button type="submit" className="btn btn-primary" disabled={!name.trim()}>
          Create key
        </button>
      </form>
      <ErrorBanner error={error} />
    </section>
  );
}
