import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import type { RespondSignal } from '@hookflow/flows';
import { HOOKFLOW_CONFIG, type HookflowConfig } from '@hookflow/platform';
import { answerMessage, readAnswerMessage, type AnswerMessage } from '../answers/answer-message';
import {
  PostgresAnswers,
  RedisAnswers,
  pgAnswerChannel,
  type AnswerTransport,
} from '../answers/answer-transports';
import { connectionErrorLog } from '../connection-errors';

/** What the API's side hears. */
export interface AnswerEvents {
  heard(message: AnswerMessage): void;
  /** Messages may go unheard from now until `back`. */
  lost(reason: string): void;
  back(): void;
}

/**
 * Carries respond steps' answers from the workers to the API replicas: Redis pub/sub with
 * REDIS_URL, PostgreSQL LISTEN/NOTIFY without (docs/architecture.md, The respond step).
 */
@Injectable()
export class AnswerChannel implements OnApplicationShutdown {
  private readonly logger = new Logger(AnswerChannel.name);
  private readonly transport: AnswerTransport;
  private readonly sendFailed = connectionErrorLog('answer channel', (line) => this.logger.warn(line));

  constructor(@Inject(HOOKFLOW_CONFIG) config: HookflowConfig) {
    this.transport = config.redisUrl
      ? new RedisAnswers(config.redisUrl, `${config.queuePrefix}:answers`)
      : new PostgresAnswers(config.databaseUrl, pgAnswerChannel(config.queuePrefix));
  }

  /** Whether messages are heard now (the API waits for answers only then). */
  get listening(): boolean {
    return this.transport.listening;
  }

  /** Tells the API replicas what a step's end means for the run's sender; never throws nor waits. */
  publish(runId: string, signal: RespondSignal, output: unknown): void {
    this.transport.send(answerMessage(runId, signal, output)).catch((err: Error) => this.sendFailed(err));
  }

  /** Starts hearing messages (one subscription per process). */
  async listen(events: AnswerEvents): Promise<void> {
    await this.transport.listen({
      heard: (text) => {
        const message = readAnswerMessage(text);
        if (message) events.heard(message);
      },
      lost: (reason) => {
        this.logger.warn(
          `answer channel lost (${reason}); requests waiting for a respond step get the default answer`,
        );
        events.lost(reason);
      },
      back: () => {
        this.logger.log('answer channel is back');
        events.back();
      },
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.transport.close();
  }
}
