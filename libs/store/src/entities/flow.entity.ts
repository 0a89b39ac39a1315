import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'flows' })
export class Flow {
  @PrimaryColumn('uuid')
  id: string;

  @Column('text')
  slug: string;

  @Column('text', { nullable: true })
  name: string | null;

  @Column('text', { nullable: true })
  description: string | null;

  @Column('boolean')
  enabled: boolean;

  @Column('integer', { name: 'current_version' })
  currentVersion: number;

  /** `api`, or the path of the flow file that owns this flow. */
  @Column('text')
  source: string;

  @Column('timestamptz', { name: 'created_at' })
  createdAt: Date;

  @Column('timestamptz', { name: 'updated_at' })
  updatedAt: Date;

  /** Deleted flows keep their row so runs and events stay readable; their trigger answers 404. */
  @Column('timestamptz', { name: 'deleted_at', nullable: true })
  deletedAt: Date | null;
}
