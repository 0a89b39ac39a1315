import { within } from './within';

export type ProbeResult = 'ok' | 'unavailable';

export interface Readiness {
  ok: boolean;
  /** The body of `GET /health/ready` (API and worker): no reasons for an unauthenticated caller. */
  body: { status: 'ok' | 'unavailable'; database: ProbeResult; queue: ProbeResult };
}

/** How long each probe may take: a store that does not answer is not ready. */
export const READINESS_TIMEOUT_MS = 2000;

/** Probes database and queue side by side, each within `timeoutMs` (a queue client may hold commands). */
export async function readiness(
  probes: { database: () => Promise<unknown>; queue: () => Promise<unknown> },
  warn: (line: string) => void,
  timeoutMs = READINESS_TIMEOUT_MS,
): Promise<Readiness> {
  const probe = async (name: string, run: () => Promise<unknown>): Promise<ProbeResult> => {
    try {
      await within(Promise.resolve().then(run), timeoutMs);
      return 'ok';
    } catch (err) {
      warn(`${name} not ready: ${(err as Error).message}`);
      return 'unavailable';
    }
  };
  const [database, queue] = await Promise.all([
    probe('database', probes.database),
    probe('queue', probes.queue),
  ]);
  const ok = database === 'ok' && queue === 'ok';
  return { ok, body: { status: ok ? 'ok' : 'unavailable', database, queue } };
}
