import { execFileSync } from 'node:child_process';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import pg from 'pg';
import { HeartbeatSchema, natsServerList, subjects, type NodeRegistrationView, type ServerView } from '@oblako/contracts';
import type { ApiClient } from '@oblako/devstack';
import { waitFor } from '@oblako/testing';

/** Register one more node in a location (it stays pending until its daemon's first heartbeat). */
export async function registerNode(admin: ApiClient, locationId: string, name: string): Promise<string> {
  const r = await admin.ok<NodeRegistrationView>('POST', '/api/v1/admin/nodes', {
    name, locationId, vcpus: 512, memoryMiB: 1024 * 1024, diskGiB: 100_000,
  });
  return r.node.id;
}

/** What the customer needs to order: the first location, the smallest plan, the first image. */
export async function catalogue(c: ApiClient): Promise<(hostname: string) => Record<string, string>> {
  const [location] = await c.ok<{ id: string }[]>('GET', '/api/v1/locations');
  const plans = await c.ok<{ id: string; vcpus: number; memoryMiB: number }[]>('GET', '/api/v1/plans');
  const [image] = await c.ok<{ id: string }[]>('GET', '/api/v1/images');
  const plan = [...plans].sort((a, b) => a.vcpus - b.vcpus || a.memoryMiB - b.memoryMiB)[0]!;
  return (hostname) => ({ planId: plan.id, imageId: image!.id, locationId: location!.id, hostname });
}

/** Keeps the newest heartbeat of every node: the domains each node's libvirt holds, as its daemon reports them. */
export class HeartbeatWatch {
  private latest = new Map<string, { at: number; domains: { serverId: string; state: string }[] }>();
  private constructor(private readonly nc: NatsConnection) {}

  static async start(natsUrl: string, prefix: string): Promise<HeartbeatWatch> {
    const nc = await connect({ servers: natsServerList(natsUrl), maxReconnectAttempts: -1, reconnectTimeWait: 250 });
    const w = new HeartbeatWatch(nc);
    const sub = nc.subscribe(subjects(prefix).allHeartbeats());
    void (async () => {
      for await (const m of sub) {
        const hb = HeartbeatSchema.safeParse(m.json());
        if (hb.success) w.latest.set(hb.data.nodeId, { at: hb.data.at, domains: hb.data.domains });
      }
    })();
    return w;
  }

  /**
   * The domains of each node from a heartbeat whose domains were read after `since` (its `at`, the node's clock,
   * the same machine here; waits for one from every node). Not "received after": a beat can be on the wire later
   * than it was taken.
   */
  async domainsAfter(nodeIds: string[], since = Date.now(), timeoutMs = 20_000): Promise<Map<string, { serverId: string; state: string }[]>> {
    return waitFor(
      `a heartbeat from each of ${nodeIds.length} nodes`,
      () => {
        const out = new Map<string, { serverId: string; state: string }[]>();
        for (const id of nodeIds) {
          const hb = this.latest.get(id);
          if (!hb || hb.at <= since) return undefined;
          out.set(id, hb.domains);
        }
        return out;
      },
      { timeoutMs, intervalMs: 100 },
    );
  }

  async close(): Promise<void> {
    await this.nc.close().catch(() => undefined);
  }
}

export interface FleetCounts {
  servers: number;
  byState: Record<string, number>;
  openTasks: number;
  tasksByOpState: Record<string, number>;
  duplicateAddresses: number;
  capacityMismatches: { nodeId: string; counter: number; live: number }[];
  /** Servers whose domains are not exactly one, on the node the database names, in the state it shows. */
  domainMismatches: { serverId: string; state: string; nodeId: string | null; found: string[] }[];
  /** Domains no live server accounts for. */
  strayDomains: { nodeId: string; serverId: string }[];
}

const DOMAIN_STATE_OF: Record<string, string> = { running: 'running', stopped: 'shutoff', paused: 'paused' };

/**
 * What a customer and an operator would check after a fault: every server in a settled state has
 * exactly one domain, on its own node, in the matching state; no task is still open; each node's
 * capacity counters equal the sum of the live servers on it; no address belongs to two servers.
 */
export async function fleetCounts(databaseUrl: string, domains: Map<string, { serverId: string; state: string }[]>, serverIds: string[]): Promise<FleetCounts> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  try {
    const servers = (await pool.query<{ id: string; state: string; node_id: string | null }>(
      `SELECT id, state, node_id FROM servers WHERE id = ANY($1::uuid[])`, [serverIds],
    )).rows;
    const byState: Record<string, number> = {};
    for (const s of servers) byState[s.state] = (byState[s.state] ?? 0) + 1;
    const open = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM tasks WHERE state IN ('queued', 'dispatched', 'running')`);
    const tasks = await pool.query<{ k: string; n: number }>(`SELECT op || ':' || state AS k, count(*)::int AS n FROM tasks GROUP BY 1 ORDER BY 1`);
    const dups = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM (SELECT address FROM ip_addresses a JOIN servers s ON s.id = a.server_id
         WHERE s.state <> 'deleted' GROUP BY address HAVING count(DISTINCT a.server_id) > 1) d`,
    );
    const cap = await pool.query<{ id: string; used_vcpus: number; live_vcpus: number; used_memory_mib: number; live_memory: number }>(
      `SELECT n.id, n.used_vcpus, n.used_memory_mib,
              coalesce(sum(s.vcpus) FILTER (WHERE s.state <> 'deleted'), 0)::int AS live_vcpus,
              coalesce(sum(s.memory_mib) FILTER (WHERE s.state <> 'deleted'), 0)::int AS live_memory
         FROM nodes n LEFT JOIN servers s ON s.node_id = n.id GROUP BY n.id`,
    );
    const capacityMismatches = cap.rows
      .filter((r) => r.used_vcpus !== r.live_vcpus || r.used_memory_mib !== r.live_memory)
      .map((r) => ({ nodeId: r.id, counter: r.used_vcpus, live: r.live_vcpus }));

    const where = new Map<string, { nodeId: string; state: string }[]>();
    for (const [nodeId, list] of domains) for (const d of list) where.set(d.serverId, [...(where.get(d.serverId) ?? []), { nodeId, state: d.state }]);
    const domainMismatches: FleetCounts['domainMismatches'] = [];
    const live = new Set<string>();
    for (const s of servers) {
      const found = where.get(s.id) ?? [];
      if (s.state === 'deleted') {
        if (found.length) domainMismatches.push({ serverId: s.id, state: s.state, nodeId: s.node_id, found: found.map((f) => `${f.nodeId}:${f.state}`) });
        continue;
      }
      live.add(s.id);
      const want = DOMAIN_STATE_OF[s.state];
      const ok = found.length === 1 && found[0]!.nodeId === s.node_id && (!want || found[0]!.state === want);
      if (!ok) domainMismatches.push({ serverId: s.id, state: s.state, nodeId: s.node_id, found: found.map((f) => `${f.nodeId}:${f.state}`) });
    }
    const known = new Set(servers.map((s) => s.id));
    const strayDomains: FleetCounts['strayDomains'] = [];
    for (const [nodeId, list] of domains) for (const d of list) if (!known.has(d.serverId)) strayDomains.push({ nodeId, serverId: d.serverId });
    return {
      servers: servers.length,
      byState,
      openTasks: open.rows[0]!.n,
      tasksByOpState: Object.fromEntries(tasks.rows.map((r) => [r.k, r.n])),
      duplicateAddresses: dups.rows[0]!.n,
      capacityMismatches,
      domainMismatches,
      strayDomains,
    };
  } finally {
    await pool.end();
  }
}

/** Poll the API until no listed server has a task queued, dispatched or running, and each is in a settled state. */
export async function waitSettled(c: ApiClient, ids: string[], timeoutMs: number): Promise<ServerView[]> {
  const settled = new Set(['running', 'stopped', 'error', 'deleted', 'paused']);
  return waitFor(
    `${ids.length} servers to settle`,
    async () => {
      const views: ServerView[] = [];
      for (const id of ids) {
        const r = await c.call<ServerView>('GET', `/api/v1/servers/${id}`);
        if (r.status === 404) continue;
        if (r.status !== 200) return undefined;
        const s = r.body;
        const busy = s.currentTask && ['queued', 'dispatched', 'running'].includes(s.currentTask.state);
        if (busy || !settled.has(s.state)) return undefined;
        views.push(s);
      }
      return views;
    },
    { timeoutMs, intervalMs: 250 },
  );
}

/**
 * libvirt's test driver hosted by a libvirtd of its own (run as `nobody` in session mode, with its
 * socket in a temp folder), so its domains outlive a node daemon that is SIGKILLed, as a real
 * hypervisor's guests do. The test driver's default instance lives while a connection holds it:
 * a `virsh` kept open here is that connection. Never the machine's own libvirtd.
 */
export interface LibvirtTestHost {
  /** LIBVIRT_URI for the daemon: test+unix:///default?socket=... */
  uri: string;
  /** The libvirtd process (a test may freeze it with SIGSTOP to hold a daemon inside a libvirt call). */
  libvirtdPid: number;
  stop(): Promise<void>;
}

export async function startLibvirtTestHost(name: string): Promise<LibvirtTestHost> {
  const { mkdtempSync, mkdirSync, chmodSync, chownSync, openSync, rmSync, existsSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { spawn } = await import('node:child_process');
  const dir = mkdtempSync(join(tmpdir(), `oblako-lv-${name}-`));
  chmodSync(dir, 0o755);
  for (const d of ['run', 'config', 'cache', 'data']) {
    mkdirSync(join(dir, d));
    chownSync(join(dir, d), 65534, 65534);
  }
  const log = openSync(join(dir, 'libvirtd.log'), 'a');
  const env = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin', HOME: join(dir, 'data'), XDG_RUNTIME_DIR: join(dir, 'run'), XDG_CONFIG_HOME: join(dir, 'config'), XDG_CACHE_HOME: join(dir, 'cache'), XDG_DATA_HOME: join(dir, 'data') };
  const libvirtd = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'libvirtd'], { env, stdio: ['ignore', log, log] });
  const socket = join(dir, 'run', 'libvirt', 'libvirt-sock');
  const uri = `test+unix:///default?socket=${socket}`;
  await waitFor(`libvirtd ${name} (${dir}/libvirtd.log)`, () => {
    if (libvirtd.exitCode !== null) throw new Error(`libvirtd exited with ${libvirtd.exitCode}`);
    return existsSync(socket);
  }, { timeoutMs: 20_000, intervalMs: 100 });
  const holder = spawn('virsh', ['-q', '-c', uri], { stdio: ['pipe', 'ignore', 'ignore'] });
  // the test driver starts with a sample domain "test"; remove it so the node holds only what it is given
  await waitFor('the test driver via libvirtd', () => {
    execFileSync('virsh', ['-q', '-c', uri, 'list', '--all'], { stdio: 'ignore' });
    return true;
  }, { timeoutMs: 10_000, intervalMs: 200 });
  for (const cmd of [['destroy', 'test'], ['undefine', 'test']]) {
    try {
      execFileSync('virsh', ['-q', '-c', uri, ...cmd], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
  const kill = async (c: import('node:child_process').ChildProcess) => {
    if (c.exitCode !== null || c.signalCode !== null) return;
    const done = new Promise((ok) => c.once('exit', ok));
    c.kill('SIGTERM');
    const t = setTimeout(() => c.kill('SIGKILL'), 5000);
    await done;
    clearTimeout(t);
  };
  return {
    uri,
    libvirtdPid: libvirtd.pid!,
    async stop() {
      holder.stdin?.end();
      await kill(holder);
      await kill(libvirtd);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Sends a signal to a process that may already be gone (then nothing happens). */
export function signalIfAlive(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** The domains the host's libvirt holds (all, running or not), as virsh lists them. */
export function domainsOn(h: LibvirtTestHost): string[] {
  return execFileSync('virsh', ['-q', '-c', h.uri, 'list', '--all', '--name'], { encoding: 'utf8' }).split('\n').map((s) => s.trim()).filter(Boolean);
}
