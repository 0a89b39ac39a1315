import { PgChannelListener } from '@hookflow/platform';
import { FLOW_CHANGES_CHANNEL } from '../repositories/flow.repository';

/** What a `FlowChangeListener` reports. */
export interface FlowChangeEvents {
  /** Flows changed, on this replica or another (`FlowRepository.announceChange`). */
  changed(): void;
  /** The connection is gone: changes go unheard until `back`. */
  lost(reason: string): void;
  /** Listening again; changes made meanwhile went unheard. */
  back(): void;
}

/** Hears flow changes on a connection of its own, reconnecting by itself. */
export class FlowChangeListener {
  private readonly listener: PgChannelListener;

  constructor(database: { url: string; schema: string }, events: FlowChangeEvents) {
    this.listener = new PgChannelListener(database, FLOW_CHANGES_CHANNEL, {
      heard: () => events.changed(),
      lost: (reason) => events.lost(reason),
      back: () => events.back(),
    });
  }

  get listening(): boolean {
    return this.listener.listening;
  }

  /** Connects and listens; throws when the database cannot be reached. */
  start(): Promise<void> {
    return this.listener.start();
  }

  close(): Promise<void> {
    return this.listener.close();
  }
}
