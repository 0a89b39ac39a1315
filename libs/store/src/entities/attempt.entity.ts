import type { ExchangeRequest, ExchangeResponse, StepError } from '@hookflow/flows';
import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

export type AttemptOutcome = 'succeeded' | 'filtered' | 'retrying' | 'failed';

/** One try of one step: when, how long, and how it ended. */
@Entity({ name: 'step_attempts' })
export class Attempt {
  @PrimaryGeneratedColumn('increment', { type: 'bigint' })
  id: string;

  @Column('uuid', { name: 'run_id' })
  runId: string;

  @Column('text', { name: 'step_id' })
  stepId: string;

  @Column('integer')
  n: number;

  @Column('timestamptz', { name: 'started_at' })
  startedAt: Date;

  @Column('integer', { name: 'duration_ms' })
  durationMs: number;

  @Column('text')
  outcome: AttemptOutcome;

  @Column('jsonb', { nullable: true })
  error: StepError | null;

  @Column('integer', { name: 'response_status', nullable: true })
  responseStatus: number | null;

  /** A code step's `console.log` lines. */
  @Column('text', { array: true, nullable: true })
  logs: string[] | null;

  /** An action's request as sent: masked and bounded (docs/api.md, attempts). */
  @Column('jsonb', { nullable: true })
  request: ExchangeRequest | null;

  /** The response it got; null when none came back (refused, connection failed, timed out). */
  @Column('jsonb', { nullable: true })
  response: ExchangeResponse | null;

  /** `host:port` of an action's URL, for per-destination figures. */
  @Column('text', { nullable: true })
  destination: string | null;
}
