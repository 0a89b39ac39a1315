/** Caps for one destination, as a step asks for them (its own `destination` over the defaults). */
export interface DestinationLimit {
  /** Calls in flight at once. */
  concurrency: number;
  /** Calls started per window. */
  rate?: { limit: number; perMs: number };
}

/** A slot to call the destination (release it when the call is over), or how long to stay away. */
export type SlotGrant = { ok: true; release: () => void } | { ok: false; retryInMs: number };

interface DestinationState {
  inFlight: number;
  /** Start times of calls inside the longest rate window seen, oldest first. */
  starts: number[];
  /** Moving average of how long a call holds its slot: how long a refused job should stay away. */
  avgHoldMs: number;
  /** Callers waiting in process for a slot (see `acquire`), first come first served. */
  waiters: (() => void)[];
}

/** Shortest and longest wait of a job refused for lack of a free slot. */
export const MIN_REQUEUE_MS = 50;
export const MAX_REQUEUE_MS = 2_000;
/** Destinations tracked before idle ones are dropped. */
const MAX_TRACKED = 10_000;

/** Per-destination caps (docs/outbound.md); never blocks: a refused caller is told how long to stay away. */
export class DestinationLimiter {
  private readonly destinations = new Map<string, DestinationState>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {}

  tryAcquire(key: string, limit: DestinationLimit): SlotGrant {
    const now = this.now();
    const state = this.destinations.get(key) ?? { inFlight: 0, starts: [], avgHoldMs: 0, waiters: [] };
    this.destinations.set(key, state);
    if (state.inFlight >= limit.concurrency) {
      const typicalMs = Math.max(MIN_REQUEUE_MS * 2, state.avgHoldMs);
      return { ok: false, retryInMs: this.jitter(MIN_REQUEUE_MS, Math.min(MAX_REQUEUE_MS, typicalMs)) };
    }
    if (limit.rate) {
      const { limit: max, perMs } = limit.rate;
      const inWindow = state.starts.filter((t) => t > now - perMs);
      if (inWindow.length >= max) {
        // The window frees a start when its oldest one in the window ages out.
        const freeAt = inWindow[inWindow.length - max] + perMs;
        return { ok: false, retryInMs: this.jitter(Math.max(1, freeAt - now), MIN_REQUEUE_MS * 2) };
      }
      state.starts.push(now);
      // Keep only what the widest window a caller may use could need.
      if (state.starts.length > max * 4) state.starts.splice(0, state.starts.length - max * 4);
    }
    state.inFlight++;
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        state.inFlight--;
        const heldMs = this.now() - now;
        state.avgHoldMs = state.avgHoldMs === 0 ? heldMs : state.avgHoldMs * 0.8 + heldMs * 0.2;
        // The freed slot goes to the longest waiter, synchronously: no one can take it in between.
        const next = state.waiters.shift();
        if (next) next();
        else this.forgetIdle(key, state);
      },
    };
  }

  /** Like `tryAcquire`, but waits up to `maxWaitMs` for a fast destination; slow ones are refused at once. */
  acquire(key: string, limit: DestinationLimit, maxWaitMs: number): Promise<SlotGrant> {
    const first = this.tryAcquire(key, limit);
    if (first.ok || !this.mayWait(key, limit, maxWaitMs)) return Promise.resolve(first);
    const state = this.destinations.get(key)!;
    return new Promise<SlotGrant>((resolve) => {
      const waiter = () => {
        clearTimeout(timer);
        resolve(this.tryAcquire(key, limit));
      };
      const timer = setTimeout(() => {
        const at = state.waiters.indexOf(waiter);
        if (at >= 0) state.waiters.splice(at, 1);
        resolve(this.tryAcquire(key, limit));
      }, maxWaitMs);
      state.waiters.push(waiter);
    });
  }

  /** Whether a caller refused a slot of `key` now would be let wait up to `maxWaitMs` by `acquire`. */
  mayWait(key: string, limit: DestinationLimit, maxWaitMs: number): boolean {
    const state = this.destinations.get(key);
    if (!state || maxWaitMs <= 0) return false;
    // Refused by the rate window, not for a slot: waiting for a slot would not help.
    if (state.inFlight < limit.concurrency) return false;
    if (state.avgHoldMs * 2 > maxWaitMs) return false;
    if (state.avgHoldMs === 0) return state.waiters.length < limit.concurrency;
    return state.avgHoldMs * (1 + (state.waiters.length + 1) / limit.concurrency) <= maxWaitMs;
  }

  /** Calls in flight to `key` right now. */
  inFlight(key: string): number {
    return this.destinations.get(key)?.inFlight ?? 0;
  }

  /** How many destinations are tracked. */
  get size(): number {
    return this.destinations.size;
  }

  private forgetIdle(key: string, state: DestinationState): void {
    // Idle entries keep their timing (it sets how long refused jobs stay away) until the map
    // grows past its bound; then idle ones whose rate window can no longer matter go.
    if (this.destinations.size <= MAX_TRACKED || state.inFlight > 0) return;
    const newest = state.starts[state.starts.length - 1];
    if (newest === undefined || this.now() - newest > 3_600_000) this.destinations.delete(key);
  }

  private jitter(baseMs: number, spreadMs: number): number {
    return Math.round(baseMs + this.random() * spreadMs);
  }
}

/** `host:port` of a URL's origin, lower case, default port filled in; null unless an absolute http(s) URL. */
export function destinationKey(url: unknown): string | null {
  if (typeof url !== 'string') return null;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return null;
  const port = parsed.port || (parsed.protocol === 'https:' ? '443' : '80');
  return `${parsed.hostname.toLowerCase()}:${port}`;
}

const STATIC_ORIGIN = /^(https?:\/\/[^/?#{}\s]+)(?:[/?#]|$)/i;

/** The destination key of a URL template whose origin is written out (no `{{` before the path), else null. */
export function staticDestinationKey(template: unknown): string | null {
  if (typeof template !== 'string') return null;
  const literal = template.split('{{')[0];
  const match = STATIC_ORIGIN.exec(literal);
  if (!match) return null;
  // `https://{{host}}`-style templates stop before the host ends: the literal must reach a delimiter.
  if (literal.length === match[1].length && literal.length < template.length) return null;
  return destinationKey(match[1]);
}
