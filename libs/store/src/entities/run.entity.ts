import type { RunStatus } from '@hookflow/flows';
import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'runs' })
export class Run {
  @PrimaryColumn('uuid')
  id: string;

  @Column('uuid', { name: 'flow_id' })
  flowId: string;

  @Column('uuid', { name: 'flow_version_id' })
  flowVersionId: string;

  @Column('uuid', { name: 'event_id', nullable: true })
  eventId: string | null;

  @Column('text')
  status: RunStatus;

  @Column('timestamptz', { name: 'created_at' })
  createdAt: Date;

  @Column('timestamptz', { name: 'started_at', nullable: true })
  startedAt: Date | null;

  @Column('timestamptz', { name: 'finished_at', nullable: true })
  finishedAt: Date | null;

  @Column('uuid', { name: 'origin_run_id', nullable: true })
  originRunId: string | null;

  /** When the run was created or last changed status (the run stream reads changes by it); set by SQL only. */
  @Column({ type: 'timestamptz', name: 'changed_at', nullable: true, insert: false, update: false })
  changedAt: Date | null;
}
