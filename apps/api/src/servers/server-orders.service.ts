import { Inject, Injectable } from '@nestjs/common';
import type { Address, ServerView } from '@oblako/contracts';
import { DataSource, type EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { APP_CONFIG } from '../common/config.provider.js';
import type { AppConfig } from '../config/config.js';
import { pgCode } from '../database/sql.js';
import { ImageEntity, LocationEntity, PlanEntity } from '../catalogue/catalogue.entities.js';
import { imageView, locationView, planView } from '../catalogue/catalogue.service.js';
import { IMAGE_VERIFIED_SQL } from '../images/image-verification.service.js';
import { SYSTEM_ACTOR, type Actor } from '../common/request-context.js';
import type { CreateInput } from '../operations/create.operation.js';
import { TaskRunner, type Started } from '../operations/task-runner.service.js';
import { SshKeysService } from '../ssh-keys/ssh-keys.service.js';
import { BillingPort } from './billing.port.js';
import { ServerEntity } from './server.entities.js';
import { ServerViewsService, taskView } from './server-views.service.js';
import { ServerError } from './servers.errors.js';
import { hashPassword, verifyPassword } from '../common/sha512-crypt.js';
import { requireLogin } from './root-password.js';
import { requireImageFits } from '../images/image-fit.js';

export interface CreateServerInput {
  planId: string;
  imageId: string;
  locationId: string;
  hostname: string;
  sshKeyIds?: string[];
  /** In clear only here: hashed (SHA-512 crypt) before anything is stored, logged or sent. */
  rootPassword?: string;
}

/**
 * An order of a server made from a backup (restore into a new server): `check` runs in the order's transaction once
 * the plan is known (the backup locked, still ready and restorable, the plan's disk big enough), and throws to refuse.
 */
export interface RestoreOrder {
  backupId: string;
  check(m: EntityManager, plan: PlanEntity): Promise<void>;
}

/**
 * Ordering: the order's checks (catalogue, SSH keys, the tenant's state and cap, the Idempotency-Key) and the
 * server row; placing it is the create operation's work, begun through the runner in the same transaction.
 */
@Injectable()
export class ServerOrdersService {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(SshKeysService) private readonly sshKeys: SshKeysService,
    @Inject(TaskRunner) private readonly runner: TaskRunner,
    @Inject(ServerViewsService) private readonly views: ServerViewsService,
    @Inject(BillingPort) private readonly billing: BillingPort,
    @Inject(AuditService) private readonly audit: AuditService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Order a server. With billing off it is placed at once: node capacity, its address, the task and
   * the outbox row are written in one transaction, so an order either fully happens or not at all.
   */
  async create(tenantId: string, actor: Actor, input: CreateServerInput, acceptedAt: number, idempotencyKey: string | null = null, restore: RestoreOrder | null = null): Promise<ServerView> {
    const restoredFromBackupId = restore?.backupId ?? null;
    if (idempotencyKey) {
      const earlier = await this.findByIdempotencyKey(tenantId, idempotencyKey);
      if (earlier) return this.replay(tenantId, earlier, input, restoredFromBackupId);
    }
    if (this.config.orderRequiresLogin) requireLogin(input.sshKeyIds ?? [], input.rootPassword);
    const rootPasswordHash = input.rootPassword !== undefined ? hashPassword(input.rootPassword) : null;
    let placed: Placed;
    try {
      placed = await this.ds.transaction(async (m) => {
        const { plan, image, location, tenantLocked } = await this.orderCatalogue(m, tenantId, input);
        const keys = await this.sshKeys.requireOwned(m, tenantId, input.sshKeyIds ?? []);
        await this.checkTenant(m, tenantId, tenantLocked);
        if (restore) await restore.check(m, plan);
        // Born waiting for payment; with billing off the create operation moves it on at once, in this transaction.
        const server = await m.save(
          m.create(ServerEntity, {
            tenantId, planId: plan.id, imageId: image.id, locationId: location.id, nodeId: null, hostname: input.hostname.toLowerCase(),
            state: 'pending_payment', vcpus: plan.vcpus, memoryMiB: plan.memoryMiB, diskGiB: plan.diskGiB,
            sshKeyIds: keys.map((k) => k.id), rootPasswordHash, isoId: null, idempotencyKey, deletedAt: null, restoredFromBackupId,
          }),
        );
        await this.audit.record(m, { tenantId, actorUserId: actor.userId, actorKind: actor.kind, action: 'server.create', targetType: 'server', targetId: server.id, ip: actor.ip, details: { planId: plan.id, imageId: image.id, locationId: location.id, hostname: server.hostname, sshKeys: keys.length, rootPassword: rootPasswordHash !== null, ...(restoredFromBackupId ? { restoredFromBackupId } : {}) } });
        if (this.billing.enabled) return { server, plan, image, location, addresses: [], started: null };
        const create: CreateInput = { plan, image, keys };
        const started = await this.runner.begin(m, server, 'create', actor, create, acceptedAt, { audit: false, hasActiveTask: false });
        const addresses = (started.steps[0]?.command.spec as { addresses?: Address[] } | undefined)?.addresses ?? [];
        return { server, plan, image, location, addresses, started };
      });
    } catch (err) {
      // A concurrent request with the same key won the race: answer with its order.
      if (idempotencyKey && pgCode(err) === '23505') {
        const earlier = await this.findByIdempotencyKey(tenantId, idempotencyKey);
        if (earlier) return this.replay(tenantId, earlier, input, restoredFromBackupId);
      }
      throw err;
    }
    if (placed.started) this.runner.afterCommit(placed.started);
    else this.runner.announce({ tenantId, serverId: placed.server.id, state: placed.server.state, task: null });
    // Everything the answer needs is in hand: no queries after the commit.
    return this.withOrderBilling(tenantId, viewOf(placed), placed.server.planId);
  }

  /** For the billing module: the order was paid, place it now (as the system). Nothing happens unless it still waits for payment. */
  async provisionPaid(serverId: string): Promise<void> {
    const started = await this.ds.transaction(async (m) => {
      const server = await m.findOne(ServerEntity, { where: { id: serverId }, lock: { mode: 'pessimistic_write' } });
      if (!server || server.state !== 'pending_payment') return null;
      const plan = await m.findOneByOrFail(PlanEntity, { id: server.planId });
      const image = await m.findOneByOrFail(ImageEntity, { id: server.imageId });
      const keys = await this.sshKeys.requireOwned(m, server.tenantId, server.sshKeyIds);
      const create: CreateInput = { plan, image, keys };
      return this.runner.begin(m, server, 'create', SYSTEM_ACTOR, create, Date.now());
    });
    if (started) this.runner.afterCommit(started);
  }

  /**
   * For the billing module: a paid order that cannot be placed (no room). It fails visibly, as the system: a failed
   * create task with the reason, and the server in `error` (the create rule's failure). In the caller's transaction.
   */
  async failPaid(m: EntityManager, serverId: string, reason: string): Promise<(() => void) | null> {
    const server = await m.findOne(ServerEntity, { where: { id: serverId }, lock: { mode: 'pessimistic_write' } });
    if (!server || server.state !== 'pending_payment') return null;
    const change = await this.runner.failUnsent(m, server, 'create', SYSTEM_ACTOR, `no_capacity: ${reason}`);
    return () => this.runner.announce(change);
  }

  /**
   * Plan, image and location of an order (each must exist and be active) and the tenant's state, in one query.
   * A tenant without a server cap is read FOR SHARE, so a staff suspension (which updates the row) waits for
   * this order to commit and then holds its server, or commits first and this order is refused. A capped
   * tenant is left unlocked here: checkTenant locks it FOR UPDATE (taking SHARE first would deadlock
   * parallel orders upgrading their locks).
   * The image is read FOR SHARE too: a staff delete (FOR UPDATE, then it counts the image's servers) waits for this
   * order to commit and then refuses with 409 image_in_use, or commits first and this order reads the tombstone
   * (404 image_not_found). No server is ever made on a deleted image.
   */
  private async orderCatalogue(m: EntityManager, tenantId: string, input: CreateServerInput) {
    type TenantRow = { suspended: boolean } | null;
    const [row]: { plan: Record<string, unknown> | null; image: Record<string, unknown> | null; verified: boolean | null; location: Record<string, unknown> | null; uncapped: TenantRow; tenant: TenantRow }[] = await m.query(
      `SELECT (SELECT to_jsonb(p) FROM plans p WHERE p.id = $1 AND p.active) AS plan,
              (SELECT to_jsonb(i) FROM images i WHERE i.id = $2 FOR SHARE) AS image,
              (SELECT ${IMAGE_VERIFIED_SQL('i', '$3')} FROM images i WHERE i.id = $2) AS verified,
              (SELECT to_jsonb(l) FROM locations l WHERE l.id = $3) AS location,
              (SELECT jsonb_build_object('suspended', suspended_at IS NOT NULL) FROM tenants WHERE id = $4 AND server_limit IS NULL FOR SHARE) AS uncapped,
              (SELECT jsonb_build_object('suspended', suspended_at IS NOT NULL) FROM tenants WHERE id = $4) AS tenant`,
      [input.planId, input.imageId, input.locationId, tenantId],
    );
    if (row?.uncapped?.suspended || row?.tenant?.suspended) throw tenantSuspended();
    if (!row?.plan) throw new ServerError('plan_not_found', `No plan with id ${input.planId}; choose one from GET /api/v1/plans.`, [{ field: 'planId', problems: ['unknown plan'] }]);
    if (!row.image || row.image.deleted_at) throw new ServerError('image_not_found', `No image with id ${input.imageId}; choose one from GET /api/v1/images.`, [{ field: 'imageId', problems: ['unknown image'] }]);
    if (!row.image.active) {
      const name = String(row.image.name);
      throw new ServerError('image_deprecated', `The image "${name}" is deprecated: no new servers are made from it. Choose another image from GET /api/v1/images.`, [{ field: 'imageId', problems: [`image "${name}" is deprecated`] }]);
    }
    if (!row.location) throw new ServerError('location_not_found', `No location with id ${input.locationId}; choose one from GET /api/v1/locations.`, [{ field: 'locationId', problems: ['unknown location'] }]);
    if (this.config.requireVerifiedImages && !row.verified) {
      const name = String(row.image.name);
      throw new ServerError('image_unverified', `The image "${name}" is not offered in ${String(row.location.name)} yet: no node there has fetched it and verified its sha256. Choose another image, or try again once staff have verified it.`, [{ field: 'imageId', problems: [`image "${name}" is not verified in this location`] }]);
    }
    const plan = entityFromJson(m, PlanEntity, row.plan);
    const image = entityFromJson(m, ImageEntity, row.image);
    requireImageFits(image, plan, `The plan "${plan.name}"`, 'planId');
    return {
      plan,
      image,
      location: entityFromJson(m, LocationEntity, row.location),
      tenantLocked: row.uncapped !== null,
    };
  }

  /**
   * A tenant with a cap on live servers: locked FOR UPDATE so parallel orders cannot overshoot it (nor slip
   * past a suspension); checked again under the lock.
   */
  private async checkTenant(m: EntityManager, tenantId: string, alreadyLocked: boolean): Promise<void> {
    if (alreadyLocked) return;
    const [tenant]: { server_limit: number | null; suspended: boolean }[] = await m.query(
      'SELECT server_limit, suspended_at IS NOT NULL AS suspended FROM tenants WHERE id = $1 FOR UPDATE',
      [tenantId],
    );
    if (!tenant) return;
    if (tenant.suspended) throw tenantSuspended();
    if (tenant.server_limit === null) return;
    const [{ n }]: { n: number }[] = await m.query(`SELECT count(*)::int AS n FROM servers WHERE tenant_id = $1 AND deleted_at IS NULL AND state <> 'deleted'`, [tenantId]);
    if (n >= tenant.server_limit) {
      throw new ServerError('quota_exceeded', `Your team may have at most ${tenant.server_limit} server(s) and has ${n}; delete one, or ask support to raise the limit.`);
    }
  }

  private async findByIdempotencyKey(tenantId: string, key: string): Promise<ServerEntity | null> {
    return this.ds.getRepository(ServerEntity).findOneBy({ tenantId, idempotencyKey: key });
  }

  /** The same key again: the same order, if it asked for the same thing. */
  private async replay(tenantId: string, earlier: ServerEntity, input: CreateServerInput, restoredFromBackupId: string | null): Promise<ServerView> {
    const same =
      (earlier.restoredFromBackupId ?? null) === restoredFromBackupId &&
      earlier.planId === input.planId && earlier.imageId === input.imageId && earlier.locationId === input.locationId &&
      earlier.hostname === input.hostname.toLowerCase() &&
      [...earlier.sshKeyIds].sort().join(',') === [...new Set(input.sshKeyIds ?? [])].sort().join(',') &&
      (input.rootPassword === undefined ? earlier.rootPasswordHash === null : earlier.rootPasswordHash !== null && verifyPassword(input.rootPassword, earlier.rootPasswordHash));
    if (!same) {
      throw new ServerError('idempotency_key_reused', `This Idempotency-Key was already used for a different order (server ${earlier.id}); send a new key for a new order.`);
    }
    return this.withOrderBilling(tenantId, await this.views.get(tenantId, earlier.id), earlier.planId);
  }

  /**
   * The order's answer says how it is paid (`billing`, see OrderBillingView): billing off, or, while the server waits
   * for payment, the Checkout URL, joined to the team's hourly subscription, or why no payment step could be started.
   * A replay of an order already paid and placed has none.
   */
  private async withOrderBilling(tenantId: string, view: ServerView, planId: string): Promise<ServerView> {
    if (!this.billing.enabled || view.state === 'pending_payment') {
      view.billing = await this.billing.startCheckout({ tenantId, serverId: view.id, planId });
      if (view.state === 'pending_payment') view.checkoutUrl = view.billing.checkoutUrl;
    }
    return view;
  }
}

const tenantSuspended = () => new ServerError('tenant_suspended', 'Your account is suspended, so no new servers can be ordered; please contact support.');

interface Placed {
  server: ServerEntity;
  plan: PlanEntity;
  image: ImageEntity;
  location: LocationEntity;
  addresses: Address[];
  started: Started | null;
}

function viewOf(p: Placed): ServerView {
  return {
    id: p.server.id,
    tenantId: p.server.tenantId,
    hostname: p.server.hostname,
    state: p.server.state,
    plan: planView(p.plan),
    image: imageView(p.image),
    location: locationView(p.location),
    nodeId: p.server.nodeId,
    addresses: p.addresses.map((a) => ({ family: a.family, address: a.address, prefix: a.prefix, gateway: a.gateway })),
    currentTask: p.started?.task ? taskView(p.started.task) : null,
    iso: null,
    sshKeyIds: [...p.server.sshKeyIds],
    rootPasswordSet: p.server.rootPasswordHash !== null,
    createdAt: p.server.createdAt.toISOString(),
    updatedAt: p.server.updatedAt.toISOString(),
  };
}

/** An entity from `to_jsonb(row)`: column names mapped to properties through TypeORM's metadata. */
function entityFromJson<T extends object>(m: EntityManager, entity: new () => T, json: Record<string, unknown>): T {
  const out = new entity() as Record<string, unknown>;
  for (const col of m.connection.getMetadata(entity).columns) {
    let v = json[col.databaseName];
    if (v !== null && v !== undefined && (col.type === 'timestamptz' || col.type === Date)) v = new Date(v as string);
    out[col.propertyName] = col.transformer && !Array.isArray(col.transformer) ? col.transformer.from(v) : v;
  }
  return out as T;
}
