import type { StepError, StepStatus } from '@hookflow/flows';
import { Column, Entity, PrimaryColumn } from 'typeorm';

/** The state of one step in one run. Every step of the pinned version gets a row when the run is created. */
@Entity({ name: 'step_runs' })
export class StepRun {
  @PrimaryColumn('uuid', { name: 'run_id' })
  runId: string;

  @PrimaryColumn('text', { name: 'step_id' })
  stepId: string;

  /** Position in the flow definition (a loop item's step: in its loop's steps), for stable ordering. */
  @Column('integer')
  position: number;

  @Column('text')
  status: StepStatus;

  @Column('integer')
  attempts: number;

  /** Attempts made before the latest retry of the run; the retry budget counts from here. */
  @Column('integer', { name: 'attempts_base', default: 0 })
  attemptsBase: number;

  // json, not jsonb: keys stay in the order the step wrote them.
  @Column('json', { nullable: true })
  input: unknown;

  @Column('json', { nullable: true })
  output: unknown;

  /** A router's paths taken. */
  @Column('text', { array: true, nullable: true })
  routes: string[] | null;

  @Column('jsonb', { nullable: true })
  error: StepError | null;

  /** A loop item's step (`each[3].post`): the item's index, and the item (on the item's first row only). */
  @Column('integer', { name: 'item_index', nullable: true })
  itemIndex: number | null;

  @Column('json', { nullable: true })
  item: unknown;

  /** Bytes of `output` as stored, which a loop's end adds up for its items. */
  @Column('integer', { name: 'output_bytes', nullable: true })
  outputBytes: number | null;

  /** Set when the step was handed to the queue; the reconciler re-enqueues stale ones. */
  @Column('timestamptz', { name: 'enqueued_at', nullable: true })
  enqueuedAt: Date | null;

  /** Times the reconciler re-enqueued the step since it was last reopened; bounded (`requeue_limit`). */
  @Column('integer', { default: 0 })
  requeues: number;

  /** Until then, the worker that claimed the running attempt owns it; after it, the step may be claimed again. */
  @Column('timestamptz', { name: 'lease_until', nullable: true })
  leaseUntil: Date | null;

  /** A delay step's resume time: set when it parks (`waiting`), kept after it resumes. */
  @Column('timestamptz', { name: 'resume_at', nullable: true })
  resumeAt: Date | null;

  @Column('timestamptz', { name: 'started_at', nullable: true })
  startedAt: Date | null;

  @Column('timestamptz', { name: 'finished_at', nullable: true })
  finishedAt: Date | null;
}
