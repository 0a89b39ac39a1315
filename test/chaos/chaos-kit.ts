import type { SinkRequest, SinkServer } from '../utils/sink-server';
import { waitFor } from '../utils/wait-for';

/** A webhook -> transform -> http POST flow delivering `{ id }` to `sinkUrl`. */
export function deliveryFlow(slug: string, sinkUrl: string): Record<string, unknown> {
  return {
    slug,
    trigger: { type: 'webhook' },
    steps: [
      // Short timeouts keep the claim lease (timeout + 30 s) of a step cut short by a crash short.
      { id: 'shape', type: 'transform', expression: "{ 'id': id, 'flow': $run.flow }", timeout: '1s' },
      {
        id: 'send',
        type: 'action',
        connector: 'http',
        with: { url: sinkUrl, json: '{{input}}' },
        timeout: '3s',
        retry: { attempts: 10, backoff: 'exponential', delay: '200ms', maxDelay: '2s' },
      },
    ],
  };
}

export interface Figures {
  scenario: string;
  sent: number;
  accepted: number;
  refused503: number;
  /** Answers other than 2xx and 503, and requests that got no answer at all. */
  other: number;
  delivered: number;
  /** Deliveries beyond the first, over all webhooks. */
  duplicates: number;
  undelivered: number[];
}

/**
 * What was sent to a trigger and what the receiver got: every webhook carries a numeric `id`, so
 * "accepted" (2xx) and "delivered" (seen by the sink) can be matched one to one.
 */
export class Ledger {
  readonly accepted = new Map<number, string>();
  readonly answers = new Map<string, number>();
  private nextId = 1;

  constructor(
    private readonly url: string,
    private readonly sink: SinkServer,
    private readonly path: string,
  ) {}

  /** Sends one webhook; resolves with its status, or 'none' when no answer came. */
  async send(): Promise<number | 'none'> {
    const id = this.nextId++;
    let status: number | 'none' = 'none';
    let label = 'no answer';
    try {
      const res = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id }),
        signal: AbortSignal.timeout(10_000),
      });
      const body = (await res.json().catch(() => ({}))) as { runId?: string; error?: string };
      status = res.status;
      label = res.status < 300 ? '2xx' : `${res.status}${body.error ? ` ${body.error}` : ''}`;
      if (res.status < 300) this.accepted.set(id, body.runId ?? '');
    } catch {
      // Connection refused or reset: the sender got no answer, so it owns the retry.
    }
    this.answers.set(label, (this.answers.get(label) ?? 0) + 1);
    return status;
  }

  /** Sends `count` webhooks, `parallel` at a time. */
  async sendMany(count: number, parallel: number): Promise<void> {
    let left = count;
    await Promise.all(
      Array.from({ length: parallel }, async () => {
        while (left-- > 0) await this.send();
      }),
    );
  }

  /** Sends continuously, `parallel` at a time, until the returned stop() is awaited. */
  sendUntilStopped(parallel: number): () => Promise<void> {
    let stopped = false;
    const loops = Array.from({ length: parallel }, async () => {
      while (!stopped) {
        const status = await this.send();
        // Refused or unanswered: pace the next try a little, as a sender would.
        if (status === 'none' || status >= 300) await new Promise((resolve) => setTimeout(resolve, 20));
      }
    });
    return async () => {
      stopped = true;
      await Promise.all(loops);
    };
  }

  count(label: string): number {
    return this.answers.get(label) ?? 0;
  }

  /** The sink's requests for this flow, by webhook id. */
  deliveries(): Map<number, SinkRequest[]> {
    const byId = new Map<number, SinkRequest[]>();
    for (const r of this.sink.received(this.path)) {
      const id = (r.json as { id?: number } | undefined)?.id;
      if (typeof id === 'number') byId.set(id, [...(byId.get(id) ?? []), r]);
    }
    return byId;
  }

  undelivered(): number[] {
    const delivered = this.deliveries();
    return [...this.accepted.keys()].filter((id) => !delivered.has(id)).sort((a, b) => a - b);
  }

  /** Waits until the sink has every accepted webhook; `logs` (the apps' output) goes into a failure. */
  async waitAllDelivered(timeoutMs: number, logs: () => string = () => ''): Promise<void> {
    const startedAt = Date.now();
    try {
      await waitFor(() => this.undelivered().length === 0, { timeoutMs, what: 'every accepted webhook' });
    } catch {
      const missing = this.undelivered();
      throw new Error(
        `${missing.length} of ${this.accepted.size} accepted webhooks not delivered after ${Date.now() - startedAt} ms ` +
          `(ids ${missing.slice(0, 20).join(', ')}${missing.length > 20 ? '...' : ''}); the apps said:\n${logs().slice(-6000)}`,
      );
    }
    console.log(
      `[chaos]   every accepted webhook delivered ${Date.now() - startedAt} ms after the wait began`,
    );
  }

  /**
   * Asserts that repeats stay within `bound` over all webhooks and within `perWebhook` deliveries
   * for one, and that every repeat is the same delivery again: the first one's Idempotency-Key,
   * which is its run's (deliveryFlow's action is `send`).
   */
  expectRepeatsAtMost(bound: number, perWebhook = 2): void {
    const deliveries = [...this.deliveries()];
    const repeated = deliveries.filter(([, requests]) => requests.length > 1);
    if (repeated.length > 0)
      console.log(`[chaos]   repeated: ${repeated.map(([id, r]) => `#${id} x${r.length}`).join(', ')}`);
    expect(repeated.reduce((n, [, requests]) => n + requests.length - 1, 0)).toBeLessThanOrEqual(bound);
    expect(repeated.filter(([, requests]) => requests.length > perWebhook).map(([id]) => id)).toEqual([]);
    const keyMismatches = deliveries.filter(([id, requests]) => {
      // A webhook answered 503 whose run was stored nevertheless has no run id here: its first key counts.
      const runId = this.accepted.get(id);
      const key = runId ? `${runId}_send` : requests[0].headers['idempotency-key'];
      return requests.some((r) => r.headers['idempotency-key'] !== key);
    });
    expect(
      keyMismatches.map(([id, requests]) => ({
        id,
        keys: requests.map((r) => r.headers['idempotency-key']),
      })),
    ).toEqual([]);
  }

  /** The figures of a scenario, printed for the closing note. */
  report(scenario: string): Figures {
    const deliveries = this.deliveries();
    const sent = this.nextId - 1;
    const refused503 = [...this.answers].filter(([l]) => l.startsWith('503')).reduce((n, [, c]) => n + c, 0);
    const figures: Figures = {
      scenario,
      sent,
      accepted: this.accepted.size,
      refused503,
      other: sent - this.accepted.size - refused503,
      delivered: [...this.accepted.keys()].filter((id) => deliveries.has(id)).length,
      duplicates: [...deliveries.values()].reduce((n, requests) => n + requests.length - 1, 0),
      undelivered: this.undelivered(),
    };
    const answers = [...this.answers].map(([label, n]) => `${label}: ${n}`).join(', ');
    console.log(
      `[chaos] ${scenario}: sent ${sent}, accepted ${figures.accepted}, delivered ${figures.delivered}, ` +
        `duplicates ${figures.duplicates}, refused with 503 ${refused503} (answers: ${answers})`,
    );
    return figures;
  }
}
