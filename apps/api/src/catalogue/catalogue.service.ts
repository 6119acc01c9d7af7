import { Inject, Injectable, Optional } from '@nestjs/common';
import type { ImageView, LocationView, PlanView } from '@oblako/contracts';
import { DataSource, IsNull, type EntityTarget, type ObjectLiteral } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import type { Actor } from '../common/request-context.js';
import { ImageEntity, LocationEntity, PlanEntity } from './catalogue.entities.js';
import { CatalogueError, type CatalogueErrorCode } from './catalogue.errors.js';
import { pgCode } from '../database/sql.js';
import { APP_CONFIG } from '../common/config.provider.js';
import type { AppConfig } from '../config/config.js';
import { IMAGE_VERIFIED_SQL } from '../images/image-verification.service.js';
import type { AdminImageDto, CreateImageDto, CreateLocationDto, CreatePlanDto, UpdateImageDto, UpdateLocationDto, UpdatePlanDto } from './catalogue.dto.js';

interface Kind<E> { entity: EntityTarget<E>; label: string; notFound: CatalogueErrorCode; unique: string }
const LOCATION: Kind<LocationEntity> = { entity: LocationEntity, label: 'location', notFound: 'location_not_found', unique: 'code' };
const PLAN: Kind<PlanEntity> = { entity: PlanEntity, label: 'plan', notFound: 'plan_not_found', unique: 'name' };
const IMAGE: Kind<ImageEntity> = { entity: ImageEntity, label: 'image', notFound: 'image_not_found', unique: 'name' };

/** Token under which billing syncs a plan to its Stripe product and price after staff create or change it. */
export const PLAN_CHANGE_HOOK = Symbol('PLAN_CHANGE_HOOK');
export interface PlanChangeHook {
  planChanged(planId: string): Promise<void>;
}

@Injectable()
export class CatalogueService {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(AuditService) private readonly audit: AuditService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Optional() @Inject(PLAN_CHANGE_HOOK) private readonly planHook: PlanChangeHook | null = null,
  ) {}

  async listLocations(): Promise<LocationView[]> {
    return (await this.ds.getRepository(LocationEntity).find({ order: { code: 'ASC' } })).map(locationView);
  }

  async listPlans(includeInactive = false): Promise<PlanView[]> {
    const rows = await this.ds.getRepository(PlanEntity).find({ where: includeInactive ? {} : { active: true }, order: { priceMonthlyCents: 'ASC', name: 'ASC' } });
    return rows.map(planView);
  }

  /**
   * The images customers may order: active and, with REQUIRE_VERIFIED_IMAGES, verified on a node (of `locationId`,
   * when given) for their current sha256. An image no node has fetched and checked is not offered.
   */
  async listImages(locationId?: string): Promise<ImageView[]> {
    if (!this.config.requireVerifiedImages) return (await this.ds.getRepository(ImageEntity).find({ where: { active: true }, order: { name: 'ASC' } })).map(imageView);
    const rows = await this.ds.getRepository(ImageEntity).createQueryBuilder('i')
      .where('i.active').andWhere(IMAGE_VERIFIED_SQL('i', ':loc'), { loc: locationId ?? null })
      .orderBy('i.name', 'ASC').getMany();
    return rows.map(imageView);
  }

  async listImagesForStaff(): Promise<AdminImageDto[]> {
    return (await this.ds.getRepository(ImageEntity).find({ where: { deletedAt: IsNull() }, order: { name: 'ASC' } })).map(adminImageView);
  }

  createLocation(actor: Actor, dto: CreateLocationDto) { return this.create(actor, LOCATION, dto).then(locationView); }
  updateLocation(actor: Actor, id: string, dto: UpdateLocationDto) { return this.update(actor, LOCATION, id, dto).then(locationView); }
  deleteLocation(actor: Actor, id: string) { return this.remove(actor, LOCATION, id); }

  createPlan(actor: Actor, dto: CreatePlanDto) {
    const hourly = dto.priceHourlyCents ?? null;
    if (hourly !== null && dto.priceMonthlyCents !== undefined) {
      throw priceError('priceMonthlyCents', 'give either priceMonthlyCents (billed monthly) or priceHourlyCents (billed by the hour), not both');
    }
    if (hourly === null && dto.priceMonthlyCents === undefined) throw priceError('priceMonthlyCents', 'priceMonthlyCents is required (or priceHourlyCents for a plan billed by the hour)');
    const values = { cpuQuotaPercent: 100, diskIops: 0, diskMBps: 0, netMbit: 0, trafficGiB: 0, trafficDirection: 'both', trafficPeriod: 'calendar', overQuotaMbit: 10, currency: 'EUR', active: true, maxSnapshots: 3, ...dto, priceHourlyCents: hourly };
    if (hourly !== null) values.priceMonthlyCents = hourly * HOURS_PER_MONTH;
    return this.create(actor, PLAN, values).then((p) => this.planChanged(p));
  }
  async updatePlan(actor: Actor, id: string, dto: UpdatePlanDto) {
    const current = await this.ds.getRepository(PlanEntity).findOne({ where: { id } });
    if (!current) throw new CatalogueError('plan_not_found', `No plan with id ${id}.`);
    const values: UpdatePlanDto = { ...dto };
    if (dto.priceHourlyCents !== undefined && (dto.priceHourlyCents === null) !== (current.priceHourlyCents === null)) {
      // Servers are sold, metered and resized by the plan's interval: switching it would change running bills mid-period.
      throw new CatalogueError('pricing_fixed', `The plan is billed ${current.priceHourlyCents === null ? 'monthly' : 'by the hour'}; that is fixed when a plan is created. Create a new plan instead.`);
    }
    if (current.priceHourlyCents !== null) {
      if (dto.priceMonthlyCents !== undefined) throw priceError('priceMonthlyCents', 'the plan is billed by the hour: change priceHourlyCents (priceMonthlyCents follows as 730 hours)');
      if (dto.priceHourlyCents) values.priceMonthlyCents = dto.priceHourlyCents * HOURS_PER_MONTH;
    }
    return this.update(actor, PLAN, id, values).then((p) => this.planChanged(p));
  }
  private async planChanged(p: PlanEntity): Promise<PlanView> {
    await this.planHook?.planChanged(p.id);
    return planView(p);
  }
  deletePlan(actor: Actor, id: string) { return this.remove(actor, PLAN, id); }

  createImage(actor: Actor, dto: CreateImageDto) { return this.create(actor, IMAGE, { active: true, ...dto }).then(adminImageView); }
  async updateImage(actor: Actor, id: string, dto: UpdateImageDto) {
    const current = await this.ds.getRepository(ImageEntity).findOneBy({ id, deletedAt: IsNull() });
    if (!current) throw new CatalogueError('image_not_found', `No image with id ${id}.`);
    // a new checksum is a new file: its disk size is known again once a node has verified it
    const values = dto.sha256 !== undefined && dto.sha256 !== current.sha256 ? { ...dto, virtualSizeBytes: null } : dto;
    return this.update(actor, IMAGE, id, values).then(adminImageView);
  }

  /**
   * Delete an image once no live server uses it (409 image_in_use with the count otherwise: deprecate it first, and
   * rebuild or delete those servers). Deleted servers keep naming it, so the row stays as a tombstone (deleted_at,
   * active false) and its per-node states go; it is gone from every list, order, rebuild and verification.
   */
  async deleteImage(actor: Actor, id: string): Promise<void> {
    await this.ds.transaction(async (m) => {
      const image = await m.findOne(ImageEntity, { where: { id, deletedAt: IsNull() }, lock: { mode: 'pessimistic_write' } });
      if (!image) throw new CatalogueError('image_not_found', `No image with id ${id}.`);
      const [{ n }]: { n: number }[] = await m.query(`SELECT count(*)::int AS n FROM servers WHERE image_id = $1 AND deleted_at IS NULL AND state <> 'deleted'`, [id]);
      if (n > 0) {
        throw new CatalogueError('image_in_use', `The image "${image.name}" is used by ${n} server${n === 1 ? '' : 's'}; deprecate it (no new orders or rebuilds) and delete it once ${n === 1 ? 'that server is' : 'those servers are'} deleted or rebuilt to another image.`);
      }
      await m.update(ImageEntity, { id }, { deletedAt: new Date(), active: false });
      await m.query('DELETE FROM image_node_states WHERE image_id = $1', [id]);
      await this.audit.record(m, { tenantId: null, actorUserId: actor.userId, actorKind: 'staff', action: 'image.delete', targetType: 'image', targetId: id, ip: actor.ip, details: { name: image.name } });
    });
  }

  private async create<E extends ObjectLiteral>(actor: Actor, kind: Kind<E>, values: object): Promise<E> {
    try {
      return await this.ds.transaction(async (m) => {
        const row = await m.save(kind.entity, m.create(kind.entity, values as E));
        await this.audit.record(m, { tenantId: null, actorUserId: actor.userId, actorKind: 'staff', action: `${kind.label}.create`, targetType: kind.label, targetId: (row as unknown as { id: string }).id, ip: actor.ip, details: { ...values } });
        return row;
      });
    } catch (err) {
      throw this.translate(err, kind);
    }
  }

  private async update<E extends ObjectLiteral>(actor: Actor, kind: Kind<E>, id: string, values: object): Promise<E> {
    try {
      return await this.ds.transaction(async (m) => {
        const row = await m.findOne(kind.entity, { where: { id } as never, lock: { mode: 'pessimistic_write' } });
        if (!row) throw new CatalogueError(kind.notFound, `No ${kind.label} with id ${id}.`);
        Object.assign(row, values);
        const saved = await m.save(kind.entity, row);
        await this.audit.record(m, { tenantId: null, actorUserId: actor.userId, actorKind: 'staff', action: `${kind.label}.update`, targetType: kind.label, targetId: id, ip: actor.ip, details: { ...values } });
        return saved;
      });
    } catch (err) {
      throw this.translate(err, kind);
    }
  }

  private async remove<E extends ObjectLiteral>(actor: Actor, kind: Kind<E>, id: string): Promise<void> {
    try {
      await this.ds.transaction(async (m) => {
        const res = await m.delete(kind.entity, { id } as never);
        if (!res.affected) throw new CatalogueError(kind.notFound, `No ${kind.label} with id ${id}.`);
        await this.audit.record(m, { tenantId: null, actorUserId: actor.userId, actorKind: 'staff', action: `${kind.label}.delete`, targetType: kind.label, targetId: id, ip: actor.ip });
      });
    } catch (err) {
      throw this.translate(err, kind);
    }
  }

  private translate(err: unknown, kind: Kind<unknown>): unknown {
    const code = pgCode(err);
    if (code === '23505') return new CatalogueError('duplicate', `Another ${kind.label} already has that ${kind.unique}; choose a different one.`);
    if (code === '23503') {
      return new CatalogueError('in_use', `The ${kind.label} is still used by servers, nodes or pools; ${kind.label === 'location' ? 'move or delete them first' : 'deactivate it (active: false) instead'}.`);
    }
    return err;
  }
}

/** An hourly plan's comparison monthly price: 730 hours (365 × 24 / 12). */
export const HOURS_PER_MONTH = 730;

function priceError(field: string, problem: string): CatalogueError {
  return new CatalogueError('invalid_price', problem.charAt(0).toUpperCase() + problem.slice(1) + '.', [{ field, problems: [problem] }]);
}

export function locationView(r: LocationEntity): LocationView {
  return { id: r.id, code: r.code, name: r.name, country: r.country };
}

export function planView(r: PlanEntity): PlanView {
  return {
    id: r.id, name: r.name, vcpus: r.vcpus, memoryMiB: r.memoryMiB, diskGiB: r.diskGiB, cpuQuotaPercent: r.cpuQuotaPercent, diskIops: r.diskIops,
    diskMBps: r.diskMBps, netMbit: r.netMbit, trafficGiB: r.trafficGiB, trafficDirection: r.trafficDirection, trafficPeriod: r.trafficPeriod, overQuotaMbit: r.overQuotaMbit, priceMonthlyCents: r.priceMonthlyCents, priceHourlyCents: r.priceHourlyCents ?? null, currency: r.currency, active: r.active,
    maxSnapshots: r.maxSnapshots,
  };
}

export function imageView(r: ImageEntity): ImageView {
  return {
    id: r.id, name: r.name, osFamily: r.osFamily, version: r.version, active: r.active, bootMode: r.bootMode ?? null, defaultUser: r.defaultUser ?? null, guestAgent: r.guestAgent ?? false,
    minDiskGiB: r.minDiskGiB ?? 0, minMemoryMiB: r.minMemoryMiB ?? 0, virtualSizeBytes: r.virtualSizeBytes ?? null,
  };
}

function adminImageView(r: ImageEntity): AdminImageDto {
  return { ...imageView(r), url: r.url, sha256: r.sha256, format: r.format };
}
