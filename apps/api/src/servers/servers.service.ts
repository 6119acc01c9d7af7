import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import {
  NodeCommandSchema, planAction, WIRE_VERSION,
  type Address, type Page, type ServerSpec, type ServerAction, type ServerState, type ServerView, type TaskOp, type TaskView,
} from '@oblako/contracts';
import { DataSource, In, type EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { pgCode } from '../catalogue/catalogue.errors.js';
import { ImageEntity, LocationEntity, PlanEntity } from '../catalogue/catalogue.entities.js';
import { imageView, locationView, planView } from '../catalogue/catalogue.service.js';
import type { Actor } from '../common/request-context.js';
import { IpAllocatorService } from '../fleet/ip-allocator.service.js';
import { NatsService } from '../messaging/nats.service.js';
import { SshKeysService } from '../ssh-keys/ssh-keys.service.js';
import type { SshKeyEntity } from '../ssh-keys/ssh-key.entity.js';
import { BillingPort } from './billing.port.js';
import { NodePlacementService } from './node-placement.service.js';
import { OutboxRelayService, type CommittedCommand } from './outbox-relay.service.js';
import { ServerEntity, TaskEntity } from './server.entities.js';
import { ServerEventsBus } from './server-events.bus.js';
import { ServerError } from './servers.errors.js';

export interface CreateServerInput {
  planId: string;
  imageId: string;
  locationId: string;
  hostname: string;
  sshKeyIds?: string[];
}

const DEFAULT_PAGE = 25;
const ACTIVE_TASK_STATES = ['queued', 'dispatched', 'running'];

@Injectable()
export class ServersService {
  /** Commands written in a transaction, handed to the relay once it commits. */
  private readonly unpublished = new WeakMap<TaskEntity, CommittedCommand>();

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(NodePlacementService) private readonly placement: NodePlacementService,
    @Inject(IpAllocatorService) private readonly ips: IpAllocatorService,
    @Inject(SshKeysService) private readonly sshKeys: SshKeysService,
    @Inject(NatsService) private readonly nats: NatsService,
    @Inject(OutboxRelayService) private readonly relay: OutboxRelayService,
    @Inject(ServerEventsBus) private readonly bus: ServerEventsBus,
    @Inject(BillingPort) private readonly billing: BillingPort,
    @Inject(AuditService) private readonly audit: AuditService,
  ) {}

  /**
   * Order a server. With billing off it is placed at once: node capacity, its address, the task and
   * the outbox row are written in one transaction, so an order either fully happens or not at all.
   */
  async create(tenantId: string, actor: Actor, input: CreateServerInput, acceptedAt: number, idempotencyKey: string | null = null): Promise<ServerView> {
    if (idempotencyKey) {
      const earlier = await this.findByIdempotencyKey(tenantId, idempotencyKey);
      if (earlier) return this.replay(tenantId, earlier, input);
    }
    let placed: Placed;
    try {
      placed = await this.ds.transaction(async (m) => {
        const { plan, image, location, tenantLocked } = await this.orderCatalogue(m, tenantId, input);
        const keys = await this.sshKeys.requireOwned(m, tenantId, input.sshKeyIds ?? []);
        await this.checkTenant(m, tenantId, tenantLocked);
        const server = await m.save(
          m.create(ServerEntity, {
            tenantId, planId: plan.id, imageId: image.id, locationId: location.id, nodeId: null, hostname: input.hostname.toLowerCase(),
            state: this.billing.enabled ? 'pending_payment' : 'provisioning', vcpus: plan.vcpus, memoryMiB: plan.memoryMiB, diskGiB: plan.diskGiB,
            sshKeyIds: keys.map((k) => k.id), idempotencyKey, deletedAt: null,
          }),
        );
        await this.audit.record(m, { tenantId, actorUserId: actor.userId, actorKind: actor.kind, action: 'server.create', targetType: 'server', targetId: server.id, ip: actor.ip, details: { planId: plan.id, imageId: image.id, locationId: location.id, hostname: server.hostname } });
        if (this.billing.enabled) return { server, plan, image, location, addresses: [], task: null };
        const { task, addresses } = await this.provision(m, server, plan, image, keys, acceptedAt);
        return { server, plan, image, location, addresses, task };
      });
    } catch (err) {
      // A concurrent request with the same key won the race: answer with its order.
      if (idempotencyKey && pgCode(err) === '23505') {
        const earlier = await this.findByIdempotencyKey(tenantId, idempotencyKey);
        if (earlier) return this.replay(tenantId, earlier, input);
      }
      throw err;
    }
    this.afterCommit(placed.server, placed.task);
    // Everything the answer needs is in hand: no queries after the commit.
    const view = viewOf(placed);
    if (placed.server.state === 'pending_payment') view.checkoutUrl = await this.billing.startCheckout({ tenantId, serverId: placed.server.id, planId: placed.server.planId });
    return view;
  }

  /**
   * Plan, image and location of an order (each must exist and be active) and the tenant's state, in one query.
   * A tenant without a server cap is read FOR SHARE, so a staff suspension (which updates the row) waits for
   * this order to commit and then holds its server, or commits first and this order is refused. A capped
   * tenant is left unlocked here: checkTenant locks it FOR UPDATE (taking SHARE first would deadlock
   * parallel orders upgrading their locks).
   */
  private async orderCatalogue(m: EntityManager, tenantId: string, input: CreateServerInput) {
    type TenantRow = { suspended: boolean } | null;
    const [row]: { plan: Record<string, unknown> | null; image: Record<string, unknown> | null; location: Record<string, unknown> | null; uncapped: TenantRow; tenant: TenantRow }[] = await m.query(
      `SELECT (SELECT to_jsonb(p) FROM plans p WHERE p.id = $1 AND p.active) AS plan,
              (SELECT to_jsonb(i) FROM images i WHERE i.id = $2 AND i.active) AS image,
              (SELECT to_jsonb(l) FROM locations l WHERE l.id = $3) AS location,
              (SELECT jsonb_build_object('suspended', suspended_at IS NOT NULL) FROM tenants WHERE id = $4 AND server_limit IS NULL FOR SHARE) AS uncapped,
              (SELECT jsonb_build_object('suspended', suspended_at IS NOT NULL) FROM tenants WHERE id = $4) AS tenant`,
      [input.planId, input.imageId, input.locationId, tenantId],
    );
    if (row?.uncapped?.suspended || row?.tenant?.suspended) throw tenantSuspended();
    if (!row?.plan) throw new ServerError('plan_not_found', `No plan with id ${input.planId}; choose one from GET /api/v1/plans.`, [{ field: 'planId', problems: ['unknown plan'] }]);
    if (!row.image) throw new ServerError('image_not_found', `No image with id ${input.imageId}; choose one from GET /api/v1/images.`, [{ field: 'imageId', problems: ['unknown image'] }]);
    if (!row.location) throw new ServerError('location_not_found', `No location with id ${input.locationId}; choose one from GET /api/v1/locations.`, [{ field: 'locationId', problems: ['unknown location'] }]);
    return {
      plan: entityFromJson(m, PlanEntity, row.plan),
      image: entityFromJson(m, ImageEntity, row.image),
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
      throw new ServerError('quota_exceeded', `Your tenant may have at most ${tenant.server_limit} server(s) and has ${n}; delete one, or ask support to raise the limit.`);
    }
  }

  private async findByIdempotencyKey(tenantId: string, key: string): Promise<ServerEntity | null> {
    return this.ds.getRepository(ServerEntity).findOneBy({ tenantId, idempotencyKey: key });
  }

  /** The same key again: the same order, if it asked for the same thing. */
  private async replay(tenantId: string, earlier: ServerEntity, input: CreateServerInput): Promise<ServerView> {
    const same =
      earlier.planId === input.planId && earlier.imageId === input.imageId && earlier.locationId === input.locationId &&
      earlier.hostname === input.hostname.toLowerCase() &&
      [...earlier.sshKeyIds].sort().join(',') === [...new Set(input.sshKeyIds ?? [])].sort().join(',');
    if (!same) {
      throw new ServerError('idempotency_key_reused', `This Idempotency-Key was already used for a different order (server ${earlier.id}); send a new key for a new order.`);
    }
    const view = await this.get(tenantId, earlier.id);
    if (view.state === 'pending_payment') view.checkoutUrl = await this.billing.startCheckout({ tenantId, serverId: earlier.id, planId: earlier.planId });
    return view;
  }

  /** For the billing module: the order was paid, place it now. */
  async provisionPaid(serverId: string): Promise<void> {
    const { server, task } = await this.ds.transaction(async (m) => {
      const server = await m.findOne(ServerEntity, { where: { id: serverId }, lock: { mode: 'pessimistic_write' } });
      if (!server || server.state !== 'pending_payment') return { server: null, task: null };
      const plan = await m.findOneByOrFail(PlanEntity, { id: server.planId });
      const image = await m.findOneByOrFail(ImageEntity, { id: server.imageId });
      const keys = await this.sshKeys.requireOwned(m, server.tenantId, server.sshKeyIds);
      const { task } = await this.provision(m, server, plan, image, keys, Date.now());
      return { server, task };
    });
    if (server) this.afterCommit(server, task);
  }

  async list(tenantId: string, cursor: string | undefined, limit = DEFAULT_PAGE): Promise<Page<ServerView>> {
    const after = cursor ? decodeCursor(cursor) : null;
    const rows: { id: string; ts: string }[] = await this.ds.query(
      `SELECT id, created_at::text AS ts FROM servers
        WHERE tenant_id = $1 AND deleted_at IS NULL ${after ? 'AND (created_at, id) < ($3::timestamptz, $4::uuid)' : ''}
        ORDER BY created_at DESC, id DESC LIMIT $2`,
      after ? [tenantId, limit + 1, after.ts, after.id] : [tenantId, limit + 1],
    );
    const page = rows.slice(0, limit);
    const servers = page.length ? await this.ds.getRepository(ServerEntity).findBy({ tenantId, id: In(page.map((r) => r.id)) }) : [];
    const views = await this.views(this.ds.manager, servers);
    const byId = new Map(views.map((v) => [v.id, v]));
    const last = page[page.length - 1];
    return { items: page.map((r) => byId.get(r.id)!), nextCursor: rows.length > limit && last ? encodeCursor(last.ts, last.id) : null };
  }

  /** Staff: servers of every tenant, newest first, optionally by tenant, node or state. Not for customer routes. */
  async listForStaff(filter: { tenantId?: string; nodeId?: string; state?: string }, cursor: string | undefined, limit = DEFAULT_PAGE): Promise<Page<ServerView>> {
    const after = cursor ? decodeCursor(cursor) : null;
    const where: string[] = [];
    const params: unknown[] = [limit + 1];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (filter.tenantId) add('tenant_id = ?', filter.tenantId);
    if (filter.nodeId) add('node_id = ?', filter.nodeId);
    if (filter.state) add('state = ?', filter.state);
    else where.push('deleted_at IS NULL');
    if (after) {
      params.push(after.ts, after.id);
      where.push(`(created_at, id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
    }
    const rows: { id: string; ts: string }[] = await this.ds.query(
      `SELECT id, created_at::text AS ts FROM servers ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT $1`,
      params,
    );
    const page = rows.slice(0, limit);
    const servers = page.length ? await this.ds.getRepository(ServerEntity).findBy({ id: In(page.map((r) => r.id)) }) : [];
    const views = await this.views(this.ds.manager, servers);
    const byId = new Map(views.map((v) => [v.id, v]));
    const last = page[page.length - 1];
    return { items: page.map((r) => byId.get(r.id)!), nextCursor: rows.length > limit && last ? encodeCursor(last.ts, last.id) : null };
  }

  async get(tenantId: string, id: string): Promise<ServerView> {
    const server = await this.ds.getRepository(ServerEntity).findOneBy({ tenantId, id });
    if (!server) throw notFound();
    const [view] = await this.views(this.ds.manager, [server]);
    return view!;
  }

  async tasks(tenantId: string, serverId: string): Promise<TaskView[]> {
    const exists = await this.ds.getRepository(ServerEntity).existsBy({ tenantId, id: serverId });
    if (!exists) throw notFound();
    const rows = await this.ds.getRepository(TaskEntity).find({ where: { tenantId, serverId }, order: { createdAt: 'DESC', id: 'DESC' }, take: 100 });
    return rows.map(taskView);
  }

  /** start, stop, reboot, delete...: allowed only as the contract's transition table says; otherwise 409 with its reason. */
  async act(tenantId: string, actor: Actor, serverId: string, action: ServerAction, acceptedAt: number, opts: { imageId?: string } = {}): Promise<ServerView> {
    if (action !== 'rebuild' && opts.imageId) throw new ServerError('invalid_input', 'imageId goes only with the rebuild action.');
    const { server, task } = await this.ds.transaction(async (m) => {
      const server = await m.findOne(ServerEntity, { where: { tenantId, id: serverId }, lock: { mode: 'pessimistic_write' } });
      if (!server) throw notFound();
      const active = await m.query(`SELECT 1 FROM tasks WHERE server_id = $1 AND state = ANY($2::text[]) LIMIT 1`, [server.id, ACTIVE_TASK_STATES]);
      const plan = planAction(server.state, action, active.length > 0);
      if (!plan.ok) throw new ServerError('invalid_transition', server.state === 'suspended' ? await this.whySuspended(m, server) : plan.reason);
      await this.audit.record(m, { tenantId, actorUserId: actor.userId, actorKind: actor.kind, action: `server.${action}`, targetType: 'server', targetId: server.id, ip: actor.ip, details: { from: server.state } });
      if (!server.nodeId) {
        // Never placed (waiting for payment): nothing runs anywhere, so only a delete can apply, and it applies at once.
        if (action !== 'delete') throw new ServerError('invalid_transition', `The server has not been placed on a node yet; it cannot ${action}.`);
        server.state = 'deleted';
        server.deletedAt = new Date();
        await m.save(server);
        return { server, task: null };
      }
      const previous = server.state;
      let extra: Record<string, unknown> = {};
      if (plan.op === 'delete') extra = { addresses: (await this.ips.addressesOf(m, [server.id])).get(server.id) ?? [] };
      if (plan.op === 'rebuild') {
        const image = await m.findOneBy(ImageEntity, { id: opts.imageId ?? server.imageId, active: true });
        if (!image) throw new ServerError('image_not_found', `No active image with id ${opts.imageId}; pick one from GET /api/v1/images.`);
        server.imageId = image.id;
        const planRow = await m.findOneByOrFail(PlanEntity, { id: server.planId });
        const keys = await this.sshKeys.requireOwned(m, server.tenantId, server.sshKeyIds);
        const addresses = (await this.ips.addressesOf(m, [server.id])).get(server.id) ?? [];
        extra = { spec: this.specFor(server, planRow, image, keys, addresses) };
      }
      server.state = plan.via;
      await m.save(server);
      const task = await this.enqueue(m, server, plan.op, previous, acceptedAt, extra);
      return { server, task };
    });
    this.afterCommit(server, task);
    return this.get(tenantId, serverId);
  }

  /** Why a suspended server refuses an action, in words the customer can act on (staff reasons stay in the audit log). */
  private async whySuspended(m: EntityManager, server: ServerEntity): Promise<string> {
    const [r]: { tenant_suspended: boolean; staff_hold: boolean | null; ended: boolean | null }[] = await m.query(
      `SELECT t.suspended_at IS NOT NULL AS tenant_suspended, sb.staff_hold, sb.subscription_ended_at IS NOT NULL AS ended
         FROM tenants t LEFT JOIN server_billing sb ON sb.server_id = $2 WHERE t.id = $1`,
      [server.tenantId, server.id],
    );
    if (r?.staff_hold && r.tenant_suspended) return 'The server is suspended because your account is suspended; please contact support to have it lifted.';
    if (r?.staff_hold) return 'The server is suspended by our staff; please contact support to have it unsuspended.';
    if (r?.ended) return 'The server is suspended because its subscription has ended; it will be deleted after the retention period unless you contact support.';
    return 'The server is suspended because a payment is overdue; settle the invoice (Billing) to have it started again, or contact support.';
  }

  private async provision(m: EntityManager, server: ServerEntity, plan: PlanEntity, image: ImageEntity, keys: SshKeyEntity[], acceptedAt: number): Promise<{ task: TaskEntity; addresses: Address[] }> {
    const nodeId = await this.placement.reserve(m, server.locationId, { vcpus: server.vcpus, memoryMiB: server.memoryMiB, diskGiB: server.diskGiB });
    const addresses: Address[] = await this.ips.allocateForServer(m, { locationId: server.locationId, serverId: server.id, tenantId: server.tenantId });
    const previous = server.state;
    server.nodeId = nodeId;
    server.state = 'provisioning';
    await m.update(ServerEntity, { id: server.id }, { nodeId, state: 'provisioning' });
    const task = await this.enqueue(m, server, 'create', previous, acceptedAt, { spec: this.specFor(server, plan, image, keys, addresses) });
    return { task, addresses };
  }

  /** What the node needs to build (or rebuild) the server: the contract's ServerSpec. */
  private specFor(server: ServerEntity, plan: PlanEntity, image: ImageEntity, keys: SshKeyEntity[], addresses: Address[]): ServerSpec {
    return {
      serverId: server.id,
      hostname: server.hostname,
      vcpus: server.vcpus,
      memoryMiB: server.memoryMiB,
      diskGiB: server.diskGiB,
      cpuQuotaPercent: plan.cpuQuotaPercent,
      cpuShares: 1024,
      diskIops: plan.diskIops,
      diskMBps: plan.diskMBps,
      netMbit: plan.netMbit,
      image: { id: image.id, name: image.name, url: image.url, sha256: image.sha256, format: image.format, cloudInit: 'nocloud' },
      addresses,
      sshKeys: keys.map((k) => k.publicKey),
    };
  }

  /** Write the task and its command (validated against the contract) to the outbox in one statement, in the caller's transaction. */
  private async enqueue(m: EntityManager, server: ServerEntity, op: TaskOp, previous: ServerState, acceptedAt: number, extra: Record<string, unknown>): Promise<TaskEntity> {
    const nodeId = server.nodeId!;
    const taskId = randomUUID();
    const command = NodeCommandSchema.parse({ v: WIRE_VERSION, taskId, serverId: server.id, nodeId, attempt: 1, issuedAt: acceptedAt, op, ...extra });
    const subject = this.nats.subjects.nodeCommand(nodeId, op);
    const payload = JSON.stringify(command);
    const [outbox]: { id: string }[] = await m.query(
      `WITH t AS (
         INSERT INTO tasks (id, tenant_id, server_id, node_id, op, state, progress, attempts, previous_state, timings)
         VALUES ($1, $2, $3, $4, $5, 'queued', 0, 1, $6, $7::jsonb) RETURNING id
       )
       INSERT INTO outbox (task_id, subject, payload) SELECT id, $8, $9::jsonb FROM t RETURNING id`,
      [taskId, server.tenantId, server.id, nodeId, op, previous, JSON.stringify({ acceptedAt }), subject, payload],
    );
    const task = Object.assign(new TaskEntity(), {
      id: taskId, tenantId: server.tenantId, serverId: server.id, nodeId, op, state: 'queued', progress: 0, stage: null, error: null, attempts: 1,
      previousState: previous, timings: { acceptedAt }, finishedAt: null, createdAt: new Date(), updatedAt: new Date(),
    });
    this.unpublished.set(task, { outboxId: outbox!.id, taskId, subject, payload });
    return task;
  }

  private afterCommit(server: ServerEntity, task: TaskEntity | null): void {
    const publication = task ? this.unpublished.get(task) : undefined;
    if (publication) this.relay.publishCommitted(publication);
    this.bus.emit({
      tenantId: server.tenantId,
      serverId: server.id,
      state: server.state,
      task: task ? { id: task.id, serverId: task.serverId, op: task.op, state: task.state, progress: task.progress, stage: task.stage, error: task.error } : null,
    });
  }

  /** Views for a batch of servers of one tenant: a fixed number of queries, whatever the batch size. */
  private async views(m: EntityManager, servers: ServerEntity[]): Promise<ServerView[]> {
    if (!servers.length) return [];
    const ids = servers.map((s) => s.id);
    const [plans, images, locations, addresses, current] = await Promise.all([
      m.findBy(PlanEntity, { id: In([...new Set(servers.map((s) => s.planId))]) }),
      m.findBy(ImageEntity, { id: In([...new Set(servers.map((s) => s.imageId))]) }),
      m.findBy(LocationEntity, { id: In([...new Set(servers.map((s) => s.locationId))]) }),
      this.ips.addressesOf(m, ids),
      m.query(
        `SELECT DISTINCT ON (server_id) id FROM tasks WHERE server_id = ANY($1::uuid[])
          ORDER BY server_id, (state IN ('queued', 'dispatched', 'running')) DESC, created_at DESC, id DESC`,
        [ids],
      ) as Promise<{ id: string }[]>,
    ]);
    const tasks = current.length ? await m.findBy(TaskEntity, { id: In(current.map((t) => t.id)) }) : [];
    return servers.map((s) => ({
      id: s.id,
      tenantId: s.tenantId,
      hostname: s.hostname,
      state: s.state,
      plan: planView(plans.find((p) => p.id === s.planId)!),
      image: imageView(images.find((i) => i.id === s.imageId)!),
      location: locationView(locations.find((l) => l.id === s.locationId)!),
      nodeId: s.nodeId,
      addresses: (addresses.get(s.id) ?? []).map((a) => ({ family: a.family, address: a.address, prefix: a.prefix, gateway: a.gateway })),
      currentTask: ((t) => (t ? taskView(t) : null))(tasks.find((t) => t.serverId === s.id)),
      createdAt: s.createdAt.toISOString(),
      updatedAt: s.updatedAt.toISOString(),
    }));
  }
}

const notFound = () => new ServerError('server_not_found', 'No server with that id in this tenant.');
const tenantSuspended = () => new ServerError('tenant_suspended', 'Your account is suspended, so no new servers can be ordered; please contact support.');

export function taskView(t: TaskEntity): TaskView {
  return {
    id: t.id, serverId: t.serverId, op: t.op, state: t.state, progress: t.progress, stage: t.stage, error: t.error, attempts: t.attempts,
    createdAt: t.createdAt.toISOString(), updatedAt: t.updatedAt.toISOString(), finishedAt: t.finishedAt?.toISOString() ?? null,
  };
}

export function encodeCursor(ts: string, id: string): string {
  return Buffer.from(JSON.stringify([ts, id])).toString('base64url');
}

export function decodeCursor(cursor: string): { ts: string; id: string } {
  try {
    const [ts, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, unknown];
    if (typeof ts === 'string' && typeof id === 'string' && /^\d{4}-\d{2}-\d{2}[ T][\d:.]+([+-]\d{2}(:?\d{2})?|Z)?$/.test(ts) && /^[0-9a-f-]{36}$/i.test(id)) return { ts, id };
  } catch {
    // fall through
  }
  throw new ServerError('invalid_cursor', 'The cursor is not one this API issued; pass nextCursor from the previous page unchanged, or omit it for the first page.');
}

interface Placed {
  server: ServerEntity;
  plan: PlanEntity;
  image: ImageEntity;
  location: LocationEntity;
  addresses: Address[];
  task: TaskEntity | null;
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
    currentTask: p.task ? taskView(p.task) : null,
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
