import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

@Entity('locations')
export class LocationEntity {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ type: 'varchar', length: 32 }) code: string;
  @Column({ type: 'varchar', length: 120 }) name: string;
  @Column({ type: 'char', length: 2 }) country: string;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
}

@Entity('plans')
export class PlanEntity {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ type: 'varchar', length: 120 }) name: string;
  @Column({ type: 'integer' }) vcpus: number;
  @Column({ name: 'memory_mib', type: 'integer' }) memoryMiB: number;
  @Column({ name: 'disk_gib', type: 'integer' }) diskGiB: number;
  @Column({ name: 'cpu_quota_percent', type: 'integer' }) cpuQuotaPercent: number;
  @Column({ name: 'disk_iops', type: 'integer' }) diskIops: number;
  @Column({ name: 'disk_mbps', type: 'integer' }) diskMBps: number;
  @Column({ name: 'net_mbit', type: 'integer' }) netMbit: number;
  @Column({ name: 'traffic_gib', type: 'integer' }) trafficGiB: number;
  /** Which traffic counts against `trafficGiB`: to the guest, from it, or both. */
  @Column({ name: 'traffic_direction', type: 'varchar', length: 4, default: 'both' }) trafficDirection: 'in' | 'out' | 'both';
  /** When the allowance starts again: the 1st of each month (UTC), or the day of the month the server was created. */
  @Column({ name: 'traffic_period', type: 'varchar', length: 12, default: 'calendar' }) trafficPeriod: 'calendar' | 'anniversary';
  /** Rate once the allowance is used up (Mbit/s, both directions). */
  @Column({ name: 'over_quota_mbit', type: 'integer', default: 10 }) overQuotaMbit: number;
  @Column({ name: 'price_monthly_cents', type: 'integer' }) priceMonthlyCents: number;
  /** Cents per started hour for a plan billed by the hour (metered in Stripe); NULL = billed monthly. */
  @Column({ name: 'price_hourly_cents', type: 'integer', nullable: true }) priceHourlyCents: number | null;
  /** How many snapshots a server of this plan may keep. */
  @Column({ name: 'max_snapshots', type: 'integer', default: 3 }) maxSnapshots: number;
  @Column({ type: 'char', length: 3 }) currency: string;
  @Column({ type: 'boolean' }) active: boolean;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
}

@Entity('images')
export class ImageEntity {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ type: 'varchar', length: 120 }) name: string;
  @Column({ name: 'os_family', type: 'varchar', length: 32 }) osFamily: string;
  @Column({ type: 'varchar', length: 32 }) version: string;
  /** Where nodes fetch the base image (http(s):// or file://). */
  @Column({ type: 'varchar', length: 2048 }) url: string;
  @Column({ type: 'char', length: 64 }) sha256: string;
  @Column({ type: 'varchar', length: 8 }) format: 'qcow2' | 'raw';
  /** NULL: the node's choice (its direct kernel when it has one). */
  @Column({ name: 'boot_mode', type: 'varchar', length: 16, nullable: true }) bootMode: 'disk' | 'direct-kernel' | null;
  @Column({ name: 'default_user', type: 'varchar', length: 32, nullable: true }) defaultUser: string | null;
  /** The image ships qemu-guest-agent (a password reset on a running server needs it). */
  @Column({ name: 'guest_agent', type: 'boolean', default: false }) guestAgent: boolean;
  @Column({ type: 'boolean' }) active: boolean;
  /** Staff's minimum plan disk (GiB) and memory (MiB) for this image; 0 = none. */
  @Column({ name: 'min_disk_gib', type: 'integer', default: 0 }) minDiskGiB: number;
  @Column({ name: 'min_memory_mib', type: 'integer', default: 0 }) minMemoryMiB: number;
  /** The disk size a guest sees (qemu-img virtual-size) as a node reported it verifying the current sha256; null until one has. */
  @Column({ name: 'virtual_size_bytes', type: 'bigint', nullable: true, transformer: { to: (v: number | null) => v, from: (v: string | number | null) => (v === null || v === undefined ? null : Number(v)) } })
  virtualSizeBytes: number | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  /** Deleted by staff once no live server used it: a tombstone the servers' history still names (never a plain DELETE). */
  @Column({ name: 'deleted_at', type: 'timestamptz', nullable: true }) deletedAt: Date | null;
}
