import type { DataSource } from 'typeorm';

/** The item keys a polling flow keeps: the latest this many, older ones forgotten. */
export const POLL_KEYS_KEPT = 10_000;

/** A poll that may go on: whether the flow counts as never polled (no poll yet, or its request changed). */
export type PollClaim = { claimed: false } | { claimed: true; first: boolean };

/** A polling trigger's memory per flow: one poll at a time, whether it polled before, the keys it has seen. */
export class PollRepository {
  constructor(private readonly ds: DataSource) {}

  /**
   * Takes the flow's poll lease until `leaseMs` from now, unless a poll holds it: polls of one flow
   * never overlap, across workers. `fingerprint` names the request, items and key the poll uses.
   */
  async claim(flowId: string, fingerprint: string, leaseMs: number): Promise<PollClaim> {
    const rows: { polls: string; fingerprint: string | null }[] = await this.ds.query(
      `INSERT INTO poll_states AS p (flow_id, busy_until) VALUES ($1, now() + $2 * interval '1 millisecond')
       ON CONFLICT (flow_id) DO UPDATE SET busy_until = excluded.busy_until
         WHERE p.busy_until IS NULL OR p.busy_until < now()
       RETURNING p.polls, p.fingerprint`,
      [flowId, leaseMs],
    );
    if (rows.length === 0) return { claimed: false };
    return { claimed: true, first: Number(rows[0].polls) === 0 || rows[0].fingerprint !== fingerprint };
  }

  /** Which of `keys` the flow has seen. */
  async seen(flowId: string, keys: string[]): Promise<Set<string>> {
    if (keys.length === 0) return new Set();
    const rows: { key: string }[] = await this.ds.query(
      `SELECT key FROM poll_keys WHERE flow_id = $1 AND key = ANY($2::text[])`,
      [flowId, keys],
    );
    return new Set(rows.map((r) => r.key));
  }

  /**
   * Ends a poll that got an answer, in one transaction: its keys (oldest first) become the newest
   * seen, those past `kept` are forgotten, the poll is counted under its fingerprint, the lease let go.
   */
  async finish(
    flowId: string,
    fingerprint: string,
    keys: string[],
    at: Date,
    kept = POLL_KEYS_KEPT,
  ): Promise<void> {
    await this.ds.transaction(async (m) => {
      if (keys.length > 0) {
        // A key still listed moves up, so only keys gone from the answers are ever forgotten.
        await m.query(
          `INSERT INTO poll_keys (flow_id, key, seen_at)
           SELECT $1, k, $3 FROM unnest($2::text[]) WITH ORDINALITY AS u(k, n) ORDER BY n
           ON CONFLICT (flow_id, key) DO UPDATE SET seq = DEFAULT, seen_at = excluded.seen_at`,
          [flowId, keys, at],
        );
        await m.query(
          `DELETE FROM poll_keys WHERE flow_id = $1 AND seq <= (
             SELECT seq FROM poll_keys WHERE flow_id = $1 ORDER BY seq DESC OFFSET $2 LIMIT 1)`,
          [flowId, kept],
        );
      }
      await m.query(
        `UPDATE poll_states SET polls = polls + 1, fingerprint = $2, busy_until = NULL, last_polled_at = $3
          WHERE flow_id = $1`,
        [flowId, fingerprint, at],
      );
    });
  }

  /** Lets the lease go after a poll that failed: nothing is remembered. */
  async release(flowId: string): Promise<void> {
    await this.ds.query(`UPDATE poll_states SET busy_until = NULL WHERE flow_id = $1`, [flowId]);
  }
}
