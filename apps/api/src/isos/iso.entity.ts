import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** An ISO of the provider's library: nodes fetch it from `url` once and check it against `sha256`. */
@Entity('isos')
export class IsoEntity {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ type: 'varchar', length: 120 }) name: string;
  @Column({ type: 'text' }) url: string;
  @Column({ type: 'char', length: 64 }) sha256: string;
  @Column({ type: 'boolean' }) active: boolean;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
}
