import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { NodeState } from '@oblako/contracts';
import { numericNumber } from '../database/transformers.js';

@Entity('nodes')
export class NodeEntity {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ type: 'varchar', length: 120 }) name: string;
  @Column({ name: 'location_id', type: 'uuid' }) locationId: string;
  @Column({ type: 'varchar' }) state: NodeState;
  @Column({ type: 'integer' }) vcpus: number;
  @Column({ name: 'memory_mib', type: 'integer' }) memoryMiB: number;
  @Column({ name: 'disk_gib', type: 'integer' }) diskGiB: number;
  @Column({ name: 'cpu_overcommit', type: 'numeric', transformer: numericNumber }) cpuOvercommit: number;
  @Column({ name: 'memory_overcommit', type: 'numeric', transformer: numericNumber }) memoryOvercommit: number;
  @Column({ name: 'used_vcpus', type: 'integer' }) usedVcpus: number;
  @Column({ name: 'used_memory_mib', type: 'integer' }) usedMemoryMiB: number;
  @Column({ name: 'used_disk_gib', type: 'integer' }) usedDiskGiB: number;
  @Column({ name: 'nats_user', type: 'varchar' }) natsUser: string;
  @Column({ name: 'last_heartbeat_at', type: 'timestamptz', nullable: true }) lastHeartbeatAt: Date | null;
  @Column({ name: 'daemon_version', type: 'varchar', nullable: true }) daemonVersion: string | null;
  @Column({ type: 'varchar', nullable: true }) hypervisor: string | null;
  /** The daemon's SSH public key for backup stores (its private key stays on the node). */
  @Column({ name: 'backup_public_key', type: 'text', nullable: true }) backupPublicKey: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
}

@Entity('ip_pools')
export class IpPoolEntity {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ name: 'location_id', type: 'uuid' }) locationId: string;
  @Column({ type: 'smallint' }) family: 4 | 6;
  @Column({ type: 'cidr' }) cidr: string;
  @Column({ type: 'inet' }) gateway: string;
  /** Host offsets inside the block that may be handed out (numeric: IPv6 needs more than 64 bits). */
  @Column({ name: 'first_offset', type: 'numeric' }) firstOffset: string;
  @Column({ name: 'last_offset', type: 'numeric' }) lastOffset: string;
  @Column({ type: 'numeric' }) total: string;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
}

@Entity('ip_addresses')
export class IpAddressEntity {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ name: 'pool_id', type: 'uuid' }) poolId: string;
  @Column({ type: 'numeric' }) offset: string;
  @Column({ type: 'inet' }) address: string;
  @Column({ name: 'server_id', type: 'uuid', nullable: true }) serverId: string | null;
  @Column({ name: 'tenant_id', type: 'uuid', nullable: true }) tenantId: string | null;
  @Column({ name: 'reserved_for', type: 'varchar', nullable: true }) reservedFor: string | null;
  @Column({ type: 'varchar', nullable: true }) rdns: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
}
