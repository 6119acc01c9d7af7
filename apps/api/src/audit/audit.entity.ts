import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

@Entity('audit_log')
export class AuditEntryEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' }) id: string;
  @Column({ name: 'tenant_id', type: 'uuid', nullable: true }) tenantId: string | null;
  @Column({ name: 'actor_user_id', type: 'uuid', nullable: true }) actorUserId: string | null;
  /** user, api_token, staff, system, node */
  @Column({ name: 'actor_kind', type: 'varchar' }) actorKind: string;
  @Column({ type: 'varchar' }) action: string;
  @Column({ name: 'target_type', type: 'varchar' }) targetType: string;
  @Column({ name: 'target_id', type: 'varchar', nullable: true }) targetId: string | null;
  @Column({ type: 'varchar', nullable: true }) ip: string | null;
  @Column({ type: 'jsonb' }) details: Record<string, unknown>;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
}
