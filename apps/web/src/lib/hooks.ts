import { useCallback, useEffect, useRef, useState } from 'react';
import { api } from './api';
import type { Page } from './types';

export interface Loaded<T> {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
  reload: () => void;
}

/**
 * GETs `path` (null: nothing yet) and again on reload; the last answer stays shown while reloading.
 * An answer for another path is not shown unless `keepPrevious` (a moving window of the same view).
 */
export function useApi<T>(path: string | null, keepPrevious = false): Loaded<T> {
  const [answer, setAnswer] = useState<{ path: string; data?: T; error?: Error }>();
  const [loading, setLoading] = useState(path !== null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (path === null) return;
    let live = true;
    setLoading(true);
    api.get<T>(path).then(
      (d) => {
        if (!live) return;
        setAnswer({ path, data: d });
        setLoading(false);
      },
      (e: Error) => {
        if (!live) return;
        // A failed reload keeps the data it had.
        setAnswer((prev) => ({
          path,
          data: prev && (keepPrevious || prev.path === path) ? prev.data : undefined,
          error: e,
        }));
        setLoading(false);
      },
    );
    return () => {
      live = false;
    };
  }, [path, tick, keepPrevious]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  // Another flow's or run's answer must not show (or be acted on) as this one's: /flows/a -> /flows/b.
  const current = answer && (keepPrevious || answer.path === path) ? answer : undefined;
  return { data: current?.data, error: current?.error, loading, reload };
}

/**
 * A cursor-paged list: the first page of `pathOf(null)`, each page "Load more" asks for appended.
 * `restart` goes back to the first page (a refresh, a new filter).
 */
export function usePagedList<T>(pathOf: (cursor: string | null) => string) {
  const [cursor, setCursor] = useState<string | null>(null);
  const [items, setItems] = useState<T[]>([]);
  const page = useApi<Page<T>>(pathOf(cursor));
  useEffect(() => {
    if (page.data) setItems((prev) => (cursor ? [...prev, ...page.data!.items] : page.data!.items));
  }, [page.data, cursor]);
  const nextCursor = page.data?.nextCursor ?? null;
  return {
    items,
    error: page.error,
    loading: page.loading,
    nextCursor,
    loadMore: () => setCursor(nextCursor),
    restart: () => {
      setCursor(null);
      page.reload();
    },
  };
}

export interface RunChange {
  id: string;
  flow: string;
  status: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export type StreamState = 'connecting' | 'live' | 'down';

/**
 * Run changes as the server streams them (Server-Sent Events); EventSource reconnects by itself.
 * `flow` null: no stream (yet); undefined: every flow's runs. `onReconnect`: the stream came back
 * after a break, in which changes went unheard.
 */
export function useRunStream(
  flow: string | undefined | null,
  onChange: (change: RunChange) => void,
  onReconnect?: () => void,
): StreamState {
  const handler = useRef(onChange);
  handler.current = onChange;
  const reconnected = useRef(onReconnect);
  reconnected.current = onReconnect;
  const [state, setState] = useState<StreamState>('connecting');
  useEffect(() => {
    if (flow === null) return;
    const url = `/api/runs/stream${flow ? `?flow=${encodeURIComponent(flow)}` : ''}`;
    const source = new EventSource(url, { withCredentials: true });
    setState('connecting');
    const listener = (e: MessageEvent) => {
      try {
        handler.current(JSON.parse(e.data as string) as RunChange);
      } catch {
        // A line that is not a run change is ignored.
      }
    };
    source.addEventListener('run', listener);
    let opened = false;
    source.onopen = () => {
      setState('live');
      // Changes made while the stream was away were not heard: the page reads again.
      if (opened) reconnected.current?.();
      opened = true;
    };
    // CONNECTING after an error: EventSource retries; CLOSED: it gave up (the session ended, say).
    source.onerror = () => setState(source.readyState === EventSource.CLOSED ? 'down' : 'connecting');
    return () => source.close();
  }, [flow]);
  return state;
}

/** Calls `fn` every `ms` while the page is visible. */
export function useInterval(fn: () => void, ms: number): void {
  const saved = useRef(fn);
  saved.current = fn;
  useEffect(() => {
    const id = setInterval(() => {
      if (document.visibilityState === 'visible') saved.current();
    }, ms);
    return () => clearInterval(id);
  }, [ms]);
}
