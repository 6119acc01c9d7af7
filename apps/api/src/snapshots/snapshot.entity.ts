import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/** One snapshot of a server: an internal qcow2 snapshot in its overlay on `nodeId` (libvirt name `s-<id>`). */
@Entity({ name: 'server_snapshots' })
export class SnapshotEntity {
  @PrimaryColumn('uuid') id: string;
  @Column({ name: 'tenant_id', type: 'uuid' }) tenantId: string;
  @Column({ name: 'server_id', type: 'uuid' }) serverId: string;
  @Column({ name: 'node_id', type: 'uuid' }) nodeId: string;
  @Column({ type: 'varchar', length: 120 }) name: string;
  @Column({ type: 'varchar', length: 16 }) state: 'creating' | 'ready' | 'deleting';
  @Column({ name: 'with_memory', type: 'boolean' }) withMemory: boolean;
  /** bigint comes back from pg as a string */
  @Column({ name: 'size_bytes', type: 'bigint', transformer: { to: (v: number) => v, from: (v: string | null) => Number(v ?? 0) } }) sizeBytes: number;
  /** Whole GiB added to the node's used disk for it (given back when it is deleted). */
  @Column({ name: 'reserved_gib', type: 'integer' }) reservedGiB: number;
  @Column({ name: 'expires_at', type: 'timestamptz', nullable: true }) expiresAt: Date | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
}
