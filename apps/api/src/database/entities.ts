import { ApiTokenEntity } from '../api-tokens/api-token.entity.js';
import { AuditEntryEntity } from '../audit/audit.entity.js';
import { RefreshSessionEntity, RefreshTokenEntity } from '../auth/session.entities.js';
import { ImageEntity, LocationEntity, PlanEntity } from '../catalogue/catalogue.entities.js';
import { IpAddressEntity, IpPoolEntity, NodeEntity } from '../fleet/fleet.entities.js';
import { OutboxEntity, ServerEntity, TaskEntity } from '../servers/server.entities.js';
import { SshKeyEntity } from '../ssh-keys/ssh-key.entity.js';
import { IsoEntity } from '../isos/iso.entity.js';
import { SnapshotEntity } from '../snapshots/snapshot.entity.js';
import { BackupStoreEntity } from '../backup-stores/backup-store.entity.js';
import { BackupEntity } from '../backups/backup.entity.js';
import { MembershipEntity, TenantEntity, UserEntity } from '../tenants/tenant.entities.js';

export const ENTITIES = [
  TenantEntity, UserEntity, MembershipEntity, RefreshSessionEntity, RefreshTokenEntity, ApiTokenEntity, SshKeyEntity,
  LocationEntity, PlanEntity, ImageEntity, NodeEntity, IpPoolEntity, IpAddressEntity, ServerEntity, TaskEntity, OutboxEntity,
  AuditEntryEntity, IsoEntity, SnapshotEntity, BackupStoreEntity, BackupEntity,
];
