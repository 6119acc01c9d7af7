/**
 * Issue 11's proof on a real guest, through the HTTP API: the API and the node daemon (full provisioning, QEMU
 * in a private libvirtd's namespace) with the stack's own nats-server (so the test can stop it), PostgreSQL and
 * a short sample interval. The test moves known numbers of bytes over the guest's address (curl from inside the
 * namespace to the guest's HTTP server: GET /cgi-bin/zero is the guest's outbound, POST /cgi-bin/sink its
 * inbound) and compares what the API reports with the bytes moved: across a daemon SIGKILL in the middle of the
 * transfers, a reboot, and 30 s without NATS. Then the traffic quota on a plan without a rate of its own: throughput
 * before and after the allowance runs out (the server's period counter is first set to all but 16 MiB of it; the
 * guest's own bytes then cross 100 %), the time from crossing to the over-quota htb on the tap, and throughput after
 * staff add traffic and after the period's reset (its counter moved a month back; the API's clock is in another process).
 * Opt-in like the other real-guest tests (OBLAKO_REAL_GUEST=1).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { PlanView, ServerView } from '@oblako/contracts';
import { startNatsServer, type ApiClient, type ManagedProcess, type NatsServer, type Stack } from '@oblako/devstack';
import { uniqueName, waitFor } from '@oblako/testing';
import { waitForState } from '../e2e/support.js';
import {
  expectedTapName, guestStream, guestTrafficCounter, guestTransfer, htbRates, linkCounters, realGuestSkipReason, run, sleep,
  startGuestStack, virsh, waitForGuestHttp, type GuestStack, type Hypervisor,
} from './support.js';

const skip = realGuestSkipReason();
const MiB = 1024 ** 2;
/** The daemon's sample interval in this test (production: 60 s; OBLAKO_USAGE_INTERVAL_MS=60000 to measure the quota's delay at it). */
const INTERVAL_MS = Number(process.env.OBLAKO_USAGE_INTERVAL_MS ?? 2000);
/** Bytes each way for the counting proof (OBLAKO_USAGE_PROOF_MIB to change). */
const PROOF_BYTES = Number(process.env.OBLAKO_USAGE_PROOF_MIB ?? 64) * MiB;
const GiB = 1024 ** 3;
/** The quota plan's over-quota rate. */
const OVER_QUOTA_MBIT = 2;

interface Traffic {
  inBytes: number;
  outBytes: number;
  usedBytes: number;
  allowanceBytes: number | null;
  throttled: boolean;
  resetsAt: string;
  periodStart: string;
}

describe('usage of a real guest, through the API (issue 11)', { skip: skip ?? false }, () => {
  let rg: GuestStack;
  let hv: Hypervisor;
  let sql: pg.Client;
  let stack: Stack;
  let dataDir: string;
  let customer: ApiClient;
  let admin: ApiClient;
  let meterPlan: PlanView;
  let imageId: string;
  let locationId: string;
  let daemon: ManagedProcess;
  let restartedNats = null as NatsServer | null;
  let upload: string;
  /** The metered server of the first tests. */
  let server: ServerView;
  let address: string;
  const results: string[] = [];
  const note = (s: string) => {
    results.push(s);
    console.log(`[usage proof] ${s}`);
  };

  before(async () => {
    dataDir = join(tmpdir(), uniqueName('oblako-rg-usage'));
    rg = await startGuestStack({
      name: 'usage',
      dataDir,
      // the stack's own nats-server (operator mode, per-node users): the test stops it for 30 s
      ownNats: true,
      daemonEnv: { USAGE_INTERVAL_MS: String(INTERVAL_MS) },
      // no rate limit and no allowance: the guest moves what TCG lets it
      plan: { name: 'Metered', vcpus: 1, memoryMiB: 128, diskGiB: 1, cpuQuotaPercent: 100, netMbit: 0, priceMonthlyCents: 100 },
      customers: [{ name: 'usage', company: 'Usage Ltd' }],
    });
    ({ hv, stack, admin, plan: meterPlan } = rg);
    customer = rg.customers[0]!.client;
    daemon = stack.daemon!;
    sql = new pg.Client({ connectionString: rg.db.url });
    await sql.connect();
    ({ imageId, locationId } = rg);
    upload = join(mkdtempSync(join(tmpdir(), 'oblako-usage-')), 'upload.bin');
    await run('truncate', ['-s', String(PROOF_BYTES), upload]);
  });

  after(async () => {
    if (results.length) console.log(`[usage proof] summary:\n  ${results.join('\n  ')}`);
    await sql?.end().catch(() => undefined);
    await rg?.close();
    await restartedNats?.stop().catch(() => undefined);
    if (upload) rmSync(join(upload, '..'), { recursive: true, force: true });
  });

  async function order(planId: string, hostname: string): Promise<{ server: ServerView; address: string }> {
    const created = await customer.ok<ServerView>('POST', '/api/v1/servers', { planId, imageId, locationId, hostname });
    const s = await waitForState(customer, created.id, 'running', 180_000);
    const a = s.addresses[0]!.address;
    assert.equal(await waitForGuestHttp(hv.netns, a, 180_000), hostname);
    return { server: s, address: a };
  }

  const traffic = (id: string) => customer.ok<Traffic>('GET', `/api/v1/servers/${id}/traffic`);
  const hourTotals = async (id: string) => (await customer.ok<{ totals: { netInBytes: number; netOutBytes: number; diskWriteBytes: number; cpuSeconds: number } }>('GET', `/api/v1/servers/${id}/usage?range=1h`)).totals;

  /**
   * Wait until the API's numbers stop moving (three sample intervals alike, so the daemon's last samples are in),
   * then read the kernel's and the test's own counters: they describe the same moment (an idle guest moves a few
   * bytes at most).
   */
  async function settled(id: string, counter: { read(): Promise<{ toGuest: number; fromGuest: number }> }) {
    let last = '';
    let same = 0;
    for (const deadline = Date.now() + 120_000; Date.now() < deadline; ) {
      const t = await traffic(id);
      const key = `${t.inBytes}/${t.outBytes}`;
      same = key === last ? same + 1 : 0;
      last = key;
      if (same >= 3) {
        const totals = await hourTotals(id);
        const tap = await linkCounters(hv.netns, expectedTapName(id));
        return { api: t, totals, tap, own: await counter.read() };
      }
      await sleep(INTERVAL_MS);
    }
    throw new Error(`the API's traffic of ${id} did not settle within 2 minutes (last ${last})`);
  }

  const pctOff = (got: number, want: number) => ((got - want) / want) * 100;

  test('traffic is counted right: bytes fetched from and sent to the guest, across a daemon SIGKILL in the middle, within 2 %', async () => {
    ({ server, address } = await order(meterPlan.id, 'meter'));
    const counter = await guestTrafficCounter(hv.netns, address);
    const t0 = await settled(server.id, counter);

    const started = Date.now();
    const down = guestTransfer(hv.netns, address, { download: PROOF_BYTES });
    const up = guestTransfer(hv.netns, address, { uploadFile: upload });
    // kill the daemon once a third of the bytes have crossed the tap, start it again two seconds later
    await waitFor('a third of the transfer', async () => {
      const c = await linkCounters(hv.netns, expectedTapName(server.id));
      return c.rxBytes - t0.tap.rxBytes > PROOF_BYTES / 3 ? true : undefined;
    }, { timeoutMs: 600_000, intervalMs: 200 });
    daemon.child.kill('SIGKILL');
    await daemon.exited;
    const killedAt = Date.now() - started;
    await sleep(2000);
    daemon = await stack.startDaemon(stack.seed.nodeId, {}, 'daemon-2');
    const [d, u] = await Promise.all([down, up]);
    assert.equal(d.bytes, PROOF_BYTES, 'the whole file came from the guest');
    assert.equal(u.bytes, PROOF_BYTES, 'the whole file went to the guest');
    const t1 = await settled(server.id, counter);

    const api = { in: t1.api.inBytes - t0.api.inBytes, out: t1.api.outBytes - t0.api.outBytes };
    const graph = { in: t1.totals.netInBytes - t0.totals.netInBytes, out: t1.totals.netOutBytes - t0.totals.netOutBytes };
    const tap = { in: t1.tap.txBytes - t0.tap.txBytes, out: t1.tap.rxBytes - t0.tap.rxBytes };
    const own = { in: t1.own.toGuest - t0.own.toGuest, out: t1.own.fromGuest - t0.own.fromGuest };
    note(
      `${PROOF_BYTES / MiB} MiB each way in ${Math.max(d.seconds, u.seconds).toFixed(1)} s (down ${((d.bytes * 8) / d.seconds / 1e6).toFixed(1)} Mbit/s, ` +
        `up ${((u.bytes * 8) / u.seconds / 1e6).toFixed(1)} Mbit/s), daemon SIGKILLed at ${(killedAt / 1000).toFixed(1)} s; API in ${api.in} out ${api.out}; ` +
        `payload ${PROOF_BYTES} (API ${pctOff(api.in, PROOF_BYTES).toFixed(2)} % / ${pctOff(api.out, PROOF_BYTES).toFixed(2)} %); ` +
        `kernel tap in ${tap.in} out ${tap.out} (API ${pctOff(api.in, tap.in).toFixed(3)} % / ${pctOff(api.out, tap.out).toFixed(3)} %); ` +
        `nft wire in ${own.in} out ${own.out} (API ${pctOff(api.in, own.in).toFixed(2)} % / ${pctOff(api.out, own.out).toFixed(2)} %)`,
    );
    assert.deepEqual(graph, api, 'the graph (1-hour totals) and the traffic endpoint agree');
    for (const dir of ['in', 'out'] as const) {
      assert.ok(Math.abs(pctOff(api[dir], PROOF_BYTES)) < 2, `${dir}: the API counts the bytes moved within 2 % (${api[dir]} for ${PROOF_BYTES})`);
      assert.ok(Math.abs(pctOff(api[dir], own[dir])) < 2, `${dir}: the API agrees with the test's own nftables count within 2 % (${api[dir]} for ${own[dir]})`);
      // counted once: a sample sent twice (the restart) would add about a third of the transfer
      assert.ok(Math.abs(pctOff(api[dir], tap[dir])) < 0.5, `${dir}: the API equals the kernel's tap counter (${api[dir]} for ${tap[dir]})`);
    }
    await counter.remove();
  });

  /** QEMU's own cumulative counters of the domain (CPU time, bytes written to all its disks) and its pid: what resets at a reboot. */
  async function qemuCounters(id: string): Promise<{ pid: string; cpuNs: number; diskWriteBytes: number }> {
    const name = `oblako-${id}`;
    const text = await virsh(hv.uri, ['domstats', '--cpu-total', '--block', name]);
    const num = (re: RegExp) => [...text.matchAll(re)].reduce((a, m) => a + Number(m[1]), 0);
    return { pid: readFileSync(join(hv.runDir, 'qemu', `${name}.pid`), 'utf8').trim(), cpuNs: num(/cpu\.time=(\d+)/g), diskWriteBytes: num(/block\.\d+\.wr\.bytes=(\d+)/g) };
  }

  /** Write `bytes` into the guest's data filesystem (POST /cgi-bin/data, synced before it answers). */
  async function guestWriteFile(name: string, file: string): Promise<void> {
    const r = await run('ip', ['netns', 'exec', hv.netns, 'curl', '-s', '-f', '--max-time', '120', '-H', 'Expect:', '--data-binary', `@${file}`, `http://${address}/cgi-bin/data?name=${name}`], { timeoutMs: 130_000 });
    assert.match(r.stdout.trim(), /^[0-9a-f]{64}$/, `the guest stored ${name}`);
  }

  test('a reboot starts QEMU\'s counters again: traffic, CPU and disk writes across it are neither lost nor doubled', async () => {
    const counter = await guestTrafficCounter(hv.netns, address);
    const small = join(upload, '..', 'disk.bin');
    await run('truncate', ['-s', String(4 * MiB), small]);
    const t0 = await settled(server.id, counter);
    const q0 = await qemuCounters(server.id);
    await guestTransfer(hv.netns, address, { download: PROOF_BYTES / 2 });
    await guestWriteFile('before-reboot', small);
    const q1 = await qemuCounters(server.id);
    const r = await customer.call('POST', `/api/v1/servers/${server.id}/actions`, { action: 'reboot' });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    await waitForState(customer, server.id, 'running', 180_000);
    assert.equal(await waitForGuestHttp(hv.netns, address, 180_000), 'meter');
    await guestTransfer(hv.netns, address, { uploadFile: upload });
    await guestWriteFile('after-reboot', small);
    const t1 = await settled(server.id, counter);
    const q2 = await qemuCounters(server.id);
    assert.notEqual(q2.pid, q1.pid, 'the reboot started a new QEMU process (its counters began at zero)');
    assert.ok(q2.cpuNs < q1.cpuNs || q2.diskWriteBytes < q1.diskWriteBytes, 'the new process counts from zero');

    const api = { in: t1.api.inBytes - t0.api.inBytes, out: t1.api.outBytes - t0.api.outBytes };
    const tap = { in: t1.tap.txBytes - t0.tap.txBytes, out: t1.tap.rxBytes - t0.tap.rxBytes };
    const own = { in: t1.own.toGuest - t0.own.toGuest, out: t1.own.fromGuest - t0.own.fromGuest };
    // what QEMU counted: the first process from the last settled reading to just before the reboot, then the new one
    const qemu = { cpuNs: q1.cpuNs - q0.cpuNs + q2.cpuNs, diskWriteBytes: q1.diskWriteBytes - q0.diskWriteBytes + q2.diskWriteBytes };
    const got = { cpuNs: (t1.totals.cpuSeconds - t0.totals.cpuSeconds) * 1e9, diskWriteBytes: t1.totals.diskWriteBytes - t0.totals.diskWriteBytes };
    note(
      `reboot: traffic API in ${api.in} out ${api.out}, tap ${tap.in}/${tap.out} (${pctOff(api.in, tap.in).toFixed(3)} % / ${pctOff(api.out, tap.out).toFixed(3)} %), ` +
        `nft ${own.in}/${own.out}; disk writes API ${got.diskWriteBytes} vs QEMU ${qemu.diskWriteBytes} (${pctOff(got.diskWriteBytes, qemu.diskWriteBytes).toFixed(2)} %); ` +
        `CPU API ${(got.cpuNs / 1e9).toFixed(2)} s vs QEMU ${(qemu.cpuNs / 1e9).toFixed(2)} s (${pctOff(got.cpuNs, qemu.cpuNs).toFixed(2)} %)`,
    );
    for (const dir of ['in', 'out'] as const) {
      assert.ok(Math.abs(pctOff(api[dir], tap[dir])) < 0.5, `${dir}: the API equals the kernel's tap counter across the reboot (${api[dir]} for ${tap[dir]})`);
      assert.ok(Math.abs(pctOff(api[dir], own[dir])) < 2, `${dir}: and the test's own count (${api[dir]} for ${own[dir]})`);
    }
    // CPU and disk: QEMU's counters were read by the test up to a sample interval away from the daemon's readings,
    // and the guest's shutdown itself (between the daemon's last reading of the old process and its exit) is not
    // counted (docs/DESIGN.md): close, not exact. Counting the first process twice would add 50-100 %.
    assert.ok(got.diskWriteBytes >= 8 * MiB, `the 8 MiB written to the disk are counted (${got.diskWriteBytes})`);
    assert.ok(Math.abs(pctOff(got.diskWriteBytes, qemu.diskWriteBytes)) < 10, `disk writes within 10 % of QEMU's own counters (${got.diskWriteBytes} for ${qemu.diskWriteBytes})`);
    assert.ok(Math.abs(pctOff(got.cpuNs, qemu.cpuNs)) < 15, `CPU time within 15 % of QEMU's own counters (${got.cpuNs} for ${qemu.cpuNs})`);
    await counter.remove();
  });

  test('NATS down for 30 s: the samples the daemon took meanwhile arrive afterwards and the totals are right', async () => {
    const counter = await guestTrafficCounter(hv.netns, address);
    const t0 = await settled(server.id, counter);
    const nats = stack.nats!;
    const downAt = new Date();
    await nats.stop();
    const [d, u] = await Promise.all([guestTransfer(hv.netns, address, { download: PROOF_BYTES / 2 }), guestTransfer(hv.netns, address, { uploadFile: upload })]);
    const moved = { in: u.bytes, out: d.bytes };
    const wait = 30_000 - (Date.now() - downAt.getTime());
    if (wait > 0) await sleep(wait);
    const during = (await sql.query<{ out: string }>(`SELECT coalesce(sum(net_out_bytes), 0)::text AS out FROM usage_samples WHERE server_id = $1 AND to_at > $2`, [server.id, downAt])).rows[0]!;
    assert.ok(Number(during.out) < moved.out / 100, 'nothing of it reached the API while NATS was down');
    restartedNats = await startNatsServer({
      dataDir: join(dataDir, 'nats'), port: nats.port, configFile: stack.natsAuth?.configFile, credsFile: stack.natsAuth?.apiCredsFile, logFile: join(dataDir, 'logs', 'nats-2.log'),
    });
    const upAt = new Date();
    const outage = (upAt.getTime() - downAt.getTime()) / 1000;
    const t1 = await settled(server.id, counter);
    const caughtUp = (Date.now() - upAt.getTime()) / 1000;
    const api = { in: t1.api.inBytes - t0.api.inBytes, out: t1.api.outBytes - t0.api.outBytes };
    const tap = { in: t1.tap.txBytes - t0.tap.txBytes, out: t1.tap.rxBytes - t0.tap.rxBytes };
    const own = { in: t1.own.toGuest - t0.own.toGuest, out: t1.own.fromGuest - t0.own.fromGuest };
    // the samples taken while NATS was down are there, with their own times (buffered, not one late delta)
    const held = (await sql.query<{ n: number; out: string }>(
      `SELECT count(*)::int AS n, coalesce(sum(net_out_bytes), 0)::text AS out FROM usage_samples WHERE server_id = $1 AND to_at > $2 AND to_at < $3`, [server.id, downAt, upAt],
    )).rows[0]!;
    note(
      `NATS down ${outage.toFixed(1)} s: ${held.n} samples taken meanwhile arrived (${held.out} bytes out of ${moved.out} fetched), API settled ${caughtUp.toFixed(1)} s after NATS was back; ` +
        `API in ${api.in} out ${api.out}, tap ${tap.in}/${tap.out} (${pctOff(api.in, tap.in).toFixed(3)} % / ${pctOff(api.out, tap.out).toFixed(3)} %), ` +
        `payload ${moved.in}/${moved.out} (${pctOff(api.in, moved.in).toFixed(2)} % / ${pctOff(api.out, moved.out).toFixed(2)} %)`,
    );
    assert.ok(outage >= 30, `NATS was down for at least 30 s (${outage})`);
    assert.ok(held.n >= (0.5 * outage * 1000) / INTERVAL_MS, `samples from the outage arrived with their own times (${held.n})`);
    assert.ok(Number(held.out) >= 0.95 * moved.out, `they hold the bytes moved during the outage (${held.out} of ${moved.out})`);
    for (const dir of ['in', 'out'] as const) {
      assert.ok(Math.abs(pctOff(api[dir], tap[dir])) < 0.5, `${dir}: the API equals the kernel's tap counter (${api[dir]} for ${tap[dir]})`);
      assert.ok(Math.abs(pctOff(api[dir], moved[dir])) < 2, `${dir}: the API counts the bytes moved within 2 % (${api[dir]} for ${moved[dir]})`);
      assert.ok(Math.abs(pctOff(api[dir], own[dir])) < 2, `${dir}: and agrees with the test's own count (${api[dir]} for ${own[dir]})`);
    }
    await counter.remove();
  });


  /** Mbit/s of payload the guest sends (a download from it, at most `seconds`). */
  async function outboundMbit(addr: string, seconds: number, cap = 256 * MiB): Promise<number> {
    const t = await guestTransfer(hv.netns, addr, { download: cap }, seconds);
    return (t.bytes * 8) / t.seconds / 1e6;
  }

  /**
   * The server has used all but `leftBytes` of its allowance (plus what staff added) this period: its counter is set
   * so, the way a month of earlier traffic would have left it (moving a whole GiB through TCG takes minutes); the
   * bytes that then cross 100 % are the guest's own, counted by the daemon from the tap.
   */
  async function useAllBut(id: string, leftBytes: number): Promise<void> {
    // the samples of earlier transfers first (they arrive up to an interval late and would add on top); an idle
    // guest still sends a few bytes a minute (ARP), so "settled" is two intervals with under 64 KiB more
    let last = -1;
    let same = 0;
    for (const deadline = Date.now() + Math.max(120_000, 6 * INTERVAL_MS); same < 2; await sleep(INTERVAL_MS)) {
      if (Date.now() > deadline) throw new Error(`the traffic of ${id} did not settle`);
      const out = (await traffic(id)).outBytes;
      same = last >= 0 && out - last < 64 * 1024 ? same + 1 : 0;
      last = out;
    }
    await sql.query(
      `INSERT INTO server_traffic (server_id, period_start, out_bytes)
       SELECT sv.id, oblako_traffic_period_start(sv.created_at, p.traffic_period, now()), 0 FROM servers sv JOIN plans p ON p.id = sv.plan_id WHERE sv.id = $1
       ON CONFLICT (server_id, period_start) DO NOTHING`, [id]);
    await sql.query(
      `UPDATE server_traffic st SET out_bytes = greatest(st.out_bytes, p.traffic_gib::bigint * ${GiB} + st.extra_bytes - $2)
         FROM servers sv JOIN plans p ON p.id = sv.plan_id
        WHERE sv.id = $1 AND st.server_id = sv.id AND st.period_start = oblako_traffic_period_start(sv.created_at, p.traffic_period, now())`, [id, leftBytes]);
  }

  /**
   * Let the guest send until the allowance runs out (a download that never ends): the moment the tap's counter
   * passes the bytes that were left, and the moment the node's htb class with the over-quota rate is on the tap.
   */
  async function runOut(id: string, addr: string, leftBytes: number): Promise<{ crossedAt: number; appliedAt: number; seconds: number }> {
    const tap = expectedTapName(id);
    const start = (await linkCounters(hv.netns, tap)).rxBytes;
    const stream = guestStream(hv.netns, addr);
    let crossedAt = 0;
    let appliedAt = 0;
    try {
      for (const deadline = Date.now() + 600_000; Date.now() < deadline && !appliedAt; await sleep(200)) {
        const now = Date.now();
        if (!crossedAt && (await linkCounters(hv.netns, tap)).rxBytes - start >= leftBytes) crossedAt = now;
        if ((await htbRates(hv.netns, tap))['1:1'] === OVER_QUOTA_MBIT * 1e6) appliedAt = Date.now();
      }
    } finally {
      await stream.stop();
    }
    assert.ok(crossedAt > 0 && appliedAt > 0, `the allowance ran out (${crossedAt}) and the over-quota rate reached the tap (${appliedAt}) within 10 minutes`);
    assert.ok(appliedAt >= crossedAt - 1000, 'not throttled before the allowance ran out');
    await waitFor('the API says throttled', async () => ((await traffic(id)).throttled ? true : undefined), { timeoutMs: 60_000, intervalMs: 500 });
    return { crossedAt, appliedAt, seconds: (appliedAt - crossedAt) / 1000 };
  }

  /** Wait until the tap has no htb (no limit: the plan has no rate of its own) and the API says not throttled; seconds it took. */
  async function lifted(id: string, since: number, what: string): Promise<number> {
    const tap = expectedTapName(id);
    await waitFor(`the throttle lifted (${what})`, async () => (Object.keys(await htbRates(hv.netns, tap)).length === 0 && !(await traffic(id)).throttled ? true : undefined), { timeoutMs: 180_000, intervalMs: 250 });
    return (Date.now() - since) / 1000;
  }

  test('the quota throttles, then lifts: throughput before, at the over-quota rate once the allowance runs out, and again after staff add traffic and after a period reset (a plan with no rate of its own)', async () => {
    // no base rate (netMbit 0): lifting means "no limit", the case whose lift once never reached the node
    const quotaPlan = await admin.ok<PlanView>('POST', '/api/v1/admin/plans', {
      name: 'Metered 1 GiB out', vcpus: 1, memoryMiB: 128, diskGiB: 1, cpuQuotaPercent: 100, netMbit: 0,
      trafficGiB: 1, trafficDirection: 'out', overQuotaMbit: OVER_QUOTA_MBIT, priceMonthlyCents: 100,
    });
    const q = await order(quotaPlan.id, 'quota');
    const id = q.server.id;
    const tap = expectedTapName(id);
    assert.deepEqual(await htbRates(hv.netns, tap), {}, 'no limit on the tap to begin with');

    const before = await outboundMbit(q.address, 10);
    note(`quota: before ${before.toFixed(1)} Mbit/s`);
    assert.ok(before > 2 * OVER_QUOTA_MBIT, `before: the guest sends well above the over-quota rate (${before.toFixed(1)} Mbit/s), or this test proves nothing`);

    // 1. the allowance runs out: the node throttles the tap to the over-quota rate
    const left = 16 * MiB;
    await useAllBut(id, left);
    const first = await runOut(id, q.address, left);
    const during = await outboundMbit(q.address, 15, 64 * MiB);
    const t1 = await traffic(id);
    assert.ok(t1.usedBytes >= GiB, `the API counts the allowance used (${t1.usedBytes})`);

    // 2. staff add 1 GiB: the limit goes (no base rate: none at all)
    const addedAt = Date.now();
    const added = await admin.ok<Traffic>('POST', `/api/v1/admin/servers/${id}/traffic`, { addGiB: 1, reason: 'real-guest quota proof' });
    assert.equal(added.allowanceBytes, 2 * GiB);
    const liftAdd = await lifted(id, addedAt, 'staff added traffic');
    const afterAdd = await outboundMbit(q.address, 10);

    // 3. runs out again (of 2 GiB now), then the period ends: its counter moves a month into the past, as the
    //    calendar would have it (the API's own clock cannot be moved from outside its process)
    await useAllBut(id, left);
    const second = await runOut(id, q.address, left);
    const during2 = await outboundMbit(q.address, 15, 64 * MiB);
    const resetAt = Date.now();
    await sql.query(`UPDATE server_traffic SET period_start = period_start - interval '1 month' WHERE server_id = $1`, [id]);
    const liftReset = await lifted(id, resetAt, 'period reset');
    // read before the guest sends again: on a quiet machine the 10 s below alone move more than the bytes left
    const t3 = await traffic(id);
    const afterReset = await outboundMbit(q.address, 10);

    note(
      `quota (over-quota ${OVER_QUOTA_MBIT} Mbit/s, plan without a rate): before ${before.toFixed(1)} Mbit/s; allowance out -> htb on the tap in ` +
        `${first.seconds.toFixed(1)} s and ${second.seconds.toFixed(1)} s (sample interval ${INTERVAL_MS / 1000} s); during ${during.toFixed(2)} / ${during2.toFixed(2)} Mbit/s; ` +
        `staff +1 GiB -> lifted in ${liftAdd.toFixed(1)} s, then ${afterAdd.toFixed(1)} Mbit/s; period reset -> lifted in ${liftReset.toFixed(1)} s, then ${afterReset.toFixed(1)} Mbit/s`,
    );
    for (const [what, mbit] of [['first', during], ['second', during2]] as const) {
      assert.ok(Math.abs(mbit - OVER_QUOTA_MBIT) <= 0.3 * OVER_QUOTA_MBIT, `${what} time over quota: the guest sends at the over-quota rate ±30 % (${mbit.toFixed(2)} Mbit/s for ${OVER_QUOTA_MBIT})`);
    }
    assert.ok(first.seconds < 120 && second.seconds < 120, `throttled within 2 minutes of the allowance running out (${first.seconds} s, ${second.seconds} s)`);
    assert.ok(afterAdd > 2 * OVER_QUOTA_MBIT, `after staff added traffic the guest is no longer held to the over-quota rate (${afterAdd.toFixed(1)} Mbit/s)`);
    assert.ok(afterReset > 2 * OVER_QUOTA_MBIT, `after the period reset the guest is no longer held to the over-quota rate (${afterReset.toFixed(1)} Mbit/s)`);
    assert.ok(t3.usedBytes < left, `the new period counts from zero (${t3.usedBytes})`);
    assert.equal(t3.allowanceBytes, GiB, "the traffic staff added belonged to the old period");
    const deferred = await sql.query(`SELECT count(*)::int AS n FROM audit_log WHERE target_id = $1 AND action = 'server.throttle_deferred'`, [id]);
    note(`quota: ${deferred.rows[0].n} deferred rate change(s) audited for the server`);
  });
});
