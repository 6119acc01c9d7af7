import type { DataSource, EntityManager } from 'typeorm';
import { hashPassword } from '../auth/secrets.js';
import { assignableRange, offsetOf, parseCidr, parseIp } from '../fleet/cidr.js';

export interface SeedImage {
  name: string;
  osFamily: string;
  version: string;
  url: string;
  sha256: string;
  format: 'qcow2' | 'raw';
  bootMode?: 'disk' | 'direct-kernel';
  defaultUser?: string;
  /** The image ships qemu-guest-agent. */
  guestAgent?: boolean;
}

export interface SeedOptions {
  adminEmail: string;
  adminPassword: string;
  customerEmail?: string;
  customerPassword?: string;
  customerTenantName?: string;
  locationCode?: string;
  nodeName?: string;
  /** Capacity of the demo node; defaults suit the libvirt test driver. */
  node?: { vcpus: number; memoryMiB: number; diskGiB: number; cpuOvercommit?: number; memoryOvercommit?: number };
  /** IPv4 block of the demo pool; defaults to TEST-NET-1 (documentation addresses, never routed). */
  ipv4Cidr?: string;
  ipv4Gateway?: string;
  images?: SeedImage[];
}

export interface SeedResult {
  locationId: string;
  nodeId: string;
  /** What the node daemon needs: the node id, its NATS user and (from the API's config) the NATS URL and prefix. */
  nodeNatsUser: string;
  ipPoolId: string;
  planIds: Record<'small' | 'medium' | 'large', string>;
  imageIds: string[];
  admin: { userId: string; email: string };
  customer: { userId: string; tenantId: string; email: string; password: string };
}

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export const DEFAULT_SEED_IMAGES: SeedImage[] = [
  { name: 'Debian 12', osFamily: 'debian', version: '12', url: 'file:///var/lib/oblako/images/debian-12.qcow2', sha256: EMPTY_SHA256, format: 'qcow2' },
  { name: 'Alpine 3.20', osFamily: 'alpine', version: '3.20', url: 'file:///var/lib/oblako/images/alpine-3.20.qcow2', sha256: EMPTY_SHA256, format: 'qcow2' },
];

/**
 * Demo data, idempotent (a second run finds everything and changes nothing): one location, one
 * node, an IPv4 pool, three plans, two images, a staff admin and a demo customer with a tenant.
 * Run after runMigrations(). The admin's password is (re)set to the one given.
 */
export async function seedDemo(ds: DataSource, opts: SeedOptions): Promise<SeedResult> {
  const adminHash = await hashPassword(opts.adminPassword);
  const customerEmail = (opts.customerEmail ?? 'demo@oblako.local').toLowerCase();
  const customerPassword = opts.customerPassword ?? 'demo-password-123';
  const customerHash = await hashPassword(customerPassword);
  return ds.transaction(async (m) => {
    await m.query('SELECT pg_advisory_xact_lock(7318001)');
    const locationId = await upsert(m, 'SELECT id FROM locations WHERE code = $1', [opts.locationCode ?? 'dc1'],
      'INSERT INTO locations (code, name, country) VALUES ($1, $2, $3) RETURNING id', [opts.locationCode ?? 'dc1', 'Demo datacentre 1', 'DE']);

    const nodeName = opts.nodeName ?? 'node-1';
    const cap = { vcpus: 16, memoryMiB: 65536, diskGiB: 2000, cpuOvercommit: 4, memoryOvercommit: 1, ...opts.node };
    const nodeId = await upsert(m, 'SELECT id FROM nodes WHERE name = $1', [nodeName],
      `INSERT INTO nodes (name, location_id, state, vcpus, memory_mib, disk_gib, cpu_overcommit, memory_overcommit, nats_user)
       VALUES ($1, $2, 'online', $3, $4, $5, $6, $7, $8) RETURNING id`,
      [nodeName, locationId, cap.vcpus, cap.memoryMiB, cap.diskGiB, cap.cpuOvercommit, cap.memoryOvercommit, `node-${nodeName}`]);

    const cidrText = opts.ipv4Cidr ?? '192.0.2.0/24';
    const gatewayText = opts.ipv4Gateway ?? '192.0.2.1';
    const cidr = parseCidr(cidrText);
    const range = assignableRange(cidr);
    const gwOffset = offsetOf(cidr, parseIp(gatewayText));
    const gwAssignable = gwOffset >= range.first && gwOffset <= range.last;
    let ipPoolId = (await m.query('SELECT id FROM ip_pools WHERE cidr = $1::cidr', [cidrText]))[0]?.id as string | undefined;
    if (!ipPoolId) {
      ipPoolId = (await m.query(
        `INSERT INTO ip_pools (location_id, family, cidr, gateway, first_offset, last_offset, total)
         VALUES ($1, 4, $2::cidr, $3::inet, $4::numeric, $5::numeric, $6::numeric) RETURNING id`,
        [locationId, cidrText, gatewayText, range.first.toString(), range.last.toString(), (range.last - range.first + 1n - (gwAssignable ? 1n : 0n)).toString()],
      ))[0].id as string;
      if (gwAssignable) {
        await m.query(`INSERT INTO ip_addresses (pool_id, "offset", address, reserved_for) VALUES ($1, $2::numeric, $3::inet, 'gateway')`, [ipPoolId, gwOffset.toString(), gatewayText]);
      }
    }

    const plans = [
      ['small', 'Small', 1, 1024, 20, 100, 2000, 100, 100, 1000, 500],
      ['medium', 'Medium', 2, 4096, 60, 100, 5000, 200, 500, 3000, 1500],
      ['large', 'Large', 4, 8192, 120, 100, 10000, 400, 1000, 6000, 3000],
    ] as const;
    const planIds = {} as SeedResult['planIds'];
    for (const [key, name, vcpus, mem, disk, quota, iops, mbps, mbit, traffic, price] of plans) {
      planIds[key] = await upsert(m, 'SELECT id FROM plans WHERE name = $1', [name],
        `INSERT INTO plans (name, vcpus, memory_mib, disk_gib, cpu_quota_percent, disk_iops, disk_mbps, net_mbit, traffic_gib, price_monthly_cents, currency)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'EUR') RETURNING id`,
        [name, vcpus, mem, disk, quota, iops, mbps, mbit, traffic, price]);
    }

    const imageIds: string[] = [];
    for (const img of opts.images ?? DEFAULT_SEED_IMAGES) {
      // a rebuilt image (new file, new sha256) replaces the row's file; the same inputs change nothing
      const [row]: { id: string }[] = await m.query(
        `INSERT INTO images (name, os_family, version, url, sha256, format, boot_mode, default_user, guest_agent) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (name) WHERE deleted_at IS NULL DO UPDATE SET url = EXCLUDED.url, sha256 = EXCLUDED.sha256, format = EXCLUDED.format, boot_mode = EXCLUDED.boot_mode, default_user = EXCLUDED.default_user, guest_agent = EXCLUDED.guest_agent
           WHERE (images.url, images.sha256, images.format, images.boot_mode, images.default_user, images.guest_agent) IS DISTINCT FROM (EXCLUDED.url, EXCLUDED.sha256, EXCLUDED.format, EXCLUDED.boot_mode, EXCLUDED.default_user, EXCLUDED.guest_agent)
         RETURNING id`,
        [img.name, img.osFamily, img.version, img.url, img.sha256, img.format, img.bootMode ?? null, img.defaultUser ?? null, img.guestAgent ?? false]);
      imageIds.push(row?.id ?? (await m.query('SELECT id FROM images WHERE name = $1 AND deleted_at IS NULL', [img.name]))[0].id);
    }

    const adminEmail = opts.adminEmail.toLowerCase();
    const adminId = await upsert(m, 'SELECT id FROM users WHERE lower(email) = $1', [adminEmail],
      `INSERT INTO users (email, password_hash, staff_role, email_verified_at) VALUES ($1, $2, 'admin', now()) RETURNING id`, [adminEmail, adminHash]);
    await m.query(`UPDATE users SET password_hash = $2, staff_role = 'admin' WHERE id = $1`, [adminId, adminHash]);

    let customerId = (await m.query('SELECT id FROM users WHERE lower(email) = $1', [customerEmail]))[0]?.id as string | undefined;
    let tenantId: string;
    if (!customerId) {
      tenantId = (await m.query('INSERT INTO tenants (name) VALUES ($1) RETURNING id', [opts.customerTenantName ?? 'Demo Customer']))[0].id;
      customerId = (await m.query('INSERT INTO users (email, password_hash, email_verified_at) VALUES ($1, $2, now()) RETURNING id', [customerEmail, customerHash]))[0].id as string;
      await m.query(`INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1, $2, 'owner')`, [tenantId, customerId]);
    } else {
      await m.query('UPDATE users SET password_hash = $2 WHERE id = $1', [customerId, customerHash]);
      tenantId = (await m.query('SELECT tenant_id FROM memberships WHERE user_id = $1 ORDER BY created_at LIMIT 1', [customerId]))[0].tenant_id;
    }

    return {
      locationId, nodeId, nodeNatsUser: `node-${nodeName}`, ipPoolId, planIds, imageIds,
      admin: { userId: adminId, email: adminEmail },
      customer: { userId: customerId, tenantId, email: customerEmail, password: customerPassword },
    };
  });
}

async function upsert(m: EntityManager, findSql: string, findParams: unknown[], insertSql: string, insertParams: unknown[]): Promise<string> {
  const found: { id: string }[] = await m.query(findSql, findParams);
  if (found[0]) return found[0].id;
  const inserted: { id: string }[] = await m.query(insertSql, insertParams);
  return inserted[0]!.id;
}
