import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A named secret, AES-256-GCM encrypted under the master key; the clear value is never stored. */
@Entity({ name: 'secrets' })
export class Secret {
  @PrimaryColumn('text')
  name: string;

  @Column('bytea')
  iv: Buffer;

  @Column('bytea')
  ciphertext: Buffer;

  @Column('bytea', { name: 'auth_tag' })
  authTag: Buffer;

  @Column('timestamptz', { name: 'created_at' })
  createdAt: Date;

  @Column('timestamptz', { name: 'updated_at' })
  updatedAt: Date;
}
