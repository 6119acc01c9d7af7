import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

@Entity('ssh_keys')
export class SshKeyEntity {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ name: 'tenant_id', type: 'uuid' }) tenantId: string;
  @Column({ type: 'varchar', length: 120 }) name: string;
  @Column({ name: 'key_type', type: 'varchar', length: 32 }) keyType: string;
  @Column({ type: 'integer' }) bits: number;
  @Column({ name: 'public_key', type: 'text' }) publicKey: string;
  @Column({ type: 'varchar', length: 64 }) fingerprint: string;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
}
