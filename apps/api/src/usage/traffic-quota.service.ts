import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { nowMs } from '../common/clock.js';
import { SYSTEM_ACTOR, type Actor } from '../common/request-context.js';
import { NotificationsService } from '../notifications/notifications.service.js';
import { effectiveNetMbit } from '../operations/server-spec.js';
import { TaskRunner } from '../operations/task-runner.service.js';
import { ServerError } from '../servers/servers.errors.js';

const GIB = 1024 ** 3;

/** A server's traffic in its current quota period, as the API and the panel show it. */
export interface TrafficView {
  direction: 'in' | 'out' | 'both';
  periodStart: string;
  resetsAt: string;
  /** The plan's allowance plus what staff added; null = unlimited. */
  allowanceBytes: number | null;
  extraBytes: number;
  inBytes: number;
  outBytes: number;
  /** What counts against the allowance (in, out or both). */
  usedBytes: number;
  percent: number | null;
  /** The node confirmed the over-quota rate. */
  throttled: boolean;
  overQuotaMbit: number;
}

interface Row {
  server_id: string;
  tenant_id: string;
  hostname: string;
  state: string;
  throttle_mbit: number;
  throttle_applied_mbit: number;
  net_mbit: number;
  over_quota_mbit: number;
  traffic_gib: number;
  direction: 'in' | 'out' | 'both';
  period_start: Date;
  resets_at: Date;
  in_bytes: string;
  out_bytes: string;
  extra_bytes: string;
  warned: boolean;
  reached: boolean;
}

const CURRENT_SQL = `
SELECT sv.id AS server_id, sv.tenant_id, sv.hostname, sv.state, sv.throttle_mbit, sv.throttle_applied_mbit, p.net_mbit, p.over_quota_mbit,
       p.traffic_gib, p.traffic_direction AS direction, ps.start AS period_start,
       oblako_traffic_period_start(sv.created_at, p.traffic_period, ps.start + interval '32 days') AS resets_at,
       coalesce(st.in_bytes, 0)::text AS in_bytes, coalesce(st.out_bytes, 0)::text AS out_bytes, coalesce(st.extra_bytes, 0)::text AS extra_bytes,
       coalesce(st.warned, false) AS warned, coalesce(st.reached, false) AS reached
  FROM servers sv JOIN plans p ON p.id = sv.plan_id
 CROSS JOIN LATERAL (SELECT oblako_traffic_period_start(sv.created_at, p.traffic_period, now()) AS start) ps
  LEFT JOIN server_traffic st ON st.server_id = sv.id AND st.period_start = ps.start
 WHERE sv.id = ANY($1::uuid[])`;

/**
 * Traffic quotas: after each usage event (and every minute for throttled servers) it compares each server's
 * traffic in its current period with its plan's allowance plus what staff added. At 80 % and 100 % the tenant
 * is told once per period (notifications: panel and mail). At 100 % the server's wanted rate becomes the plan's
 * over-quota rate, and a `throttle` operation sets it on the node; under 100 % again (a new period, or traffic
 * added) the wanted rate is none and a `throttle` sets the plan's rate back. Until the node confirms the wanted
 * rate, it asks again (a server busy with another task, or stopped, gets it on the next look).
 */
@Injectable()
export class TrafficQuotaService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('TrafficQuota');
  private timer: NodeJS.Timeout | null = null;

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(TaskRunner) private readonly runner: TaskRunner,
    @Inject(NotificationsService) private readonly notifications: NotificationsService,
    @Inject(AuditService) private readonly audit: AuditService,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.sweep().catch((err: Error) => this.logger.warn(`quota sweep failed: ${err.message}`)), 60_000);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Servers throttled, or not yet at the rate they should have: look again (period resets lift throttles here). */
  async sweep(): Promise<void> {
    const rows = (await this.ds.query(`SELECT id FROM servers WHERE deleted_at IS NULL AND (throttle_mbit > 0 OR throttle_mbit <> throttle_applied_mbit)`)) as { id: string }[];
    if (rows.length) await this.evaluate(rows.map((r) => r.id));
  }

  async evaluate(serverIds: string[]): Promise<void> {
    const rows = (await this.ds.query(CURRENT_SQL, [serverIds])) as Row[];
    for (const r of rows) {
      try {
        await this.evaluateOne(r);
      } catch (err) {
        this.logger.warn(`quota of server ${r.server_id}: ${(err as Error).message}`);
      }
    }
  }

  private async evaluateOne(r: Row): Promise<void> {
    const v = view(r);
    const over = v.allowanceBytes !== null && v.usedBytes >= v.allowanceBytes;
    const warn = v.allowanceBytes !== null && v.usedBytes >= 0.8 * v.allowanceBytes;
    const period = r.period_start.toISOString();
    if ((warn && !r.warned) || (over && !r.reached)) {
      await this.ds.transaction(async (m) => {
        await m.query(
          `INSERT INTO server_traffic (server_id, period_start, warned, reached) VALUES ($1, $2, $3, $4)
           ON CONFLICT (server_id, period_start) DO UPDATE SET warned = server_traffic.warned OR EXCLUDED.warned, reached = server_traffic.reached OR EXCLUDED.reached`,
          [r.server_id, r.period_start, warn, over],
        );
        const used = `${gib(v.usedBytes)} of ${gib(v.allowanceBytes!)} GiB`;
        if (warn && !r.warned && !over) {
          await this.notifications.notify(m, {
            tenantId: r.tenant_id, kind: 'quota.warning', link: `/servers/${r.server_id}`, dedupKey: `traffic80:${r.server_id}:${period}`,
            title: `${r.hostname} has used 80 % of its traffic`, body: `${r.hostname} has used ${used} of traffic this period; at 100 % its network is slowed to ${r.over_quota_mbit} Mbit/s until ${v.resetsAt.slice(0, 10)}.`,
          });
        }
        if (over && !r.reached) {
          await this.notifications.notify(m, {
            tenantId: r.tenant_id, kind: 'quota.reached', link: `/servers/${r.server_id}`, dedupKey: `traffic100:${r.server_id}:${period}`,
            title: `${r.hostname} has used all of its traffic`, body: `${r.hostname} has used ${used} of traffic this period; its network is slowed to ${r.over_quota_mbit} Mbit/s until ${v.resetsAt.slice(0, 10)}, or until more traffic is added.`,
          });
        }
      });
    }
    const wanted = over ? r.over_quota_mbit : 0;
    if (wanted !== r.throttle_mbit) await this.ds.query(`UPDATE servers SET throttle_mbit = $2 WHERE id = $1`, [r.server_id, wanted]);
    if (wanted !== r.throttle_applied_mbit && r.state === 'running') {
      try {
        await this.runner.run({ serverId: r.server_id }, 'throttle', SYSTEM_ACTOR, { netMbit: effectiveNetMbit(r.net_mbit, wanted) }, nowMs());
      } catch (err) {
        // busy with another task, or its node is away: the next look asks again
        this.logger.debug?.(`throttle of ${r.server_id} not started now: ${(err as Error).message}`);
      }
    }
  }

  /** The current period's traffic of a server (the tenant's, or any for staff). */
  async traffic(tenantId: string | null, serverId: string): Promise<TrafficView> {
    const [owned] = (await this.ds.query(`SELECT 1 FROM servers WHERE id = $1 AND ($2::uuid IS NULL OR tenant_id = $2)`, [serverId, tenantId])) as unknown[];
    if (!owned) throw new ServerError('server_not_found', 'No server with that id in this team.');
    const [r] = (await this.ds.query(CURRENT_SQL, [[serverId]])) as Row[];
    return view(r);
  }

  /** Staff add traffic to the server's current period (audited with the reason); a throttle lifts if it is now under. */
  async addTraffic(actor: Actor, serverId: string, addGiB: number, reason: string): Promise<TrafficView> {
    const [r] = (await this.ds.query(CURRENT_SQL, [[serverId]])) as Row[];
    if (!r) throw new ServerError('server_not_found', `No server with id ${serverId}.`);
    await this.ds.transaction(async (m) => {
      await m.query(
        `INSERT INTO server_traffic (server_id, period_start, extra_bytes) VALUES ($1, $2, $3)
         ON CONFLICT (server_id, period_start) DO UPDATE SET extra_bytes = server_traffic.extra_bytes + EXCLUDED.extra_bytes, warned = false, reached = false`,
        [serverId, r.period_start, addGiB * GIB],
      );
      await this.audit.record(m, {
        tenantId: r.tenant_id, actorUserId: actor.userId, actorKind: actor.kind, action: 'server.traffic_added', targetType: 'server', targetId: serverId,
        ip: actor.ip, details: { addGiB, reason, periodStart: r.period_start.toISOString() },
      });
    });
    await this.evaluate([serverId]);
    return this.traffic(null, serverId);
  }
}

function gib(bytes: number): string {
  return (bytes / GIB).toFixed(bytes < 10 * GIB ? 2 : 0);
}

function view(r: Row): TrafficView {
  const inB = Number(r.in_bytes);
  const outB = Number(r.out_bytes);
  const extra = Number(r.extra_bytes);
  const used = r.direction === 'in' ? inB : r.direction === 'out' ? outB : inB + outB;
  const allowance = r.traffic_gib > 0 ? r.traffic_gib * GIB + extra : null;
  return {
    direction: r.direction, periodStart: r.period_start.toISOString(), resetsAt: r.resets_at.toISOString(), allowanceBytes: allowance, extraBytes: extra,
    inBytes: inB, outBytes: outB, usedBytes: used, percent: allowance ? Math.round((used / allowance) * 1000) / 10 : null,
    throttled: r.throttle_applied_mbit > 0, overQuotaMbit: r.over_quota_mbit,
  };
}
