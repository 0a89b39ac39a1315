import type { FlowDefinition } from '@hookflow/flows';
import { Column, Entity, PrimaryColumn } from 'typeorm';

/** An immutable snapshot of a flow definition; every run pins one. */
@Entity({ name: 'flow_versions' })
export class FlowVersion {
  @PrimaryColumn('uuid')
  id: string;

  @Column('uuid', { name: 'flow_id' })
  flowId: string;

  @Column('integer')
  version: number;

  @Column('jsonb')
  definition: FlowDefinition;

  /** sha256 of the canonical definition: a save that changes nothing makes no new version. */
  @Column('text')
  checksum: string;

  @Column('timestamptz', { name: 'created_at' })
  createdAt: Date;
}
