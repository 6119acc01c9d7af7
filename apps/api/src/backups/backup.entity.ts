import type { BackupKind, BackupState, BackupTrigger } from '@oblako/contracts';
import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

const bigintNumber = { to: (v: number) => v, from: (v: string | null) => Number(v ?? 0) };

/**
 * One backup of a server on a backup store: the file `<basePath>/<serverId>/<id>.qcow2` there. Kept when the server
 * is deleted (no foreign key on `server_id`; its name is kept with it).
 */
@Entity({ name: 'backups' })
export class BackupEntity {
  @PrimaryColumn('uuid') id: string;
  @Column({ name: 'tenant_id', type: 'uuid' }) tenantId: string;
  @Column({ name: 'server_id', type: 'uuid' }) serverId: string;
  @Column({ name: 'server_name', type: 'text' }) serverName: string;
  @Column({ name: 'store_id', type: 'uuid' }) storeId: string;
  @Column({ name: 'node_id', type: 'uuid', nullable: true }) nodeId: string | null;
  @Column({ name: 'task_id', type: 'uuid', nullable: true }) taskId: string | null;
  @Column({ type: 'text' }) state: BackupState;
  @Column({ type: 'text' }) kind: BackupKind;
  /** An incremental's parent (the backup whose checkpoint it holds the changes since); null for a full one. */
  @Column({ name: 'parent_id', type: 'uuid', nullable: true }) parentId: string | null;
  /** Why a full backup started a new chain where an incremental could have followed (null otherwise). */
  @Column({ name: 'full_reason', type: 'text', nullable: true }) fullReason: string | null;
  @Column({ type: 'text' }) trigger: BackupTrigger;
  @Column({ name: 'size_bytes', type: 'bigint', transformer: bigintNumber }) sizeBytes: number;
  /** The disk's size as the guest saw it (a plan for a restore into a new server needs at least this disk). */
  @Column({ name: 'virtual_size_bytes', type: 'bigint', transformer: bigintNumber }) virtualSizeBytes: number;
  @Column({ name: 'bytes_moved', type: 'bigint', transformer: bigintNumber }) bytesMoved: number;
  @Column({ type: 'text', nullable: true }) sha256: string | null;
  @Column({ name: 'duration_ms', type: 'integer', nullable: true }) durationMs: number | null;
  @Column({ type: 'text', nullable: true }) error: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true }) finishedAt: Date | null;
}
