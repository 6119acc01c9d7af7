import { isIP } from 'node:net';
import { Inject, Injectable } from '@nestjs/common';
import { basePathProblem, hostnameProblem, type BackupStoreView } from '@oblako/contracts';
import { DataSource, type EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import type { Actor } from '../common/request-context.js';
import { pgCode } from '../database/sql.js';
import { BackupStoreEntity } from './backup-store.entity.js';
import { BackupStoreError } from './backup-stores.errors.js';
import type { CreateBackupStoreDto, UpdateBackupStoreDto } from './backup-stores.dto.js';
import { HostKeyError, keyOfPinned, pinHostKey } from './known-hosts.js';

function invalid(field: string, problem: string): BackupStoreError {
  return new BackupStoreError('validation_failed', problem, [{ field, problems: [problem] }]);
}

/** A host name or an IP address; never something ssh would read as an option. */
export function storeHostProblem(host: string): string | null {
  const h = host.trim();
  if (!h) return 'host is required: the store\'s host name or IP address.';
  if (isIP(h)) return null;
  const p = hostnameProblem(h);
  return p ? `host must be a host name or an IP address: ${p}` : null;
}

function normalizeBasePath(path: string): string {
  const p = path.trim();
  return p.length > 1 ? p.replace(/\/+$/, '') : p;
}

function pin(hostKey: string, host: string, port: number) {
  try {
    return pinHostKey(hostKey, host, port);
  } catch (err) {
    if (err instanceof HostKeyError) throw invalid('hostKey', err.message);
    throw err;
  }
}

/** Staff's backup stores: each change validated, audited, and a store holding backups is disabled, never deleted. */
@Injectable()
export class BackupStoresService {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(AuditService) private readonly audit: AuditService,
  ) {}

  async list(): Promise<BackupStoreView[]> {
    const rows = await this.ds.getRepository(BackupStoreEntity).find({ order: { name: 'ASC', id: 'ASC' } });
    const usage = await this.usage(this.ds.manager);
    return rows.map((r) => view(r, usage.get(r.id)));
  }

  async get(id: string): Promise<BackupStoreView> {
    const row = await this.ds.getRepository(BackupStoreEntity).findOneBy({ id });
    if (!row) throw notFound(id);
    return view(row, (await this.usage(this.ds.manager, id)).get(id));
  }

  async create(actor: Actor, dto: CreateBackupStoreDto): Promise<BackupStoreView> {
    const host = dto.host.trim().toLowerCase();
    const port = dto.port ?? 22;
    const hostProblem = storeHostProblem(host);
    if (hostProblem) throw invalid('host', hostProblem);
    const basePath = normalizeBasePath(dto.basePath);
    const pathProblem = basePathProblem(basePath);
    if (pathProblem) throw invalid('basePath', pathProblem);
    const key = pin(dto.hostKey, host, port);
    return this.ds.transaction(async (m) => {
      const loc = await m.query('SELECT 1 FROM locations WHERE id = $1', [dto.locationId]);
      if (!loc.length) throw new BackupStoreError('location_not_found', `No location with id ${dto.locationId}.`, [{ field: 'locationId', problems: ['no such location'] }]);
      const row = m.create(BackupStoreEntity, {
        locationId: dto.locationId, name: dto.name.trim(), kind: dto.kind ?? 'sftp', host, port, username: dto.username, basePath,
        hostKey: key.line, enabled: dto.enabled ?? true,
      });
      await this.save(m, row);
      await this.audit.record(m, {
        tenantId: null, actorUserId: actor.userId, actorKind: 'staff', action: 'backup_store.create', targetType: 'backup_store', targetId: row.id, ip: actor.ip,
        details: { name: row.name, locationId: row.locationId, host, port, username: row.username, basePath, hostKeyFingerprint: key.fingerprint, enabled: row.enabled },
      });
      return view(row);
    });
  }

  async update(actor: Actor, id: string, dto: UpdateBackupStoreDto): Promise<BackupStoreView> {
    return this.ds.transaction(async (m) => {
      const row = await m.findOne(BackupStoreEntity, { where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!row) throw notFound(id);
      const changed: Record<string, unknown> = {};
      if (dto.host !== undefined) {
        const host = dto.host.trim().toLowerCase();
        const p = storeHostProblem(host);
        if (p) throw invalid('host', p);
        if (host !== row.host) changed.host = row.host = host;
      }
      if (dto.port !== undefined && dto.port !== row.port) changed.port = row.port = dto.port;
      if (dto.name !== undefined && dto.name.trim() !== row.name) changed.name = row.name = dto.name.trim();
      if (dto.username !== undefined && dto.username !== row.username) changed.username = row.username = dto.username;
      if (dto.basePath !== undefined) {
        const basePath = normalizeBasePath(dto.basePath);
        const p = basePathProblem(basePath);
        if (p) throw invalid('basePath', p);
        if (basePath !== row.basePath) changed.basePath = row.basePath = basePath;
      }
      if (dto.enabled !== undefined && dto.enabled !== row.enabled) changed.enabled = row.enabled = dto.enabled;
      // a new key, or the same key pinned again to the new host/port
      const key = pin(dto.hostKey ?? keyOfPinned(row.hostKey), row.host, row.port);
      const repinned = key.line !== row.hostKey;
      if (keyOfPinned(key.line) !== keyOfPinned(row.hostKey)) changed.hostKeyFingerprint = key.fingerprint;
      row.hostKey = key.line;
      if (Object.keys(changed).length || repinned) {
        await this.save(m, row);
        await this.audit.record(m, { tenantId: null, actorUserId: actor.userId, actorKind: 'staff', action: 'backup_store.update', targetType: 'backup_store', targetId: id, ip: actor.ip, details: changed });
      }
      return view(row, (await this.usage(m, id)).get(id));
    });
  }

  async remove(actor: Actor, id: string): Promise<void> {
    await this.ds.transaction(async (m) => {
      const row = await m.findOne(BackupStoreEntity, { where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!row) throw notFound(id);
      const n = (await this.usage(m, id)).get(id)?.count ?? 0;
      if (n > 0) throw inUse(n);
      try {
        await m.delete(BackupStoreEntity, { id });
      } catch (err) {
        if (pgCode(err) === '23503') throw inUse(null);
        throw err;
      }
      await this.audit.record(m, { tenantId: null, actorUserId: actor.userId, actorKind: 'staff', action: 'backup_store.delete', targetType: 'backup_store', targetId: id, ip: actor.ip, details: { name: row.name } });
    });
  }

  private async save(m: EntityManager, row: BackupStoreEntity): Promise<void> {
    try {
      await m.save(row);
    } catch (err) {
      if (pgCode(err) === '23505') throw new BackupStoreError('duplicate', `A backup store named "${row.name}" exists already; choose another name.`, [{ field: 'name', problems: ['already taken'] }]);
      throw err;
    }
  }

  /** Backups per store (the backup engine's `backups` table; none while it does not exist yet). */
  /** Per store: its backups in any state (what blocks a delete) and the bytes its ready ones hold. */
  private async usage(m: Pick<EntityManager, 'query'>, id?: string): Promise<Map<string, StoreUsage>> {
    const [t]: { present: boolean }[] = await m.query(`SELECT to_regclass('backups') IS NOT NULL AS present`);
    if (!t?.present) return new Map();
    const rows: { store_id: string; n: number; ready: number; bytes: string }[] = await m.query(
      `SELECT store_id, count(*)::int AS n, (count(*) FILTER (WHERE state = 'ready'))::int AS ready, COALESCE(sum(size_bytes) FILTER (WHERE state = 'ready'), 0)::text AS bytes
         FROM backups WHERE ($1::uuid IS NULL OR store_id = $1) GROUP BY store_id`,
      [id ?? null],
    );
    return new Map(rows.map((r) => [r.store_id, { count: r.n, readyCount: r.ready, usedBytes: Number(r.bytes) }]));
  }
}

const notFound = (id: string) => new BackupStoreError('backup_store_not_found', `No backup store with id ${id}.`);
const inUse = (n: number | null) =>
  new BackupStoreError('backup_store_in_use', `The store holds ${n === null ? '' : `${n} `}backup${n === 1 ? '' : 's'}: it cannot be deleted while they exist. Disable it instead (enabled: false): no new backups go there and its backups stay restorable.`);

interface StoreUsage { count: number; readyCount: number; usedBytes: number }

export function view(r: BackupStoreEntity, usage: StoreUsage = { count: 0, readyCount: 0, usedBytes: 0 }): BackupStoreView {
  let fingerprint = '';
  try {
    fingerprint = pinHostKey(r.hostKey, r.host, r.port).fingerprint;
  } catch {
    fingerprint = 'unreadable host key';
  }
  return {
    id: r.id, locationId: r.locationId, name: r.name, kind: r.kind, host: r.host, port: r.port, username: r.username, basePath: r.basePath,
    hostKey: r.hostKey, hostKeyFingerprint: fingerprint, enabled: r.enabled, backupCount: usage.count, readyBackupCount: usage.readyCount,
    usedBytes: usage.usedBytes, createdAt: r.createdAt.toISOString(),
  };
}
