import { Inject, Injectable } from '@nestjs/common';
import type { AdminIsoView, IsoView } from '@oblako/contracts';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { pgCode } from '../database/sql.js';
import type { Actor } from '../common/request-context.js';
import { IsoEntity } from './iso.entity.js';
import { IsoError } from './isos.errors.js';

export function isoView(r: IsoEntity): IsoView {
  return { id: r.id, name: r.name, active: r.active };
}

export function adminIsoView(r: IsoEntity): AdminIsoView {
  return { ...isoView(r), url: r.url, sha256: r.sha256, createdAt: r.createdAt.toISOString() };
}

/** The ISO library: staff add and deprecate ISOs; customers list the active ones to boot from. */
@Injectable()
export class IsosService {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(AuditService) private readonly audit: AuditService,
  ) {}

  async listActive(): Promise<IsoView[]> {
    return (await this.ds.getRepository(IsoEntity).find({ where: { active: true }, order: { name: 'ASC' } })).map(isoView);
  }

  async listAll(): Promise<AdminIsoView[]> {
    return (await this.ds.getRepository(IsoEntity).find({ order: { name: 'ASC' } })).map(adminIsoView);
  }

  async create(actor: Actor, input: { name: string; url: string; sha256: string; active?: boolean }): Promise<AdminIsoView> {
    try {
      return await this.ds.transaction(async (m) => {
        const row = await m.save(m.create(IsoEntity, { name: input.name, url: input.url, sha256: input.sha256, active: input.active ?? true }));
        await this.audit.record(m, { tenantId: null, actorUserId: actor.userId, actorKind: 'staff', action: 'iso.create', targetType: 'iso', targetId: row.id, ip: actor.ip, details: { name: row.name, sha256: row.sha256 } });
        return adminIsoView(row);
      });
    } catch (err) {
      if (pgCode(err) === '23505') throw new IsoError('duplicate', `An ISO named "${input.name}" already exists.`, [{ field: 'name', problems: ['already taken'] }]);
      throw err;
    }
  }

  async update(actor: Actor, id: string, input: { name?: string; active?: boolean }): Promise<AdminIsoView> {
    return this.ds.transaction(async (m) => {
      const row = await m.findOneBy(IsoEntity, { id });
      if (!row) throw new IsoError('iso_not_found', `No ISO with id ${id}.`);
      if (input.name !== undefined) row.name = input.name;
      if (input.active !== undefined) row.active = input.active;
      await m.save(row);
      await this.audit.record(m, { tenantId: null, actorUserId: actor.userId, actorKind: 'staff', action: 'iso.update', targetType: 'iso', targetId: id, ip: actor.ip, details: input });
      return adminIsoView(row);
    });
  }

  /** Delete an ISO no server has attached (deprecate it with active: false otherwise). */
  async remove(actor: Actor, id: string): Promise<void> {
    await this.ds.transaction(async (m) => {
      const [{ n }]: { n: number }[] = await m.query('SELECT count(*)::int AS n FROM servers WHERE iso_id = $1', [id]);
      if (n > 0) throw new IsoError('in_use', `${n} server(s) have this ISO attached; deprecate it instead (active: false), or wait until they detach it.`);
      const res = await m.delete(IsoEntity, { id });
      if (!res.affected) throw new IsoError('iso_not_found', `No ISO with id ${id}.`);
      await this.audit.record(m, { tenantId: null, actorUserId: actor.userId, actorKind: 'staff', action: 'iso.delete', targetType: 'iso', targetId: id, ip: actor.ip });
    });
  }
}
