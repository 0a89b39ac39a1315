import type { DataSource } from 'typeorm';

/** The item keys a polling flow keeps: the latest this many, older ones forgotten. */
export const POLL_KEYS_KEPT = 10_000;

/** A polling trigger's memory per flow: whether it polled before, and the item keys it has seen. */
export class PollRepository {
  constructor(private readonly ds: DataSource) {}

  /** Counts a poll; true when it is the flow's first (no poll recorded before). */
  async countPoll(flowId: string, at: Date): Promise<boolean> {
    const rows: { first: boolean }[] = await this.ds.query(
      `INSERT INTO poll_states AS p (flow_id, polls, first_polled_at, last_polled_at) VALUES ($1, 1, $2, $2)
       ON CONFLICT (flow_id) DO UPDATE SET polls = p.polls + 1, last_polled_at = excluded.last_polled_at
       RETURNING p.polls = 1 AS first`,
      [flowId, at],
    );
    return rows[0].first;
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

  /** Records keys as seen, in order, and forgets the oldest past `kept`. */
  async remember(flowId: string, keys: string[], at: Date, kept = POLL_KEYS_KEPT): Promise<void> {
    if (keys.length === 0) return;
    await this.ds.query(
      `INSERT INTO poll_keys (flow_id, key, seen_at)
       SELECT $1, k, $3 FROM unnest($2::text[]) WITH ORDINALITY AS u(k, n) ORDER BY n
       ON CONFLICT (flow_id, key) DO NOTHING`,
      [flowId, keys, at],
    );
    await this.ds.query(
      `DELETE FROM poll_keys WHERE flow_id = $1 AND seq <= (
         SELECT seq FROM poll_keys WHERE flow_id = $1 ORDER BY seq DESC OFFSET $2 LIMIT 1)`,
      [flowId, kept],
    );
  }
}
