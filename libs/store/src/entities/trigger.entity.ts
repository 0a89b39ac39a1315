import { Column, Entity, PrimaryColumn } from 'typeorm';

/** The public door of a flow: `/hooks/<key>`, with an unguessable, rotatable key. */
@Entity({ name: 'triggers' })
export class Trigger {
  @PrimaryColumn('uuid')
  id: string;

  @Column('uuid', { name: 'flow_id' })
  flowId: string;

  @Column('text')
  key: string;

  @Column('timestamptz', { name: 'created_at' })
  createdAt: Date;

  @Column('timestamptz', { name: 'rotated_at', nullable: true })
  rotatedAt: Date | null;
}
