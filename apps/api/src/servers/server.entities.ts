import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { ServerState, TaskOp, TaskState } from '@oblako/contracts';

@Entity('servers')
export class ServerEntity {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ name: 'tenant_id', type: 'uuid' }) tenantId: string;
  @Column({ name: 'plan_id', type: 'uuid' }) planId: string;
  @Column({ name: 'image_id', type: 'uuid' }) imageId: string;
  @Column({ name: 'location_id', type: 'uuid' }) locationId: string;
  @Column({ name: 'node_id', type: 'uuid', nullable: true }) nodeId: string | null;
  @Column({ type: 'varchar', length: 253 }) hostname: string;
  @Column({ type: 'varchar' }) state: ServerState;
  /** Why the control plane put the server in its state (e.g. the hypervisor lost it); null otherwise, cleared by the next change. */
  @Column({ name: 'state_reason', type: 'text', nullable: true }) stateReason: string | null;
  /** Resources reserved on the node at placement (the plan may change later). */
  @Column({ type: 'integer' }) vcpus: number;
  @Column({ name: 'memory_mib', type: 'integer' }) memoryMiB: number;
  @Column({ name: 'disk_gib', type: 'integer' }) diskGiB: number;
  @Column({ name: 'ssh_key_ids', type: 'uuid', array: true }) sshKeyIds: string[];
  /** The ISO attached as the server's CD-ROM (it boots from it), or null. */
  @Column({ name: 'iso_id', type: 'uuid', nullable: true }) isoId: string | null;
  /** crypt(3) (`$6$`) hash of the root password the customer chose, or null (SSH keys only). Never answered. */
  @Column({ name: 'root_password_hash', type: 'varchar', length: 512, nullable: true }) rootPasswordHash: string | null;
  /** While a resize runs: the plan it moves to (its extra capacity is already held on the node). */
  @Column({ name: 'resize_plan_id', type: 'uuid', nullable: true }) resizePlanId: string | null;
  /** Network rate the traffic quota wants (Mbit/s; 0 = not throttled), what was last sent to the node, and what it confirmed. */
  @Column({ name: 'throttle_mbit', type: 'integer', default: 0 }) throttleMbit: number;
  @Column({ name: 'throttle_sent_mbit', type: 'integer', default: 0 }) throttleSentMbit: number;
  @Column({ name: 'throttle_applied_mbit', type: 'integer', default: 0 }) throttleAppliedMbit: number;
  /** The client's Idempotency-Key of the order, unique per tenant. */
  /** The backup this server was made from (restore into a new server): its create carries the restore. */
  @Column({ name: 'restored_from_backup_id', type: 'uuid', nullable: true }) restoredFromBackupId: string | null;
  @Column({ name: 'idempotency_key', type: 'varchar', nullable: true, select: false }) idempotencyKey: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt: Date;
  @Column({ name: 'deleted_at', type: 'timestamptz', nullable: true }) deletedAt: Date | null;
}

/** Epoch-millisecond timestamps of each stage of one task, for the benchmark. */
export interface TaskStageTimings {
  acceptedAt?: number;
  dispatchedAt?: number;
  daemonReceivedAt?: number;
  hypervisorStartedAt?: number;
  hypervisorDoneAt?: number;
  daemonFinishedAt?: number;
  resultSeenAt?: number;
  firstProgressAt?: number;
  steps?: Record<string, number>;
}

@Entity('tasks')
export class TaskEntity {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ name: 'tenant_id', type: 'uuid' }) tenantId: string;
  @Column({ name: 'server_id', type: 'uuid' }) serverId: string;
  @Column({ name: 'node_id', type: 'uuid', nullable: true }) nodeId: string | null;
  @Column({ type: 'varchar' }) op: TaskOp;
  @Column({ type: 'varchar' }) state: TaskState;
  @Column({ type: 'real' }) progress: number;
  @Column({ type: 'varchar', nullable: true }) stage: string | null;
  @Column({ type: 'text', nullable: true }) error: string | null;
  @Column({ type: 'integer' }) attempts: number;
  @Column({ name: 'previous_state', type: 'varchar', nullable: true }) previousState: ServerState | null;
  @Column({ type: 'jsonb' }) timings: TaskStageTimings;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt: Date;
  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true }) finishedAt: Date | null;
}

@Entity('outbox')
export class OutboxEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' }) id: string;
  @Column({ name: 'task_id', type: 'uuid' }) taskId: string;
  @Column({ type: 'varchar' }) subject: string;
  @Column({ type: 'jsonb' }) payload: unknown;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @Column({ name: 'published_at', type: 'timestamptz', nullable: true }) publishedAt: Date | null;
  @Column({ type: 'integer' }) attempts: number;
  @Column({ name: 'last_error', type: 'text', nullable: true }) lastError: string | null;
}
