import { Inject, Injectable } from '@nestjs/common';
import type { SshKeyView } from '@oblako/contracts';
import { DataSource, In, type EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import type { Actor } from '../common/request-context.js';
import { changedCount } from '../database/sql.js';
import { SshKeyEntity } from './ssh-key.entity.js';
import { SshKeyError } from './ssh-keys.errors.js';
import { parseSshPublicKey, SshKeyFormatError } from './ssh-public-key.js';

@Injectable()
export class SshKeysService {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(AuditService) private readonly audit: AuditService,
  ) {}

  async create(tenantId: string, actor: Actor, input: { name: string; publicKey: string }): Promise<SshKeyView> {
    let parsed;
    try {
      parsed = parseSshPublicKey(input.publicKey);
    } catch (err) {
      if (err instanceof SshKeyFormatError) throw new SshKeyError('ssh_key_invalid', err.message, [{ field: 'publicKey', problems: [err.message] }]);
      throw err;
    }
    return this.ds.transaction(async (m) => {
      const existing = await m.findOneBy(SshKeyEntity, { tenantId, fingerprint: parsed.fingerprint });
      if (existing) throw new SshKeyError('ssh_key_duplicate', `This key is already saved as "${existing.name}" (${parsed.fingerprint}).`);
      const row = await m.save(
        m.create(SshKeyEntity, { tenantId, name: input.name.trim(), keyType: parsed.type, bits: parsed.bits, publicKey: parsed.normalized, fingerprint: parsed.fingerprint }),
      );
      await this.audit.record(m, { tenantId, actorUserId: actor.userId, actorKind: actor.kind, action: 'ssh_key.create', targetType: 'ssh_key', targetId: row.id, ip: actor.ip, details: { fingerprint: row.fingerprint } });
      return toView(row);
    });
  }

  async list(tenantId: string): Promise<SshKeyView[]> {
    const rows = await this.ds.getRepository(SshKeyEntity).find({ where: { tenantId }, order: { createdAt: 'DESC', id: 'DESC' } });
    return rows.map(toView);
  }

  async get(tenantId: string, id: string): Promise<SshKeyView> {
    const row = await this.ds.getRepository(SshKeyEntity).findOneBy({ tenantId, id });
    if (!row) throw notFound();
    return toView(row);
  }

  async remove(tenantId: string, actor: Actor, id: string): Promise<void> {
    await this.ds.transaction(async (m) => {
      const res = await m.query('DELETE FROM ssh_keys WHERE id = $1 AND tenant_id = $2', [id, tenantId]);
      if (changedCount(res) === 0) throw notFound();
      await this.audit.record(m, { tenantId, actorUserId: actor.userId, actorKind: actor.kind, action: 'ssh_key.delete', targetType: 'ssh_key', targetId: id, ip: actor.ip });
    });
  }

  /** One ownership check for a whole list: every id must be a key of this tenant, or the call fails naming the missing ones. */
  async requireOwned(m: EntityManager, tenantId: string, ids: readonly string[]): Promise<SshKeyEntity[]> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return [];
    const rows = await m.findBy(SshKeyEntity, { tenantId, id: In(unique) });
    const missing = unique.filter((id) => !rows.some((r) => r.id === id));
    if (missing.length) {
      throw new SshKeyError('ssh_key_not_found', `No SSH key with id ${missing.join(', ')} in this team; add the key first under /api/v1/ssh-keys.`, [
        { field: 'sshKeyIds', problems: missing.map((id) => `unknown SSH key ${id}`) },
      ]);
    }
    return unique.map((id) => rows.find((r) => r.id === id)!);
  }
}

const notFound = () => new SshKeyError('ssh_key_not_found', 'No SSH key with that id in this team.');

function toView(row: SshKeyEntity): SshKeyView {
  return { id: row.id, name: row.name, fingerprint: row.fingerprint, publicKey: row.publicKey, createdAt: row.createdAt.toISOString() };
}
