import { Client } from 'pg';
import { FLOW_CHANGES_CHANNEL } from '../repositories/flow.repository';

const RECONNECT_FIRST_DELAY_MS = 500;
const RECONNECT_MAX_DELAY_MS = 10_000;

/** What a `FlowChangeListener` reports. */
export interface FlowChangeEvents {
  /** Flows changed, on this replica or another (`FlowRepository.announceChange`). */
  changed(): void;
  /** The connection is gone: changes go unheard until `back`. */
  lost(reason: string): void;
  /** Listening again; changes made meanwhile went unheard. */
  back(): void;
}

/** Hears flow changes on its own connection (LISTEN is per session); reconnects with a growing pause. */
export class FlowChangeListener {
  private client: Client | null = null;
  private closing = false;

  constructor(
    private readonly database: { url: string; schema: string },
    private readonly events: FlowChangeEvents,
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
    const client = new Client({
      connectionString: this.database.url,
      options: `-c search_path=${this.database.schema}`,
    });
    client.on('notification', () => this.events.changed());
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
    await client.query(`LISTEN ${FLOW_CHANGES_CHANNEL}`);
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
