import { Column, Entity, PrimaryColumn } from 'typeorm';

/** One request received on a trigger URL, accepted or refused. */
@Entity({ name: 'events' })
export class Event {
  @PrimaryColumn('uuid')
  id: string;

  @Column('uuid', { name: 'flow_id' })
  flowId: string;

  @Column('text')
  method: string;

  @Column('jsonb')
  headers: Record<string, string | string[]>;

  @Column('jsonb')
  query: Record<string, unknown>;

  // json, not jsonb: keys stay in the order the sender wrote them.
  @Column('json', { nullable: true })
  body: unknown;

  @Column('bytea', { name: 'raw_body', nullable: true })
  rawBody: Buffer | null;

  @Column('text', { name: 'content_type', nullable: true })
  contentType: string | null;

  @Column('text', { name: 'source_ip', nullable: true })
  sourceIp: string | null;

  @Column('timestamptz', { name: 'received_at' })
  receivedAt: Date;

  @Column('integer', { name: 'status_code' })
  statusCode: number;

  @Column('boolean')
  accepted: boolean;

  @Column('text', { nullable: true })
  reason: string | null;

  @Column('uuid', { name: 'run_id', nullable: true })
  runId: string | null;
}
