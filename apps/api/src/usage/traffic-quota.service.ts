import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Subscription } from 'rxjs';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { BillingClock } from '../billing/billing.clock.js';
import { nowMs } from '../common/clock.js';
import { PeriodicJob } from '../common/periodic-job.js';
import { SYSTEM_ACTOR, type Actor } from '../common/request-context.js';
import { NotificationsService } from '../notifications/notifications.service.js';
import { effectiveNetMbit } from '../operations/server-spec.js';
import { TaskRunner } from '../operations/task-runner.service.js';
import { ServerEventsBus } from '../servers/server-events.bus.js';
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
  throttle_sent_mbit: number;
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
SELECT sv.id AS server_id, sv.tenant_id, sv.hostname, sv.state, sv.throttle_mbit, sv.throttle_sent_mbit, sv.throttle_applied_mbit, p.net_mbit, p.over_quota_mbit,
       p.traffic_gib, p.traffic_direction AS direction, ps.start AS period_start,
       oblako_traffic_period_start(sv.created_at, p.traffic_period, ps.start + interval '32 days') AS resets_at,
       coalesce(st.in_bytes, 0)::text AS in_bytes, coalesce(st.out_bytes, 0)::text AS out_bytes, coalesce(st.extra_bytes, 0)::text AS extra_bytes,
       coalesce(st.warned, false) AS warned, coalesce(st.reached, false) AS reached
  FROM servers sv JOIN plans p ON p.id = sv.plan_id
 CROSS JOIN LATERAL (SELECT oblako_traffic_period_start(sv.created_at, p.traffic_period, $2::timestamptz) AS start) ps
  LEFT JOIN server_traffic st ON st.server_id = sv.id AND st.period_start = ps.start
 WHERE sv.id = ANY($1::uuid[])`;

/**
 * Traffic quotas: after each usage event (and every minute for throttled servers) it compares each server's
 * traffic in its current period with its plan's allowance plus what staff added. At 80 % and 100 % the tenant
 * is told once per period (notifications: panel and mail). At 100 % the server's wanted rate becomes the plan's
 * over-quota rate, and a `throttle` operation sets it on the node; under 100 % again (a new period, or traffic
 * added) the wanted rate is none and a `throttle` sets the plan's rate back (on a plan without a rate of its own
 * that is 0: no limit). Until the node confirms the wanted rate, it asks again: a rate that cannot be sent now (the
 * server busy with another task, stopped, or its node away) is said once per reason — a warning and a
 * `server.throttle_deferred` audit entry — and asked again as soon as that server's current task ends, else by the
 * sweep. The current period is the one that holds the billing clock's now (tests move it).
 */
@Injectable()
export class TrafficQuotaService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('TrafficQuota');
  private readonly job = new PeriodicJob({ everyMs: 60_000, pass: () => this.sweep(), logger: this.logger, failed: 'quota sweep failed' });
  private changes: Subscription | null = null;
  /** Servers whose wanted rate could not be sent, with what was said (once per rate and reason). */
  private readonly deferred = new Map<string, string>();

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(TaskRunner) private readonly runner: TaskRunner,
    @Inject(NotificationsService) private readonly notifications: NotificationsService,
    @Inject(AuditService) private readonly audit: AuditService,
    @Inject(BillingClock) private readonly clock: BillingClock,
    @Inject(ServerEventsBus) private readonly bus: ServerEventsBus,
  ) {}

  onApplicationBootstrap(): void {
    this.job.start();
    // a rate that waited for another task (or for a stopped server's start) goes as soon as that task ends
    this.changes = this.bus.changes$.subscribe((c) => {
      const t = c.task;
      if (!t || (t.state !== 'succeeded' && t.state !== 'failed') || !this.deferred.has(c.serverId)) return;
      void this.evaluate([c.serverId]).catch((err: Error) => this.logger.warn(`quota of server ${c.serverId}: ${err.message}`));
    });
  }

  async onApplicationShutdown(): Promise<void> {
    this.changes?.unsubscribe();
    await this.job.stop();
  }

  /** Servers throttled, or not yet at the rate they should have: look again (period resets lift throttles here). */
  async sweep(): Promise<void> {
    const rows = (await this.ds.query(`SELECT id FROM servers WHERE deleted_at IS NULL AND (throttle_mbit > 0 OR throttle_mbit <> throttle_applied_mbit OR throttle_mbit <> throttle_sent_mbit)`)) as { id: string }[];
    if (rows.length) await this.evaluate(rows.map((r) => r.id));
  }

  async evaluate(serverIds: string[]): Promise<void> {
    const rows = (await this.ds.query(CURRENT_SQL, [serverIds, this.clock.now()])) as Row[];
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
    // Done only when the node confirmed the wanted rate AND nothing else is on its way: a throttle still in flight
    // (sent 5, confirmed 0) when the wanted rate goes back to 0 would otherwise look like "no limit, nothing to do",
    // and the node would then confirm the throttle and keep it.
    if (wanted === r.throttle_applied_mbit && wanted === r.throttle_sent_mbit) {
      this.deferred.delete(r.server_id);
      return;
    }
    // the rate to send: 0 = no limit (lifting on a plan without a rate of its own), which must reach the node too
    const netMbit = effectiveNetMbit(r.net_mbit, wanted);
    if (r.state !== 'running') {
      await this.defer(r, wanted, netMbit, `the server is ${r.state}; the rate is sent when it runs again`);
      return;
    }
    try {
      await this.runner.run({ serverId: r.server_id }, 'throttle', SYSTEM_ACTOR, { netMbit }, nowMs());
      this.deferred.delete(r.server_id);
    } catch (err) {
      // busy with another task, or its node is away: asked again when that task ends, or by the sweep
      await this.defer(r, wanted, netMbit, (err as Error).message);
    }
  }

  /** A wanted rate that could not go to the node now: a warning and an audit entry, once per rate and reason. */
  private async defer(r: Row, wanted: number, netMbit: number, reason: string): Promise<void> {
    const key = `${wanted}:${reason}`;
    if (this.deferred.get(r.server_id) === key) return;
    this.deferred.set(r.server_id, key);
    const what = wanted > 0 ? `throttle to ${netMbit} Mbit/s` : `lift of the throttle (to ${netMbit > 0 ? `${netMbit} Mbit/s` : 'no limit'})`;
    this.logger.warn(`${what} of server ${r.server_id} not sent now: ${reason}`);
    await this.audit.record(this.ds.manager, {
      tenantId: r.tenant_id, actorUserId: null, actorKind: 'system', action: 'server.throttle_deferred', targetType: 'server', targetId: r.server_id, ip: null,
      details: { netMbit, throttled: wanted > 0, appliedMbit: r.throttle_applied_mbit, reason },
    });
  }

  /** The current period's traffic of a server (the tenant's, or any for staff). */
  async traffic(tenantId: string | null, serverId: string): Promise<TrafficView> {
    const [owned] = (await this.ds.query(`SELECT 1 FROM servers WHERE id = $1 AND ($2::uuid IS NULL OR tenant_id = $2)`, [serverId, tenantId])) as unknown[];
    if (!owned) throw new ServerError('server_not_found', 'No server with that id in this team.');
    const [r] = (await this.ds.query(CURRENT_SQL, [[serverId], this.clock.now()])) as Row[];
    return view(r);
  }

  /** Staff add traffic to the server's current period (audited with the reason); a throttle lifts if it is now under. */
  async addTraffic(actor: Actor, serverId: string, addGiB: number, reason: string): Promise<TrafficView> {
    const [r] = (await this.ds.query(CURRENT_SQL, [[serverId], this.clock.now()])) as Row[];
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
