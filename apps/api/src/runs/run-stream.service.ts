import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { RunQueries, type RunChange } from '@hookflow/store';
import type { ServerResponse } from 'node:http';
import { AppError, ErrorCode } from '../common/app-error';

/** How often the poller reads the runs changed since its last read, while a stream is open. */
export const POLL_MS = 500;
/** A comment line this often keeps proxies from closing a quiet stream. */
export const HEARTBEAT_MS = 15_000;
/** What an EventSource waits before it reconnects (the stream's `retry:` hint). */
const RETRY_MS = 3_000;
/** Open streams per API process; more answer 503. */
export const MAX_STREAMS = 200;
/** Bytes a stream may have waiting for a slow client; beyond, the client is dropped, not buffered for. */
const MAX_PENDING_BYTES = 256 * 1024;
/**
 * A change is written with `clock_timestamp()` in a transaction that commits a moment later, so
 * each read starts this far before the last one's time and skips what it already sent.
 */
const OVERLAP_US = 5_000_000;
/** Rows a read takes at a time, and reads per poll: beyond, the poller falls behind and catches up. */
const PAGE = 500;
const PAGES_PER_POLL = 4;

interface Stream {
  res: ServerResponse;
  flow: string | undefined;
}

/**
 * `GET /api/runs/stream`: one poller per API process reads the runs changed since its last read
 * (`runs_changed`) and writes each change to every open stream that wants it. Nothing runs while
 * no stream is open, and writers (ingress, the worker) do nothing for it but set `changed_at`.
 */
@Injectable()
export class RunStream implements OnModuleDestroy {
  private readonly logger = new Logger(RunStream.name);
  private readonly streams = new Set<Stream>();
  /** Where the next read starts (database clock, microseconds), once the poller runs. */
  private watermarkUs: number | undefined;
  /** Where a poller that fell behind goes on: right after the last change it read (no overlap, or it reads the same page again). */
  private resume: { us: number; id: string } | undefined;
  /** Changes already sent that a read may see again: `id|changedUs` and its time. */
  private readonly sent = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private starting: Promise<void> | undefined;
  private polling = false;
  /** Counts starts of the poller, so that a read from before a stop changes nothing after it. */
  private generation = 0;
  private closed = false;
  maxStreams = MAX_STREAMS;

  constructor(private readonly runs: RunQueries) {}

  get open(): number {
    return this.streams.size;
  }

  /** Refuses a stream beyond the bound, or while stopping (503), before anything is written. */
  async admit(): Promise<void> {
    if (this.closed) throw new AppError(ErrorCode.Unavailable, 'the API is stopping');
    if (this.streams.size >= this.maxStreams) {
      throw new AppError(
        ErrorCode.Unavailable,
        `this API process already serves ${this.maxStreams} run streams; try again later or another replica`,
      );
    }
    // The first stream starts the poller, whose first read fixes where changes start: a change
    // made after the stream's headers arrive is never missed.
    // A failed start is not kept: the next stream tries again.
    this.starting ??= this.start().catch((err: unknown) => {
      this.starting = undefined;
      throw err;
    });
    await this.starting;
  }

  /** Serves `res` until the client goes or the API stops. */
  attach(res: ServerResponse, flow: string | undefined): void {
    // A client that left while its request was checked sent its 'close' already: it would be kept forever.
    if (res.destroyed || res.writableEnded) {
      // After the streams admitted with it attach (this turn of the event loop), not before.
      setImmediate(() => {
        if (this.streams.size === 0) this.stop();
      });
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
    });
    const stream: Stream = { res, flow };
    this.streams.add(stream);
    res.on('close', () => this.detach(stream));
    this.write(stream, `retry: ${RETRY_MS}\n: open\n\n`);
  }

  onModuleDestroy(): void {
    this.closed = true;
    for (const stream of this.streams) stream.res.end();
    this.streams.clear();
    this.stop();
  }

  private detach(stream: Stream): void {
    this.streams.delete(stream);
    if (this.streams.size === 0) this.stop();
  }

  private async start(): Promise<void> {
    const generation = ++this.generation;
    const clock = await this.runs.clockUs();
    if (generation !== this.generation) return;
    this.watermarkUs = clock;
    this.timer = setInterval(() => void this.poll(), POLL_MS);
    this.heartbeat = setInterval(() => this.broadcast(': ping\n\n'), HEARTBEAT_MS);
  }

  private stop(): void {
    this.generation++;
    clearInterval(this.timer);
    clearInterval(this.heartbeat);
    this.timer = this.heartbeat = this.starting = this.watermarkUs = this.resume = undefined;
    this.sent.clear();
  }

  private async poll(): Promise<void> {
    if (this.polling || this.watermarkUs === undefined) return;
    this.polling = true;
    const generation = this.generation;
    try {
      const pollUs = await this.runs.clockUs();
      let after = this.resume?.us ?? this.watermarkUs - OVERLAP_US;
      let afterId: string | null = this.resume?.id ?? null;
      let complete = false;
      for (let page = 0; page < PAGES_PER_POLL; page++) {
        const changes = await this.runs.changesSince(after, afterId, PAGE);
        if (generation !== this.generation) return;
        for (const change of changes) this.send(change);
        if (changes.length < PAGE) {
          complete = true;
          break;
        }
        const last = changes[changes.length - 1];
        after = last.changedUs;
        afterId = last.id;
      }
      // The poller may have stopped meanwhile (the last stream left).
      if (generation !== this.generation) return;
      if (complete) {
        this.watermarkUs = pollUs;
        this.resume = undefined;
      } else {
        this.resume = { us: after, id: afterId! };
      }
      // No later read starts before the resume point, nor before this poll's time less the overlap.
      const oldest = Math.min(this.resume?.us ?? pollUs, pollUs - OVERLAP_US);
      for (const [key, us] of this.sent) if (us < oldest) this.sent.delete(key);
    } catch (err) {
      this.logger.warn(`run stream: reading changes failed: ${(err as Error).message}`);
    } finally {
      this.polling = false;
    }
  }

  private send(change: RunChange): void {
    const key = `${change.id}|${change.changedUs}`;
    if (this.sent.has(key)) return;
    this.sent.set(key, change.changedUs);
    const data = JSON.stringify({
      id: change.id,
      flow: change.flow,
      status: change.status,
      createdAt: change.createdAt,
      startedAt: change.startedAt,
      finishedAt: change.finishedAt,
    });
    const frame = `event: run\ndata: ${data}\n\n`;
    for (const stream of this.streams) {
      if (stream.flow === undefined || stream.flow === change.flow) this.write(stream, frame);
    }
  }

  private broadcast(frame: string): void {
    for (const stream of this.streams) this.write(stream, frame);
  }

  /** Writes, or drops a client that does not keep up. */
  private write(stream: Stream, frame: string): void {
    if (stream.res.writableLength > MAX_PENDING_BYTES) {
      this.logger.warn('run stream: a client did not keep up and was dropped');
      stream.res.destroy();
      this.detach(stream);
      return;
    }
    stream.res.write(frame);
  }
}
