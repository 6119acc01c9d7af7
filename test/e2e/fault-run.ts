import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { natsServerList, subjects, type ServerView } from '@oblako/contracts';
import { ApiClient, type ManagedProcess } from '@oblako/devstack';
import { newCustomer, startE2E, type E2E } from './support.js';
import { catalogue, fleetCounts, HeartbeatWatch, registerNode, startLibvirtTestHost, waitSettled, type LibvirtTestHost } from './fleet-support.js';

/**
 * The NATS the fault-injection run talks to, and the fault it suffers once at a random point of the run:
 * one nats-server stopped and started again (fault-injection.test.ts), or one server of a three-server cluster
 * killed for good (fault-injection-cluster.test.ts).
 */
export interface FaultNats {
  /** NATS_URL: one server, or a cluster's servers separated by commas. */
  url: string;
  /** Replicas of each stream (3 on a three-server cluster). */
  streamReplicas?: number;
  /** What the fault is, for the printed counts ("restart nats-server", "kill cluster server n2 for good"). */
  what: string;
  fault(note: (m: string) => void, rand: () => number): Promise<void>;
  stop(): Promise<void>;
}

/** A small seeded generator, so a failing run can be repeated. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x / 2 ** 32;
  };
}

/**
 * Fault injection (issue 9), one body for every NATS shape: orders and actions against two API replicas and two
 * node daemons while a daemon is SIGKILLed (and restarted, twice: one of each), an API replica is SIGKILLed (and
 * restarted on its port), and NATS suffers its fault. Each daemon's libvirt is the test driver hosted by a
 * libvirtd of its own, so its domains outlive the daemon as on a real host. The kill points are drawn from a seed
 * printed at the start (FAULT_SEED=<n> repeats a run). Registers its own before/after/describe/test.
 */
export function faultInjection(title: string, startNats: () => Promise<FaultNats>, opts: { orders?: number; taskTimeoutSeconds?: number } = {}): void {
  const ORDERS = opts.orders ?? 60;
  const TASK_TIMEOUT_SECONDS = opts.taskTimeoutSeconds ?? 75;
  let e: E2E;
  let nats: FaultNats;
  let hosts: LibvirtTestHost[] = [];
  let watch: HeartbeatWatch;
  let nodeB: string;
  /** The daemon process of each node, as it runs now. */
  const daemons: Record<'a' | 'b', ManagedProcess | null> = { a: null, b: null };
  let apiB: { url: string; port: number; process: ManagedProcess };

  before(async () => {
    nats = await startNats();
    hosts = [await startLibvirtTestHost('a'), await startLibvirtTestHost('b')];
    e = await startE2E({
      natsUrl: nats.url,
      ...(nats.streamReplicas ? { natsStreamReplicas: nats.streamReplicas } : {}),
      libvirtUri: hosts[0]!.uri,
      apiEnv: { TASK_TIMEOUT_SECONDS: String(TASK_TIMEOUT_SECONDS), OUTBOX_POLL_MS: '200' },
      seed: { node: { vcpus: 512, memoryMiB: 1024 * 1024, diskGiB: 100_000 }, ipv4Cidr: '198.18.0.0/22', ipv4Gateway: '198.18.0.1' },
    });
    const [location] = await e.admin.ok<{ id: string }[]>('GET', '/api/v1/locations');
    nodeB = await registerNode(e.admin, location!.id, 'hv-fault-b');
    daemons.a = e.stack.daemon;
    daemons.b = await e.stack.startDaemon(nodeB, { LIBVIRT_URI: hosts[1]!.uri }, 'daemon-b');
    apiB = await e.stack.startApi('api-b');
    watch = await HeartbeatWatch.start(nats.url, e.stack.subjectPrefix);
    if (nats.streamReplicas) {
      // the streams the API made really have the replicas asked for (a cluster run on R1 streams would prove little)
      const nc = await connect({ servers: natsServerList(nats.url) });
      try {
        const jsm = await jetstreamManager(nc);
        const s = subjects(e.stack.subjectPrefix);
        for (const stream of [s.commandStream, s.eventStream]) assert.equal((await jsm.streams.info(stream)).config.num_replicas, nats.streamReplicas, stream);
      } finally {
        await nc.close();
      }
    }
  });
  after(async () => {
    await watch?.close();
    await e?.close();
    await nats?.stop();
    for (const h of hosts) await h.stop();
  });

  describe(title, () => {
    test('every order ends with one domain on one node, no open task, true counters, no shared address', async () => {
      const seed = Number(process.env.FAULT_SEED ?? Date.now() % 1_000_000);
      const rand = rng(seed);
      const log: string[] = [];
      const t0 = Date.now();
      const note = (m: string) => log.push(`${((Date.now() - t0) / 1000).toFixed(1)}s ${m}`);

      // one customer per replica each, so both replicas serve reads and writes
      const owners = [await newCustomer(e.stack, 'faultco'), await newCustomer(e.stack, 'faultltd')];
      const clients = owners.map((c) => {
        const other = new ApiClient(apiB.url);
        other.token = c.token;
        return [c, other] as const;
      });
      const order = await catalogue(owners[0]!);
      let errorsSeen = 0;
      let refused = 0;
      let retried = 0;

      /** One call to either replica; a connection error (the replica was killed) is retried on the other. */
      const call = async (who: number, i: number, method: string, path: string, body?: unknown, headers?: Record<string, string>) => {
        const pair = clients[who]!;
        for (let attempt = 0; attempt < 20; attempt++) {
          const c = pair[(i + attempt) % 2]!;
          try {
            return await c.call<ServerView & { code?: string }>(method, path, body, { headers });
          } catch {
            retried++;
            await new Promise((r) => setTimeout(r, 250));
          }
        }
        throw new Error(`${method} ${path}: no replica answered`);
      };

      // the faults, at random points of the run
      const faults: Promise<void>[] = [];
      const at = (lo: number, hi: number) => Math.floor(lo + rand() * (hi - lo));
      const killDaemonAt = at(8, ORDERS - 8);
      const natsRestartAt = at(8, ORDERS - 8);
      const killApiAt = at(5, ORDERS - 5);
      const victim = rand() < 0.5 ? 'a' : 'b';
      note(`seed ${seed}: kill daemon-${victim} at order ${killDaemonAt}, ${nats.what} at order ${natsRestartAt}, kill api-b at order ${killApiAt}`);

      const killDaemon = async (which: 'a' | 'b') => {
        const proc = daemons[which]!;
        proc.child.kill('SIGKILL');
        await proc.exited;
        note(`daemon-${which} SIGKILLed`);
        await new Promise((r) => setTimeout(r, 500 + rand() * 2000));
        const nodeId = which === 'a' ? e.stack.seed.nodeId : nodeB;
        daemons[which] = await supervised(`daemon-${which}`, () => e.stack.startDaemon(nodeId, { LIBVIRT_URI: hosts[which === 'a' ? 0 : 1]!.uri }, `daemon-${which}-${Date.now() % 100000}`));
        note(`daemon-${which} restarted`);
      };
      const restartNats = () => nats.fault(note, rand);
      const killApi = async () => {
        apiB.process.child.kill('SIGKILL');
        note('api-b SIGKILLed');
        await new Promise((r) => setTimeout(r, 500 + rand() * 2000));
        // back on the same port, so the clients' URL stays
        const port = apiB.port;
        apiB = await supervised('api-b', () => e.stack.startApi(`api-b-${Date.now() % 100000}`, port));
        note('api-b restarted');
      };

      /** Start again until it comes up, as a supervisor would (a start while nats-server is down fails). */
      const supervised = async <T>(what: string, start: () => Promise<T>): Promise<T> => {
        for (let attempt = 1; ; attempt++) {
          try {
            return await start();
          } catch (err) {
            note(`${what} did not start (attempt ${attempt}): ${(err as Error).message.split('\n')[0]}`);
            if (attempt >= 10) throw err;
            await new Promise((r) => setTimeout(r, 1000));
          }
        }
      };
      const fault = (p: Promise<void>) => {
        p.catch(() => undefined); // awaited below; do not let an early failure count as unhandled
        faults.push(p);
      };

      const ids: string[] = [];
      const owner = new Map<string, number>();
      const sends: Promise<void>[] = [];
      for (let i = 0; i < ORDERS; i++) {
        if (i === killDaemonAt) fault(killDaemon(victim));
        if (i === natsRestartAt) fault(restartNats());
        if (i === killApiAt) fault(killApi());
        const who = i % 2;
        const key = `fault-${seed}-${i}`;
        sends.push(
          (async () => {
            for (let attempt = 0; ; attempt++) {
              const r = await call(who, i + attempt, 'POST', '/api/v1/servers', order(`fault-${i}`), { 'idempotency-key': key });
              if (r.status === 201 || r.status === 200) {
                ids.push(r.body.id);
                owner.set(r.body.id, who);
                return;
              }
              // a replica that lost NATS or the database for a moment: same key again, never a second server
              if (r.status >= 500 && attempt < 20) {
                retried++;
                await new Promise((ok) => setTimeout(ok, 500));
                continue;
              }
              throw new Error(`order ${i}: ${r.status} ${JSON.stringify(r.body)}`);
            }
          })(),
        );
        await new Promise((r) => setTimeout(r, 150));
      }
      await Promise.all(sends);
      note(`${ids.length} orders accepted`);

      // actions, as soon as each server allows them (a 409 while it is busy is an honest refusal)
      const ACTIONS = ['stop', 'reboot', 'stop', 'delete', 'pause'] as const;
      let actionsSent = 0;
      const actionFor = new Map<string, string>();
      const secondFaultAt = Math.floor(rand() * 30) + 10;
      const mine = (id: string) => owner.get(id)!;
      let n = 0;
      const deadline = Date.now() + 150_000;
      const pending = new Set(ids);
      while (pending.size && Date.now() < deadline) {
        for (const id of [...pending]) {
          const r = await call(mine(id), n, 'GET', `/api/v1/servers/${id}`);
          if (r.status !== 200) continue;
          if (r.body.state === 'error') {
            errorsSeen++;
            pending.delete(id);
            continue;
          }
          if (r.body.state !== 'running' || r.body.currentTask && ['queued', 'dispatched', 'running'].includes(r.body.currentTask.state)) continue;
          const action = ACTIONS[ids.indexOf(id) % ACTIONS.length]!;
          if (n === secondFaultAt) fault(killDaemon(victim === 'a' ? 'b' : 'a'));
          n++;
          const a = action === 'delete' ? await call(mine(id), n, 'DELETE', `/api/v1/servers/${id}`) : await call(mine(id), n, 'POST', `/api/v1/servers/${id}/actions`, { action });
          if (a.status === 202 || a.status === 204) {
            actionsSent++;
            actionFor.set(id, action);
          } else if (a.status === 409) refused++;
          else throw new Error(`${action} ${id}: ${a.status} ${JSON.stringify(a.body)}`);
          pending.delete(id);
        }
        await new Promise((r) => setTimeout(r, 300));
      }
      await Promise.all(faults);
      note(`${actionsSent} actions accepted, ${refused} refused with 409`);

      // settle: every task ends (by its result or its timeout)
      const views = await waitSettled(owners[0]!, ids.filter((id) => mine(id) === 0), (TASK_TIMEOUT_SECONDS + 60) * 1000);
      views.push(...(await waitSettled(owners[1]!, ids.filter((id) => mine(id) === 1), (TASK_TIMEOUT_SECONDS + 60) * 1000)));
      const counts = await fleetCounts(e.stack.databaseUrl, await watch.domainsAfter([e.stack.seed.nodeId, nodeB], Date.now()), ids);
      note('settled');
      const elapsed = (Date.now() - t0) / 1000;
      console.log(log.join('\n'));
      console.log(
        `fault-injection (${nats.what}): ${ids.length} orders + ${actionsSent} actions (${refused} refused 409, ${retried} retried calls), ` +
          `states ${JSON.stringify(counts.byState)}, tasks ${JSON.stringify(counts.tasksByOpState)}, ${counts.openTasks} open tasks, ` +
          `${counts.duplicateAddresses} duplicate addresses, ${counts.domainMismatches.length} domain mismatches, ${counts.strayDomains.length} stray domains, ` +
          `${counts.capacityMismatches.length} capacity mismatches, ${errorsSeen} errors seen before actions, ${elapsed.toFixed(1)} s`,
      );
      if (counts.domainMismatches.length) console.log(JSON.stringify(counts.domainMismatches.slice(0, 10)));
      assert.ok(ids.length + actionsSent >= 100, `at least 100 orders and actions (${ids.length} + ${actionsSent})`);
      assert.equal(counts.openTasks, 0, 'no task is left open after its timeout');
      assert.equal(counts.duplicateAddresses, 0);
      assert.deepEqual(counts.capacityMismatches, [], 'capacity counters equal the live servers');
      assert.deepEqual(counts.domainMismatches, [], 'every server has exactly one domain, on its node');
      assert.deepEqual(counts.strayDomains, []);
      assert.equal(counts.byState.error ?? 0, 0, 'no order ended in error');
      for (const p of Object.values(daemons)) assert.equal(p!.child.exitCode, null, `${p!.name} still runs`);
    });
  });
}
