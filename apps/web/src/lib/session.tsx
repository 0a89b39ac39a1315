import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from 'react';
import { api, ApiError, onSignedOut, setCsrfToken } from './api';
import type { Scope, Session } from './types';

type SessionState =
  { kind: 'loading' } | { kind: 'signed-out'; reason?: string } | { kind: 'signed-in'; session: Session };

interface SessionApi {
  state: SessionState;
  signIn(key: string): Promise<void>;
  signOut(): Promise<void>;
}

const SessionContext = createContext<SessionApi | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<SessionState>({ kind: 'loading' });

  const adopt = useCallback((session: Session) => {
    setCsrfToken(session.csrfToken);
    setState({ kind: 'signed-in', session });
  }, []);

  useEffect(() => {
    api.get<Session>('/api/session').then(adopt, () => setState({ kind: 'signed-out' }));
    return onSignedOut(() => {
      setCsrfToken(null);
      setState({ kind: 'signed-out', reason: 'Your session ended. Sign in again.' });
    });
  }, [adopt]);

  const signIn = useCallback(
    async (key: string) => {
      try {
        adopt(await api.post<Session>('/api/session', { key }));
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) throw new Error('That key was not accepted.');
        throw err;
      }
    },
    [adopt],
  );

  const signOut = useCallback(async () => {
    await api.delete('/api/session').catch(() => undefined);
    setCsrfToken(null);
    setState({ kind: 'signed-out' });
  }, []);

  return <SessionContext.Provider value={{ state, signIn, signOut }}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionApi {
  const ctx = useContext(SessionContext);
  if (!ctx) throw new Error('useSession outside SessionProvider');
  return ctx;
}

const RANK: Record<Scope, number> = { read: 0, write: 1, admin: 2 };

/** Whether the signed-in key's scope allows `needed`: pages hide what it may not do. */
export function useCan(): (needed: Scope) => boolean {
  const { state } = useSession();
  return (needed) => state.kind === 'signed-in' && RANK[state.session.scope] >= RANK[needed];
}
