import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AuditEntryEntity } from './audit.entity.js';

export interface AuditInput {
  tenantId: string | null;
  actorUserId: string | null;
  actorKind: 'user' | 'api_token' | 'staff' | 'system' | 'node';
  action: string;
  targetType: string;
  targetId: string | null;
  ip: string | null;
  details?: Record<string, unknown>;
}

/** Writes audit entries inside the caller's transaction, so the entry exists exactly when the change does. */
@Injectable()
export class AuditService {
  async record(m: EntityManager, entry: AuditInput): Promise<void> {
    await m.insert(AuditEntryEntity, { ...entry, details: (entry.details ?? {}) as never });
  }
}
