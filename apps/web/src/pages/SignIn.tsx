import { useState, type FormEvent } from 'react';
import { useSession } from '../lib/session';

/** Paste an API key once: the server answers with a session cookie the page cannot read. */
export function SignIn({ reason }: { reason?: string }) {
  const { signIn } = useSession();
  const [key, setKey] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await signIn(key.trim());
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="signin">
      <form className="card signin-card" onSubmit={submit}>
        <h1>Hookflow</h1>
        <p>Sign in with an API key. The key is sent once; the browser then keeps a session cookie.</p>
        <p className="muted small">
          Started with <code>npm start</code>? The key is in <code>.data/api-key</code>. Keys made with{' '}
          <code>POST /api/keys</code> (or on the Settings page) work too, with their scope.
        </p>
        {reason && <p className="muted">{reason}</p>}
        <label htmlFor="api-key">API key</label>
        <input
          id="api-key"
          type="password"
          autoComplete="off"
          value={key}
          onChange={(e) => setKey(e.target.value)}
          placeholder="hf_…"
          autoFocus
        />
        {error && (
          <div className="error-banner" role="alert">
            {error}
          </div>
        )}
        <button type="submit" className="btn btn-primary" disabled={busy || key.trim() === ''}>
          Sign in
        </button>
      </form>
    </div>
  );
}
