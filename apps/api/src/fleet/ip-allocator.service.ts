import { Injectable } from '@nestjs/common';
import type { Address } from '@oblako/contracts';
import type { EntityManager } from 'typeorm';
import { addressAt, parseCidr } from './cidr.js';
import { FleetError } from './fleet.errors.js';

interface PoolRow { id: string; family: 4 | 6; cidr: string; gateway: string; first_offset: string; last_offset: string }

/**
 * Hands out addresses by arithmetic: a pool is a CIDR block, an address is `network + offset`,
 * and only addresses in use (plus the reserved gateway) have a row. That works the same for an
 * IPv4 /24 and an IPv6 /64 without materialising billions of rows. Safety under concurrency:
 * the pool row is locked (FOR UPDATE) while the lowest free offset is found and inserted, and
 * UNIQUE (pool_id, offset) and UNIQUE (address) make a double grant impossible even if a bug
 * skipped the lock.
 */
@Injectable()
export class IpAllocatorService {
  /**
   * Give a new server one IPv4 address (required) and, where the location has IPv6 pools, one IPv6
   * address, inside the caller's transaction. All pools of the location are locked in one
   * statement, in a fixed order, so concurrent orders cannot deadlock on them.
   */
  async allocateForServer(m: EntityManager, input: { locationId: string; serverId: string; tenantId: string }): Promise<Address[]> {
    const pools: PoolRow[] = await m.query(
      `SELECT id, family, cidr::text AS cidr, host(gateway) AS gateway, first_offset::text, last_offset::text
         FROM ip_pools WHERE location_id = $1 ORDER BY family, created_at, id FOR UPDATE`,
      [input.locationId],
    );
    const out: Address[] = [];
    for (const family of [4, 6] as const) {
      let got: Address | null = null;
      for (const pool of pools.filter((p) => p.family === family)) {
        got = await this.takeLowestFree(m, pool, input.serverId, input.tenantId);
        if (got) break;
      }
      if (got) out.push(got);
      else if (family === 4) {
        throw new FleetError('no_ip_available', 'No free IPv4 address is left in this location; try another location, or ask the provider to add an IP pool.');
      }
    }
    return out;
  }

  /** The lowest free offset of a pool the caller has locked, recorded for the server; null when the pool is full. */
  private async takeLowestFree(m: EntityManager, pool: PoolRow, serverId: string, tenantId: string): Promise<Address | null> {
    const free: { o: string }[] = await m.query(
      `SELECT c.o::text AS o FROM (
          SELECT $2::numeric AS o
          UNION ALL
          SELECT a."offset" + 1 FROM ip_addresses a WHERE a.pool_id = $1
       ) c
       WHERE c.o BETWEEN $2::numeric AND $3::numeric
         AND NOT EXISTS (SELECT 1 FROM ip_addresses b WHERE b.pool_id = $1 AND b."offset" = c.o)
       ORDER BY c.o LIMIT 1`,
      [pool.id, pool.first_offset, pool.last_offset],
    );
    const offset = free[0]?.o;
    if (offset === undefined) return null;
    const address = addressAt(parseCidr(pool.cidr), BigInt(offset));
    await m.query(
      `INSERT INTO ip_addresses (pool_id, "offset", address, server_id, tenant_id) VALUES ($1, $2::numeric, $3::inet, $4, $5)`,
      [pool.id, offset, address, serverId, tenantId],
    );
    return { family: pool.family, address, prefix: pool.family === 4 ? 32 : 128, gateway: pool.gateway };
  }

  /** Give a server's addresses back to their pools (inside the caller's transaction). */
  async releaseForServer(m: EntityManager, serverId: string): Promise<void> {
    await m.query('DELETE FROM ip_addresses WHERE server_id = $1 AND reserved_for IS NULL', [serverId]);
  }

  async addressesOf(m: EntityManager, serverIds: readonly string[]): Promise<Map<string, Address[]>> {
    const out = new Map<string, Address[]>();
    if (!serverIds.length) return out;
    const rows: { server_id: string; family: 4 | 6; address: string; gateway: string }[] = await m.query(
      `SELECT a.server_id, p.family, host(a.address) AS address, host(p.gateway) AS gateway
         FROM ip_addresses a JOIN ip_pools p ON p.id = a.pool_id
        WHERE a.server_id = ANY($1::uuid[]) ORDER BY p.family, a.address`,
      [serverIds],
    );
    for (const r of rows) {
      const list = out.get(r.server_id) ?? [];
      list.push({ family: r.family, address: r.address, prefix: r.family === 4 ? 32 : 128, gateway: r.gateway });
      out.set(r.server_id, list);
    }
    return out;
  }
}
