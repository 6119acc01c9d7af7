import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { BackupStoreKind } from '@oblako/contracts';

/** A backup store off the hypervisors (agreed with the backup engine: columns as in the `backup_stores` contract). */
@Entity({ name: 'backup_stores' })
export class BackupStoreEntity {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ name: 'location_id', type: 'uuid' }) locationId: string;
  @Column({ type: 'text' }) name: string;
  @Column({ type: 'text' }) kind: BackupStoreKind;
  @Column({ type: 'text' }) host: string;
  @Column({ type: 'integer' }) port: number;
  @Column({ type: 'text' }) username: string;
  @Column({ name: 'base_path', type: 'text' }) basePath: string;
  /** One known_hosts line, pinned: `<host or [host]:port> <type> <base64>`. */
  @Column({ name: 'host_key', type: 'text' }) hostKey: string;
  @Column({ type: 'boolean' }) enabled: boolean;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
}
