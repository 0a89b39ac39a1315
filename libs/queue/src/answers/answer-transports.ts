import { setTimeout as delay } from 'node:timers/promises';
import { createHash } from 'node:crypto';
import { PgChannelListener } from '@hookflow/platform';
import { Redis } from 'ioredis';
import { Pool } from 'pg';

/** What an app's side of the channel hears; `lost` and `back` frame a time when messages go unheard. */
export interface TransportEvents {
  heard(text: string): void;
  lost(reason: string): void;
  back(): void;
}

/** One channel shared by every worker and API replica of an installation. */
export interface AnswerTransport {
  /** Rejects when the message could not be handed over. */
  send(text: string): Promise<void>;
  listen(events: TransportEvents): Promise<void>;
  readonly listening: boolean;
  close(): Promise<void>;
}

/** The longest channel name PostgreSQL takes (NAMEDATALEN - 1). */
const MAX_PG_CHANNEL = 63;

/** `<prefix>_answers`, or a hash of it when that is too long for PostgreSQL. */
export function pgAnswerChannel(prefix: string): string {
  const name = `${prefix}_answers`;
  if (name.length <= MAX_PG_CHANNEL) return name;
  return `hookflow_answers_${createHash('sha256').update(prefix).digest('hex').slice(0, 32)}`;
}

/** How long a start waits for the subscription before going on without it (requests get the default answer). */
const START_WAIT_MS = 2_000;

/** Redis pub/sub on `<prefix>:answers`: a publisher that fails fast, a subscriber that resubscribes. */
export class RedisAnswers implements AnswerTransport {
  private publisher: Redis | undefined;
  /** The publisher's first connection, which every send waits for once. */
  private publisherReady: Promise<void> | undefined;
  private subscriber: Redis | undefined;
  private subscribed = false;

  constructor(
    private readonly url: string,
    private readonly channel: string,
  ) {}

  get listening(): boolean {
    return this.subscribed && this.subscriber?.status === 'ready';
  }

  async send(text: string): Promise<void> {
    // Fails at once while Redis is away instead of piling messages up: their senders time out.
    if (!this.publisher) {
      this.publisher = this.client({ enableOfflineQueue: false, maxRetriesPerRequest: 1 });
      this.publisherReady = this.publisher.connect().catch(() => undefined);
    }
    await this.publisherReady;
    await this.publisher.publish(this.channel, text);
  }

  async listen(events: TransportEvents): Promise<void> {
    const subscriber = this.client({ autoResubscribe: false, maxRetriesPerRequest: null });
    this.subscriber = subscriber;
    let wasLost = false;
    subscriber.on('message', (_channel: string, text: string) => events.heard(text));
    subscriber.on('close', () => {
      if (!this.subscribed) return;
      this.subscribed = false;
      wasLost = true;
      events.lost('Redis connection closed');
    });
    // After every (re)connect: subscribe again, since messages sent meanwhile went unheard.
    subscriber.on('ready', () => {
      subscriber
        .subscribe(this.channel)
        .then(() => {
          this.subscribed = true;
          if (wasLost) events.back();
        })
        .catch(() => undefined);
    });
    const first = subscriber
      .connect()
      .then(() => subscriber.subscribe(this.channel))
      .then(
        () => void (this.subscribed = true),
        // Redis down at start: the client keeps trying, and `ready` subscribes once it is back.
        () => void (wasLost = true),
      );
    // A Redis that takes connections but never answers must not hold the app's start: go on unheard.
    const waited = await Promise.race([
      first.then(() => true),
      delay(START_WAIT_MS, undefined, { ref: false }).then(() => false),
    ]);
    if (!waited) wasLost = true;
  }

  async close(): Promise<void> {
    this.subscribed = false;
    for (const client of [this.publisher, this.subscriber]) client?.disconnect();
  }

  private client(options: Record<string, unknown>): Redis {
    const client = new Redis(this.url, { lazyConnect: true, connectTimeout: 2_000, ...options });
    // Errors reach the calls that fail; without a listener ioredis also prints each one.
    client.on('error', () => undefined);
    return client;
  }
}

/** PostgreSQL NOTIFY on a pool of its own, LISTEN on a connection of its own. */
export class PostgresAnswers implements AnswerTransport {
  private pool: Pool | undefined;
  private listener: PgChannelListener | undefined;

  constructor(
    private readonly url: string,
    private readonly channel: string,
  ) {}

  get listening(): boolean {
    return this.listener?.listening ?? false;
  }

  async send(text: string): Promise<void> {
    this.pool ??= this.newPool();
    await this.pool.query('SELECT pg_notify($1, $2)', [this.channel, text]);
  }

  async listen(events: TransportEvents): Promise<void> {
    this.listener = new PgChannelListener({ url: this.url }, this.channel, events);
    await this.listener.start();
  }

  async close(): Promise<void> {
    await Promise.all([this.listener?.close(), this.pool?.end().catch(() => undefined)]);
  }

  private newPool(): Pool {
    const pool = new Pool({ connectionString: this.url, max: 2, connectionTimeoutMillis: 2_000 });
    pool.on('error', () => undefined);
    return pool;
  }
}
