import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { answerOf, type IngressResponse } from '@hookflow/flows';
import { ApiMetrics, HOOKFLOW_CONFIG, type HookflowConfig, type RespondOutcome } from '@hookflow/platform';
import { AnswerChannel } from '@hookflow/queue';
import { RunQueries } from '@hookflow/store';
import { AnswerWaiters } from './answer-waiters';

/** The respond step a request waits for. */
export interface RespondTarget {
  slug: string;
  respondStep: { id: string; timeoutMs: number };
}

/** Holds accepted requests open for their run's respond step (docs/architecture.md, The respond step). */
@Injectable()
export class RespondWaits implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(RespondWaits.name);
  private readonly waiters: AnswerWaiters;

  constructor(
    private readonly channel: AnswerChannel,
    private readonly runs: RunQueries,
    private readonly metrics: ApiMetrics,
    @Inject(HOOKFLOW_CONFIG) config: HookflowConfig,
  ) {
    this.waiters = new AnswerWaiters(config.respondMaxWaiting);
  }

  async onModuleInit(): Promise<void> {
    await this.channel.listen({
      heard: (message) => this.waiters.settle(message),
      // Messages sent while the channel is away are lost: the waiting senders get the default now.
      lost: () => this.waiters.settleAll(),
      back: () => undefined,
    });
  }

  onApplicationShutdown(): void {
    this.waiters.settleAll();
  }

  /**
   * The answer for the sender of a run just stored, or null for the trigger's default. The wait is
   * registered before this returns: call it before the run's first steps are enqueued.
   */
  answerFor(target: RespondTarget, runId: string, gone?: AbortSignal): Promise<IngressResponse | null> {
    if (!this.channel.listening) return Promise.resolve(this.counted(target, 'unheard', null));
    const waiting = this.waiters.wait(runId, target.respondStep.timeoutMs, gone);
    if (!waiting) return Promise.resolve(this.counted(target, 'busy', null));
    this.metrics.respondWaiting.inc();
    return waiting
      .then(async (end): Promise<IngressResponse | null> => {
        if (end.kind === 'answer') return this.counted(target, 'answered', end.answer);
        if (end.kind === 'gone') return this.counted(target, 'gone', null);
        if (end.kind === 'default') return this.counted(target, end.why, null);
        const answer = answerOf(await this.runs.succeededOutput(runId, target.respondStep.id));
        return this.counted(target, answer ? 'answered' : 'ended', answer);
      })
      .catch((err: Error) => {
        this.logger.warn({ msg: `respond step's answer not read: ${err.message}`, flow: target.slug, runId });
        return this.counted(target, 'unheard', null);
      })
      .finally(() => this.metrics.respondWaiting.dec());
  }

  private counted<T>(target: RespondTarget, outcome: RespondOutcome, answer: T): T {
    this.metrics.respondAnswers.inc({ flow: target.slug, outcome });
    return answer;
  }
}
