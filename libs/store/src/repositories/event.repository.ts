import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { decodeCursor, encodeCursor } from './cursor';
import { InvalidCursorError } from './runs/run-sql';
import { toJsonb } from './jsonb';

/** A request a trigger refused, kept for the inspector with the reason. */
export interface RefusedRequest {
  flowId: string;
  method: string;
  headers: Record<string, string | string[]>;
  query: Record<string, unknown>;
  rawBody: Buffer | null;
  contentType: string | null;
  sourceIp: string | null;
  receivedAt: Date;
  statusCode: number;
  reason: string;
  /** The run a duplicate was answered with (dedupe), for the inspector. */
  runId?: string | null;
}

export interface InspectedEvent {
  id: string;
  method: string;
  headers: Record<string, string | string[]>;
  query: Record<string, unknown>;
  bodyPreview: string | null;
  bodyBytes: number;
  contentType: string | null;
  sourceIp: string | null;
  receivedAt: Date;
  statusCode: number;
  accepted: boolean;
  reason: string | null;
  runId: string | null;
}

/** A stored request as a replay reads it: what was kept of it, body included. */
export interface StoredRequest
  extends
    Pick<RefusedRequest, 'method' | 'headers' | 'query' | 'rawBody' | 'contentType' | 'sourceIp'>,
    Pick<InspectedEvent, 'id' | 'accepted' | 'reason' | 'runId'> {}

/** How much of a refused body is kept: enough to see what was sent, not enough to fill the disk. */
export const REFUSED_BODY_BYTES = 4096;
/** Refused requests kept per flow; older ones are dropped so a flood cannot grow the table without bound. */
export const REFUSED_PER_FLOW = 1000;
/** Refusals recorded per flow and second by one API process; the rest are counted only. */
export const REFUSED_PER_SECOND = 20;
const PREVIEW_CHARS = 1024;

/** The inbound inspector: what reached each trigger, newest first. */
export class EventRepository {
  /** Refusals recorded per flow since its last trim, so every flow's bound holds whatever the mix. */
  private readonly refusedSinceTrim = new Map<string, number>();

  constructor(private readonly ds: DataSource) {}

  /** Past REFUSED_PER_SECOND per flow and second, refusals are only counted, so a flood writes nothing. */
  private readonly refusalWindow = new Map<string, { second: number; count: number }>();
  droppedRefusals = 0;

  async recordRefused(req: RefusedRequest): Promise<void> {
    const second = Math.floor(Date.now() / 1000);
    const window = this.refusalWindow.get(req.flowId);
    if (window && window.second === second) {
      if (++window.count > REFUSED_PER_SECOND) {
        this.droppedRefusals++;
        return;
      }
    } else {
      if (this.refusalWindow.size > 10_000) this.refusalWindow.clear();
      this.refusalWindow.set(req.flowId, { second, count: 1 });
    }
    await this.ds.query(
      `INSERT INTO events (id, flow_id, method, headers, query, body, raw_body, content_type, source_ip,
                           received_at, status_code, accepted, reason, run_id)
       VALUES ($1, $2, $3, $4, $5, NULL, $6, $7, $8, $9, $10, false, $11, $12)`,
      [
        randomUUID(),
        req.flowId,
        req.method,
        toJsonb(req.headers),
        toJsonb(req.query),
        req.rawBody && req.rawBody.length > 0 ? req.rawBody.subarray(0, REFUSED_BODY_BYTES) : null,
        req.contentType,
        req.sourceIp,
        req.receivedAt,
        req.statusCode,
        req.reason,
        req.runId ?? null,
      ],
    );
    // Trimming every insert would double the cost of a flood; every 100th keeps the bound loose but real.
    const count = (this.refusedSinceTrim.get(req.flowId) ?? 0) + 1;
    if (count >= 100) {
      this.refusedSinceTrim.delete(req.flowId);
      await this.trimRefused(req.flowId);
    } else {
      if (this.refusedSinceTrim.size > 10_000) this.refusedSinceTrim.clear();
      this.refusedSinceTrim.set(req.flowId, count);
    }
  }

  /** A poll of a poll trigger, for the inspector: not a run's event, bounded per flow with the refusals. */
  async recordPoll(poll: {
    flowId: string;
    receivedAt: Date;
    statusCode: number;
    reason: string;
    summary: unknown;
  }): Promise<void> {
    await this.recordRefused({
      flowId: poll.flowId,
      method: 'POLL',
      headers: {},
      query: {},
      rawBody: Buffer.from(JSON.stringify(poll.summary)),
      contentType: 'application/json',
      sourceIp: null,
      receivedAt: poll.receivedAt,
      statusCode: poll.statusCode,
      reason: poll.reason,
    });
  }

  async trimRefused(flowId: string, keep = REFUSED_PER_FLOW): Promise<void> {
    await this.ds.query(
      `DELETE FROM events WHERE id IN (
         SELECT id FROM events WHERE flow_id = $1 AND accepted = false
          ORDER BY received_at DESC, id DESC OFFSET $2)`,
      [flowId, keep],
    );
  }

  async list(
    flowId: string,
    filter: { accepted?: boolean; limit: number; cursor?: string },
  ): Promise<{ items: InspectedEvent[]; nextCursor: string | null }> {
    const params: unknown[] = [flowId, filter.limit + 1];
    let where = 'flow_id = $1';
    if (filter.accepted !== undefined) {
      params.push(filter.accepted);
      where += ` AND accepted = $${params.length}`;
    }
    if (filter.cursor) {
      const c = decodeCursor(filter.cursor);
      if (!c) throw new InvalidCursorError('cursor is not one this server gave out');
      params.push(c.at, c.id);
      where += ` AND (received_at, id) < ($${params.length - 1}, $${params.length})`;
    }
    const rows: {
      id: string;
      method: string;
      headers: Record<string, string | string[]>;
      query: Record<string, unknown> | null;
      preview: Buffer | null;
      body_bytes: number | null;
      content_type: string | null;
      source_ip: string | null;
      received_at: Date;
      status_code: number;
      accepted: boolean;
      reason: string | null;
      run_id: string | null;
    }[] = await this.ds.query(
      `SELECT id, method, headers, query, substring(raw_body FROM 1 FOR ${PREVIEW_CHARS * 4}) AS preview,
              octet_length(raw_body) AS body_bytes, content_type, source_ip, received_at, status_code,
              accepted, reason, run_id
         FROM events WHERE ${where}
        ORDER BY received_at DESC, id DESC
        LIMIT $2`,
      params,
    );
    const more = rows.length > filter.limit;
    if (more) rows.pop();
    const items = rows.map((r) => ({
      id: r.id,
      method: r.method,
      headers: r.headers,
      query: r.query ?? {},
      bodyPreview: r.preview ? preview(r.preview) : null,
      bodyBytes: r.body_bytes ?? 0,
      contentType: r.content_type,
      sourceIp: r.source_ip,
      receivedAt: r.received_at,
      statusCode: r.status_code,
      accepted: r.accepted,
      reason: r.reason,
      runId: r.run_id,
    }));
    const last = items[items.length - 1];
    return { items, nextCursor: more && last ? encodeCursor(last.receivedAt, last.id) : null };
  }

  /** One request a flow's trigger received, with its stored body; null when the flow has no such event. */
  async findStored(flowId: string, eventId: string): Promise<StoredRequest | null> {
    const rows: {
      id: string;
      method: string;
      headers: Record<string, string | string[]>;
      query: Record<string, unknown> | null;
      raw_body: Buffer | null;
      content_type: string | null;
      source_ip: string | null;
      accepted: boolean;
      reason: string | null;
      run_id: string | null;
    }[] = await this.ds.query(
      `SELECT id, method, headers, query, raw_body, content_type, source_ip, accepted, reason, run_id
         FROM events WHERE flow_id = $1 AND id = $2`,
      [flowId, eventId],
    );
    const r = rows[0];
    if (!r) return null;
    return {
      id: r.id,
      method: r.method,
      headers: r.headers,
      query: r.query ?? {},
      rawBody: r.raw_body,
      contentType: r.content_type,
      sourceIp: r.source_ip,
      accepted: r.accepted,
      reason: r.reason,
      runId: r.run_id,
    };
  }
}

function preview(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  return text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS)}…` : text;
}
