import { Client } from 'pg';

const RECONNECT_FIRST_DELAY_MS = 500;
const RECONNECT_MAX_DELAY_MS = 10_000;

/** What a `PgChannelListener` reports. */
export interface ChannelEvents {
  /** A notification on the channel, with its payload ('' when it has none). */
  heard(payload: string): void;
  /** The connection is gone: notifications go unheard until `back`. */
  lost(reason: string): void;
  /** Listening again; notifications sent meanwhile went unheard. */
  back(): void;
}

/** LISTENs on one PostgreSQL channel on its own connection (LISTEN is per session); reconnects with a growing pause. */
export class PgChannelListener {
  private client: Client | null = null;
  private closing = false;

  constructor(
    private readonly database: { url: string },
    private readonly channel: string,
    private readonly events: ChannelEvents,
  ) {}

  get listening(): boolean {
    return this.client !== null;
  }

  /** Connects and listens; throws when the database cannot be reached. */
  async start(): Promise<void> {
    await this.listen();
  }

  async close(): Promise<void> {
    this.closing = true;
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  private async listen(): Promise<void> {
    const client = new Client({ connectionString: this.database.url });
    client.on('notification', (message) => this.events.heard(message.payload ?? ''));
    const lost = (reason: string) => {
      if (this.client !== client) return;
      this.client = null;
      client.end().catch(() => undefined);
      if (this.closing) return;
      this.events.lost(reason);
      void this.reconnect();
    };
    client.on('error', (err) => lost(err.message));
    client.on('end', () => lost('connection ended'));
    await client.connect();
    await client.query(`LISTEN "${this.channel.replace(/"/g, '""')}"`);
    this.client = client;
  }

  private async reconnect(): Promise<void> {
    for (
      let delayMs = RECONNECT_FIRST_DELAY_MS;
      !this.closing && !this.client;
      delayMs = Math.min(delayMs * 2, RECONNECT_MAX_DELAY_MS)
    ) {
      await new Promise((resolve) => setTimeout(resolve, delayMs).unref());
      try {
        await this.listen();
        this.events.back();
      } catch {
        // Still down: try again after the next pause.
      }
    }
  }
}
