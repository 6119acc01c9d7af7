/**
 * Helpers for tests that boot the real test guest (tools/guest-image) on qemu:///system with
 * libvirtd inside a network namespace of their own (tools/hypervisor/netns-libvirtd.sh, private
 * mode, so several runs and a demo can coexist). Every program runs with an argument array; every
 * packet stays inside the namespace.
 */
import { execFile as execFileCb, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import type { PlanView } from '@oblako/contracts';
import { ApiClient, startStack, type SeedOptions, type Stack, type StackOptions } from '@oblako/devstack';
import { createTestDatabase, dropStreams, TEST_NATS_URL, uniqueName, uniqueSubjectPrefix, waitFor, type TestDatabase } from '@oblako/testing';

const execFile = promisify(execFileCb);

/** Repository root (this file is compiled to test/dist/real-guest/support.js). */
export const REPO = (() => {
  let d = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(d, 'nx.json'))) return d;
    d = resolve(d, '..');
  }
  throw new Error('repository root (nx.json) not found above ' + fileURLToPath(import.meta.url));
})();

export const NETNS_LIBVIRTD = join(REPO, 'tools/hypervisor/netns-libvirtd.sh');
export const BUILD_GUEST = join(REPO, 'tools/guest-image/build.sh');

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Run a program (no shell). Rejects with stdout/stderr in the message when it fails. */
export async function run(file: string, args: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<RunResult> {
  try {
    const running = execFile(file, args, {
      timeout: opts.timeoutMs ?? 120_000,
      maxBuffer: 16 * 1024 * 1024,
      env: opts.env ?? process.env,
    });
    if (opts.input !== undefined) running.child.stdin?.end(opts.input);
    const { stdout, stderr } = await running;
    return { stdout: String(stdout), stderr: String(stderr) };
  } catch (err) {
    const e = err as { stdout?: unknown; stderr?: unknown; message?: string };
    throw new Error(`${file} ${args.join(' ')} failed: ${e.message ?? String(err)}\n${String(e.stderr ?? '')}${String(e.stdout ?? '')}`.trim());
  }
}

/** Same, but never rejects: exit status 0 → ok. */
export async function tryRun(file: string, args: string[], timeoutMs = 30_000): Promise<RunResult & { ok: boolean }> {
  try {
    return { ...(await run(file, args, { timeoutMs })), ok: true };
  } catch (err) {
    return { stdout: '', stderr: String((err as Error).message), ok: false };
  }
}

function which(cmd: string): boolean {
  return (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').some((d) => d && existsSync(join(d, cmd)));
}

/**
 * Why real-guest tests cannot run here, or null when they can. They are opt-in
 * (OBLAKO_REAL_GUEST=1): they need root, libvirtd, QEMU and about a minute per guest.
 */
export function realGuestSkipReason(): string | null {
  if (process.env.OBLAKO_REAL_GUEST !== '1') return 'set OBLAKO_REAL_GUEST=1 to boot real guests (root, libvirt, QEMU; slow)';
  if (process.platform !== 'linux') return 'Linux only';
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'needs root (network namespaces, taps, libvirtd)';
  if (!existsSync('/dev/net/tun')) return '/dev/net/tun is missing';
  for (const c of ['libvirtd', 'virtlogd', 'virsh', 'qemu-system-x86_64', 'qemu-img', 'ip', 'tc', 'curl', 'busybox', 'genisoimage']) {
    if (!which(c)) return `${c} is not installed (see tools/hypervisor/README.md for the apt packages)`;
  }
  return null;
}

// ---- guest image ----------------------------------------------------------------------------

export interface GuestImage {
  kernelVersion: string;
  kernel: string;
  initrd: string;
  cmdline: string;
  image: string;
  imageFormat: 'qcow2';
  imageSha256: string;
  imageMarker: string;
}

/** Build (or reuse) the test guest and return its manifest. */
export async function ensureGuestImage(): Promise<GuestImage> {
  await run(BUILD_GUEST, [], { timeoutMs: 300_000 });
  const dir = process.env.OBLAKO_GUEST_IMAGE_DIR ?? join(REPO, '.data/guest-image');
  return JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as GuestImage;
}

// ---- libvirtd in a namespace -------------------------------------------------------------------

export interface Hypervisor {
  netns: string;
  /** qemu:///system?socket=… of the private libvirtd */
  uri: string;
  /** Directory bind-mounted on /run/libvirt inside the namespace (QEMU pid files: qemu/<domain>.pid). */
  runDir: string;
  /** Stop libvirtd and delete the namespace (refused while guests still run). */
  close(): Promise<void>;
}

export function uniqueNetns(prefix = 'oblako-rg'): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

/** Where netns-libvirtd.sh keeps a private libvirtd's state (one folder per namespace). */
const PRIVATE_LIBVIRT_ROOT = '/var/lib/oblako-libvirt';
const OWNER_FILE = 'oblako-test-owner';

/**
 * Removes the hypervisors of earlier test runs whose process is gone: a test killed from outside (a
 * timeout, Ctrl-C, a lost machine) runs no `after`, and its software-emulated guests went on taking
 * CPU from everything after it (two such guests held a core between runs here). Only namespaces this
 * file made (they carry an owner file) are touched, and only when their owner is not a live process,
 * so runs side by side keep theirs.
 */
export async function sweepDeadHypervisors(prefix = 'oblako-rg-'): Promise<string[]> {
  const swept: string[] = [];
  if (!existsSync(PRIVATE_LIBVIRT_ROOT)) return swept;
  for (const name of readdirSync(PRIVATE_LIBVIRT_ROOT)) {
    const owner = join(PRIVATE_LIBVIRT_ROOT, name, OWNER_FILE);
    if (!name.startsWith(prefix) || !existsSync(owner)) continue;
    const [pid, started] = readFileSync(owner, 'utf8').trim().split(' ');
    if (pid && existsSync(`/proc/${pid}`) && processStart(Number(pid)) === started) continue;
    const uri = (await tryRun(NETNS_LIBVIRTD, ['uri', name])).stdout.trim();
    if (uri) await destroyDomains(uri, '');
    const r = await tryRun(NETNS_LIBVIRTD, ['delete', name], 60_000);
    if (r.ok) swept.push(name);
    else console.error(`could not remove the dead test hypervisor ${name}: ${r.stderr.trim()}`);
  }
  return swept;
}

/** A process's start time in clock ticks since boot (field 22 of /proc/PID/stat): with the pid, it names one process even after pids wrap. */
function processStart(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    return '';
  }
}

export async function startHypervisor(netns = uniqueNetns()): Promise<Hypervisor> {
  const swept = await sweepDeadHypervisors();
  if (swept.length) console.log(`# removed ${swept.length} hypervisor(s) left by killed test runs: ${swept.join(', ')}`);
  await run(NETNS_LIBVIRTD, ['start', netns], { env: { ...process.env, OBLAKO_LIBVIRT_PRIVATE: '1' }, timeoutMs: 60_000 });
  writeFileSync(join(PRIVATE_LIBVIRT_ROOT, netns, OWNER_FILE), `${process.pid} ${processStart(process.pid)}\n`);
  const uri = (await run(NETNS_LIBVIRTD, ['uri', netns])).stdout.trim();
  const sock = uri.split('socket=')[1] ?? '/run/libvirt/libvirt-sock';
  return {
    netns,
    uri,
    runDir: dirname(sock),
    async close() {
      await run(NETNS_LIBVIRTD, ['delete', netns], { timeoutMs: 60_000 });
    },
  };
}

export async function virsh(uri: string, args: string[], timeoutMs = 60_000): Promise<string> {
  return (await run('virsh', ['-q', '-c', uri, ...args], { timeoutMs })).stdout;
}

/** Destroy and undefine every domain of this libvirtd whose name starts with `prefix`. */
export async function destroyDomains(uri: string, prefix: string): Promise<void> {
  const names = (await tryRun('virsh', ['-q', '-c', uri, 'list', '--all', '--name'])).stdout.split('\n').map((s) => s.trim()).filter((s) => s.startsWith(prefix));
  for (const n of names) {
    await tryRun('virsh', ['-q', '-c', uri, 'destroy', n]);
    await tryRun('virsh', ['-q', '-c', uri, 'undefine', n]);
  }
}

// ---- inside the namespace -------------------------------------------------------------------------

export function inNetns(netns: string, file: string, args: string[], timeoutMs = 30_000): Promise<RunResult> {
  return run('ip', ['netns', 'exec', netns, file, ...args], { timeoutMs });
}

/** One ping (busybox: iputils-ping is not installed on these machines). */
export async function pingOnce(netns: string, address: string, waitSeconds = 1): Promise<boolean> {
  const ping = address.includes(':') ? 'ping6' : 'ping';
  return (await tryRun('ip', ['netns', 'exec', netns, 'busybox', ping, '-c', '1', '-W', String(waitSeconds), address], (waitSeconds + 5) * 1000)).ok;
}

/** GET http://address/path from inside the namespace; null when nothing answers. */
export async function guestGet(netns: string, address: string, path: string, timeoutSeconds = 2): Promise<string | null> {
  const host = address.includes(':') ? `[${address}]` : address;
  const r = await tryRun('ip', ['netns', 'exec', netns, 'curl', '-s', '-f', '--max-time', String(timeoutSeconds), `http://${host}${path}`], (timeoutSeconds + 5) * 1000);
  return r.ok ? r.stdout : null;
}

/**
 * Write `content` to the test guest's data filesystem as /data/<name> (POST /cgi-bin/data, synced before the
 * answer); returns the sha256 the guest computed. Throws when the guest has no data filesystem.
 */
export async function guestWrite(netns: string, address: string, name: string, content: string): Promise<string> {
  const host = address.includes(':') ? `[${address}]` : address;
  const r = await run('ip', ['netns', 'exec', netns, 'curl', '-s', '-f', '--max-time', '20', '--data-binary', content, `http://${host}/cgi-bin/data?name=${encodeURIComponent(name)}`], { timeoutMs: 30_000 });
  const sha = r.stdout.trim();
  if (!/^[0-9a-f]{64}$/.test(sha)) throw new Error(`the guest did not store ${name}: ${sha}`);
  return sha;
}

/** The test guest's /data/<name>, or null when it has none. */
export function guestRead(netns: string, address: string, name: string): Promise<string | null> {
  return guestGet(netns, address, `/data/${encodeURIComponent(name)}`, 5);
}

/** Poll until the guest answers GET /hostname; returns the (trimmed) hostname. */
export async function waitForGuestHttp(netns: string, address: string, timeoutMs = 120_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await guestGet(netns, address, '/hostname', 1);
    if (v !== null && v.trim() !== '') return v.trim();
    await sleep(50);
  }
  throw new Error(`guest ${address} did not answer HTTP within ${timeoutMs} ms`);
}

export async function waitForPing(netns: string, address: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await pingOnce(netns, address, 1)) return;
    await sleep(50);
  }
  throw new Error(`guest ${address} did not answer ping within ${timeoutMs} ms`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ---- where the kernel enforces the limits ----------------------------------------------------

/** cpu.cfs_quota_us of the domain's vcpu0 cgroup, read from the host's cgroup v1 hierarchy. */
export function vcpuQuota(hv: Hypervisor, domain: string, vcpu = 0): { quota: number; period: number; path: string } {
  const pid = readFileSync(join(hv.runDir, 'qemu', `${domain}.pid`), 'utf8').trim();
  const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => /^\d+:([^:]*,)?cpu(,[^:]*)?:/.test(l));
  if (!line) throw new Error(`QEMU ${pid} is in no cpu cgroup (are the cgroup v1 hierarchies mounted?)`);
  const cg = line.split(':').slice(2).join(':').replace(/\/emulator$/, '');
  const dir = `/sys/fs/cgroup/cpu${cg}/vcpu${vcpu}`;
  return {
    quota: Number(readFileSync(join(dir, 'cpu.cfs_quota_us'), 'utf8').trim()),
    period: Number(readFileSync(join(dir, 'cpu.cfs_period_us'), 'utf8').trim()),
    path: dir,
  };
}

/** Rates (bit/s) of the htb classes on a device, e.g. { '1:1': 8192000 }. */
export async function htbRates(netns: string, dev: string): Promise<Record<string, number>> {
  const out = (await inNetns(netns, 'tc', ['class', 'show', 'dev', dev])).stdout;
  const rates: Record<string, number> = {};
  for (const m of out.matchAll(/class htb (\S+) .*?rate (\d+(?:\.\d+)?)([KMG]?)bit/g)) {
    const mult = { '': 1, K: 1e3, M: 1e6, G: 1e9 }[m[3] ?? ''] ?? 1;
    rates[m[1]!] = Math.round(Number(m[2]) * mult);
  }
  return rates;
}

/** Rates (bit/s) of `police` actions on the ingress of a device (libvirt's <bandwidth><outbound>). */
export async function ingressPoliceRates(netns: string, dev: string): Promise<number[]> {
  const out = (await tryRun('ip', ['netns', 'exec', netns, 'tc', 'filter', 'show', 'dev', dev, 'parent', 'ffff:'])).stdout;
  return [...out.matchAll(/rate (\d+(?:\.\d+)?)([KMG]?)bit/g)].map((m) => Math.round(Number(m[1]) * ({ '': 1, K: 1e3, M: 1e6, G: 1e9 }[m[2] ?? ''] ?? 1)));
}

/** Device an ingress mirred filter redirects a device's traffic to (the ifb that shapes it), if any. */
export async function ingressRedirect(netns: string, dev: string): Promise<string | null> {
  const out = (await tryRun('ip', ['netns', 'exec', netns, 'tc', 'filter', 'show', 'dev', dev, 'parent', 'ffff:'])).stdout;
  return /Redirect to device (\S+?)\)/.exec(out)?.[1] ?? null;
}

/** The <iotune> of a disk in the live domain XML, as numbers. */
export async function liveIotune(uri: string, domain: string, target = 'vda'): Promise<Record<string, number>> {
  const xml = await virsh(uri, ['dumpxml', domain]);
  for (const disk of xml.split('<disk ').slice(1)) {
    if (!disk.includes(`dev='${target}'`)) continue;
    const io = /<iotune>([\s\S]*?)<\/iotune>/.exec(disk)?.[1] ?? '';
    const r: Record<string, number> = {};
    for (const m of io.matchAll(/<(\w+)>(\d+)<\/\1>/g)) r[m[1]!] = Number(m[2]);
    return r;
  }
  return {};
}

/** Bytes/s the guest sends to the namespace (GET /cgi-bin/zero): bounded by its outbound limit. */
export async function guestOutboundRate(netns: string, address: string, bytes: number): Promise<number> {
  const r = await inNetns(netns, 'curl', ['-s', '-o', '/dev/null', '--max-time', '120', '-w', '%{speed_download}', `http://${address}/cgi-bin/zero?bytes=${bytes}`], 130_000);
  return Number(r.stdout.trim());
}

/** Bytes/s the namespace sends to the guest (POST /cgi-bin/sink): bounded by its inbound limit. */
export async function guestInboundRate(netns: string, address: string, file: string): Promise<number> {
  const r = await inNetns(netns, 'curl', ['-s', '-o', '/dev/null', '--max-time', '120', '-H', 'Expect:', '--data-binary', `@${file}`, '-w', '%{speed_upload}', `http://${address}/cgi-bin/sink`], 130_000);
  return Number(r.stdout.trim());
}

/** What one curl moved: payload bytes and seconds (a transfer cut short by `maxSeconds` counts what it moved). */
export interface Transfer {
  bytes: number;
  seconds: number;
}

/**
 * From inside the namespace, fetch `bytes` from the guest (GET /cgi-bin/zero: the guest's outbound) or send it
 * `uploadFile` (POST /cgi-bin/sink: its inbound). Stopped after `maxSeconds` (curl's exit 28), which then reports
 * what arrived so far: tests that measure a rate over a fixed time use that.
 */
export async function guestTransfer(netns: string, address: string, what: { download: number } | { uploadFile: string }, maxSeconds = 600): Promise<Transfer> {
  const args = 'download' in what
    ? ['-s', '-o', '/dev/null', '-w', '%{size_download} %{time_total}', `http://${address}/cgi-bin/zero?bytes=${what.download}`]
    : ['-s', '-o', '/dev/null', '-H', 'Expect:', '--data-binary', `@${what.uploadFile}`, '-w', '%{size_upload} %{time_total}', `http://${address}/cgi-bin/sink`];
  const out = await new Promise<string>((resolve, reject) => {
    execFileCb('ip', ['netns', 'exec', netns, 'curl', '--max-time', String(maxSeconds), ...args], { timeout: (maxSeconds + 30) * 1000 }, (err, stdout, stderr) => {
      const code = (err as { code?: unknown } | null)?.code;
      if (err && code !== 28) reject(new Error(`curl to ${address} failed: ${err.message} ${String(stderr)}`));
      else resolve(String(stdout));
    });
  });
  const [bytes, seconds] = out.trim().split(' ').map(Number);
  if (!Number.isFinite(bytes) || !Number.isFinite(seconds)) throw new Error(`curl printed no size and time: ${out}`);
  return { bytes: bytes!, seconds: seconds! };
}

/**
 * A download from the guest that runs until stopped (GET /cgi-bin/zero of a terabyte, started again should it end):
 * tests watch the tap's counters to see its rate change while it runs.
 */
export function guestStream(netns: string, address: string): { stop(): Promise<void> } {
  let stopped = false;
  let child: ChildProcess | null = null;
  const loop = (): void => {
    if (stopped) return;
    child = spawn('ip', ['netns', 'exec', netns, 'curl', '-s', '-o', '/dev/null', `http://${address}/cgi-bin/zero?bytes=1000000000000`], { stdio: 'ignore' });
    child.once('exit', () => setTimeout(loop, 200));
  };
  loop();
  return {
    async stop() {
      stopped = true;
      const c = child;
      if (c && c.exitCode === null && c.signalCode === null) {
        const gone = new Promise((r) => c.once('exit', r));
        c.kill('SIGTERM');
        await gone;
      }
    },
  };
}

/** The kernel's cumulative counters of a device in the namespace (`rx` = what the other end, the guest, sent). */
export async function linkCounters(netns: string, dev: string): Promise<{ ifindex: number; rxBytes: number; txBytes: number; rxPackets: number; txPackets: number }> {
  const [l] = JSON.parse((await run('ip', ['-n', netns, '-j', '-s', 'link', 'show', 'dev', dev])).stdout) as { ifindex: number; stats64: { rx: { bytes: number; packets: number }; tx: { bytes: number; packets: number } } }[];
  return { ifindex: l!.ifindex, rxBytes: l!.stats64.rx.bytes, txBytes: l!.stats64.tx.bytes, rxPackets: l!.stats64.rx.packets, txPackets: l!.stats64.tx.packets };
}

/**
 * An independent count of a guest's IPv4 traffic: nftables counters in the namespace (input: from the guest,
 * output: to it), kept by the test itself whatever happens to the tap. Bytes are IP packets; `wire` adds the
 * 14-byte Ethernet header per packet, which is what a tap counts.
 */
export async function guestTrafficCounter(netns: string, address: string): Promise<{ read(): Promise<{ toGuest: number; fromGuest: number }>; remove(): Promise<void> }> {
  const table = `usage_proof_${randomBytes(3).toString('hex')}`;
  const script = [
    `table ip ${table} {`,
    `  chain input { type filter hook input priority -300; ip saddr ${address} counter; }`,
    `  chain output { type filter hook output priority -300; ip daddr ${address} counter; }`,
    '}',
  ].join('\n');
  await run('ip', ['netns', 'exec', netns, 'nft', '-f', '-'], { input: script, timeoutMs: 30_000 });
  const read = async () => {
    const out = (await inNetns(netns, 'nft', ['-j', 'list', 'table', 'ip', table])).stdout;
    const rules = (JSON.parse(out) as { nftables: { rule?: { chain: string; expr: { counter?: { packets: number; bytes: number } }[] } }[] }).nftables.filter((x) => x.rule);
    const wire = (chain: string) => {
      const c = rules.find((r) => r.rule!.chain === chain)!.rule!.expr.find((e) => e.counter)!.counter!;
      return c.bytes + 14 * c.packets;
    };
    return { toGuest: wire('output'), fromGuest: wire('input') };
  };
  return { read, remove: async () => void (await tryRun('ip', ['netns', 'exec', netns, 'nft', 'delete', 'table', 'ip', table])) };
}

/** Run a program with `input` on its stdin (no shell). */
// ---- spoofing -------------------------------------------------------------------------------------

function netCounter(text: string, proto: string, field: string): number {
  const lines = text.split('\n').filter((l) => l.startsWith(proto + ':'));
  const head = lines[0]?.split(/\s+/) ?? [];
  const vals = lines[1]?.split(/\s+/) ?? [];
  const i = head.indexOf(field);
  return i < 0 ? NaN : Number(vals[i]);
}

export async function netnsCounters(netns: string): Promise<{ inEchos: number; inEchos6: number; rpFilterDrops: number }> {
  const text = (await inNetns(netns, 'cat', ['/proc/net/snmp', '/proc/net/netstat', '/proc/net/snmp6'])).stdout;
  const inEchos6 = Number(/^Icmp6InEchos\s+(\d+)/m.exec(text)?.[1] ?? NaN);
  return { inEchos: netCounter(text, 'Icmp', 'InEchos'), inEchos6, rpFilterDrops: netCounter(text, 'TcpExt', 'IPReversePathFilter') };
}

/** Packets the daemon's nftables source guard dropped on a tap so far (chain src_<tap> of table inet oblako); 0 when it has none. */
export async function sourceGuardDrops(netns: string, tap: string): Promise<number> {
  const r = await tryRun('ip', ['netns', 'exec', netns, 'nft', 'list', 'chain', 'inet', 'oblako', `src_${tap}`]);
  return Number(/counter packets (\d+)/.exec(r.stdout)?.[1] ?? 0);
}

/**
 * Ask the guest (its /cgi-bin/ping) to ping `dst` from `src` — an address it may not own — and
 * count what reached the namespace. The host must see the echo requests from the guest's own
 * address and none from anybody else's. IPv6 (`dst` with a colon) counts Icmp6InEchos.
 */
export async function pingFromGuest(netns: string, guest: string, src: string, dst: string, count = 3): Promise<{ arrived: number; rpFilterDrops: number; output: string }> {
  const before = await netnsCounters(netns);
  // the guest's CGI takes only [0-9a-fA-F.:] (no %-escapes): IPv6 colons go in as they are
  const q = (v: string) => (/^[0-9a-fA-F.:]+$/.test(v) ? v : encodeURIComponent(v));
  const output = (await guestGet(netns, guest, `/cgi-bin/ping?src=${q(src)}&dst=${q(dst)}&count=${count}`, count + 10)) ?? '';
  const after = await netnsCounters(netns);
  const arrived = dst.includes(':') ? after.inEchos6 - before.inEchos6 : after.inEchos - before.inEchos;
  return { arrived, rpFilterDrops: after.rpFilterDrops - before.rpFilterDrops, output };
}

// ---- names the daemon derives (mirrors apps/node-daemon/src/naming.ts; checked against it in the test) ----

export function expectedTapName(serverId: string): string {
  return 'ob' + createHash('sha256').update(serverId).digest('hex').slice(0, 13);
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

// ---- the real Debian image (tools/guest-image/build-debian.sh) and SSH into it ---------------------

export const BUILD_DEBIAN = join(REPO, 'tools/guest-image/build-debian.sh');

export interface DebianImage {
  image: string;
  imageFormat: 'qcow2';
  imageSha256: string;
  imageBytes: number;
  virtualSizeMiB: number;
  bootMode: 'disk';
  defaultUser: string;
  cloudInit: string;
  kernelVersion: string;
  buildSeconds: number;
}

/** Why the Debian image cannot be built here (its tools are missing), or null. */
export function debianSkipReason(): string | null {
  for (const c of ['mmdebstrap', 'grub-mkimage', 'mke2fs', 'sfdisk', 'ssh', 'ssh-keygen', 'ssh-keyscan']) {
    if (!which(c)) return `${c} is not installed (apt-get install -y mmdebstrap grub-pc-bin e2fsprogs fdisk openssh-client)`;
  }
  return null;
}

/** Build (or reuse: cached by its inputs under .data/debian-image) the Debian 12 image; returns its manifest and how long this call took. */
export async function ensureDebianImage(): Promise<DebianImage & { tookMs: number }> {
  const t0 = Date.now();
  await run(BUILD_DEBIAN, [], { timeoutMs: 1_800_000 });
  const dir = process.env.OBLAKO_DEBIAN_IMAGE_DIR ?? join(REPO, '.data/debian-image');
  return { ...(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as DebianImage), tookMs: Date.now() - t0 };
}

/** A fresh ed25519 key pair in `dir` (ssh-keygen); returns the private key path and the public key line. */
export async function newSshKeyPair(dir: string, comment: string): Promise<{ keyFile: string; publicKey: string }> {
  const keyFile = join(dir, `id-${randomBytes(4).toString('hex')}`);
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', keyFile]);
  return { keyFile, publicKey: readFileSync(`${keyFile}.pub`, 'utf8').trim() };
}

export interface SshTarget {
  netns: string;
  address: string;
  user: string;
  keyFile: string;
}

function sshArgs(t: SshTarget, connectTimeout: number): string[] {
  return [
    'netns', 'exec', t.netns, 'ssh', '-i', t.keyFile, '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', 'StrictHostKeyChecking=no',
    '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', `ConnectTimeout=${connectTimeout}`, `${t.user}@${t.address}`,
  ];
}

/**
 * How long ssh may take to connect AND finish its key exchange (OpenSSH's ConnectTimeout covers both).
 * A software-emulated guest on a loaded host needs seconds for its half of the exchange. A short
 * timeout made things worse than slow: each client gave up mid-exchange, the guest's sshd went on
 * computing for it ("Broken pipe [preauth]"), retries piled up past MaxStartups (10) and were reset,
 * and the guest never got a whole exchange done in 10 minutes (seen here at load 21; the same guest
 * took 6.7 s for one unhurried login afterwards). A refused connection still fails at once.
 */
export const SSH_CONNECT_TIMEOUT_S = 60;

/** Run a command in the guest over SSH from inside the namespace (the command is the remote shell's; only test-made strings). */
export async function sshRun(t: SshTarget, command: string, timeoutMs = 120_000): Promise<string> {
  return (await run('ip', [...sshArgs(t, SSH_CONNECT_TIMEOUT_S), '--', command], { timeoutMs })).stdout;
}

/** Poll until the guest's sshd accepts the key (runs `true`); returns when it did. One attempt at a time, each given the time a slow guest needs. */
export async function waitForSsh(t: SshTarget, timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const r = await tryRun('ip', [...sshArgs(t, SSH_CONNECT_TIMEOUT_S), '--', 'true'], (SSH_CONNECT_TIMEOUT_S + 30) * 1000);
    if (r.ok) return;
    last = r.stderr.split('\n').slice(-2).join(' ');
    await sleep(1000);
  }
  throw new Error(`ssh ${t.user}@${t.address} did not accept the key within ${timeoutMs} ms (last: ${last})`);
}

/** The guest's SSH host keys (ssh-keyscan from inside the namespace), sorted `type base64` lines. */
export async function sshHostKeys(netns: string, address: string): Promise<string[]> {
  const out = (await inNetns(netns, 'ssh-keyscan', ['-T', String(SSH_CONNECT_TIMEOUT_S), address], (SSH_CONNECT_TIMEOUT_S + 30) * 1000)).stdout;
  return out.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(' ').slice(1, 3).join(' ')).sort();
}

/** libvirt's per-domain QEMU log of a private libvirtd (tools/hypervisor/netns-libvirtd.sh): `shutting down, reason=…` lines. */
export function domainLog(hv: Hypervisor, domain: string): string {
  const path = join(dirname(hv.runDir), 'log', 'qemu', `${domain}.log`);
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}

// ---- the API stack on a real hypervisor ------------------------------------------------------------

export const TEST_GUEST_NAME = 'Oblako test guest';
export const CUSTOMER_PASSWORD = 'correct horse battery staple';

export interface GuestStackOptions {
  /** Names the database (oblako_rg_NAME) and the data folder (oblako-rg-NAME-…). */
  name: string;
  /** The test guest (its kernel, initrd and command line go to the daemon); built when not given. */
  img?: GuestImage;
  /** The seeded images; default: the test guest alone, named TEST_GUEST_NAME. */
  images?: SeedOptions['images'];
  /** Default admin@rg.test; the customers' e-mails are at the same domain. */
  adminEmail?: string;
  ipv4Cidr?: string;
  ipv4Gateway?: string;
  /** Default a folder under the system's temporary folder. */
  dataDir?: string;
  /** Start the stack's own nats-server (operator mode, per-node users) instead of the shared test NATS. */
  ownNats?: boolean;
  /** Added to (and over) the daemon's environment for full provisioning on QEMU in the namespace. */
  daemonEnv?: NodeJS.ProcessEnv;
  apiEnv?: NodeJS.ProcessEnv;
  panelPort?: number;
  /** Staff create this plan (POST /api/v1/admin/plans) once the stack is up. */
  plan?: Record<string, unknown>;
  /** Tenants registered and e-mail-verified, each with its own client: the e-mail's local part and the company. */
  customers?: { name: string; company: string }[];
  /** Clients that refresh their access token when it expires (files that outlive one). */
  refreshOnExpiry?: boolean;
}

export interface GuestStack {
  hv: Hypervisor;
  img: GuestImage;
  db: TestDatabase;
  stack: Stack;
  admin: ApiClient;
  adminEmail: string;
  adminPassword: string;
  /** The plan of `plan`; undefined without one. */
  plan: PlanView;
  /** In the order of `customers`. */
  customers: { client: ApiClient; email: string }[];
  /** The seeded image named TEST_GUEST_NAME (undefined when not seeded) and the seeded location. */
  imageId: string;
  locationId: string;
  /** Stop the stack, destroy the domains whose names start with any of `domainPrefixes` (default oblako-), remove the hypervisor, the database and the streams. Never rejects. */
  close(domainPrefixes?: string[]): Promise<void>;
}

/**
 * The stack every real-guest test over the API starts: a private libvirtd in a namespace of its own, a
 * PostgreSQL database, NATS streams under a subject prefix of their own (or a nats-server of its own), the
 * API and a node daemon with full provisioning on QEMU, seeded with the test guest; then staff's plan and
 * verified tenants. When a step fails what was started is removed before the error goes on.
 */
export async function startGuestStack(o: GuestStackOptions): Promise<GuestStack> {
  const img = o.img ?? (await ensureGuestImage());
  const adminEmail = o.adminEmail ?? 'admin@rg.test';
  const adminPassword = uniqueName('pw');
  let hv: Hypervisor | undefined;
  let db: TestDatabase | undefined;
  let stack: Stack | undefined;
  const close = async (domainPrefixes = ['oblako-']): Promise<void> => {
    await stack?.stop().catch(() => undefined);
    if (hv) {
      for (const prefix of domainPrefixes) await destroyDomains(hv.uri, prefix).catch(() => undefined);
      const h = hv;
      await h.close().catch((err) => console.error(`could not clean up ${h.netns}: ${(err as Error).message}`));
    }
    await db?.drop().catch(() => undefined);
    if (stack && !o.ownNats) await dropStreams(stack.subjectPrefix).catch(() => undefined);
  };
  try {
    hv = await startHypervisor();
    db = await createTestDatabase(`oblako_rg_${o.name}`);
    const opts: StackOptions = {
      dataDir: o.dataDir ?? join(tmpdir(), uniqueName(`oblako-rg-${o.name}`)),
      databaseUrl: db.url,
      ...(o.ownNats ? {} : { natsUrl: TEST_NATS_URL, subjectPrefix: uniqueSubjectPrefix() }),
      ...(o.panelPort ? { panelPort: o.panelPort } : {}),
      ...(o.apiEnv ? { apiEnv: o.apiEnv } : {}),
      seed: {
        adminEmail, adminPassword,
        node: { vcpus: 2, memoryMiB: 4096, diskGiB: 100 },
        ipv4Cidr: o.ipv4Cidr ?? '198.51.100.0/24', ipv4Gateway: o.ipv4Gateway ?? '198.51.100.1',
        images: o.images ?? [{ name: TEST_GUEST_NAME, osFamily: 'busybox', version: '1', url: `file://${img.image}`, sha256: img.imageSha256, format: 'qcow2' }],
      },
      libvirtUri: hv.uri,
      daemonEnv: {
        DOMAIN_TYPE: 'qemu', OBLAKO_PROVISIONING: 'full', OBLAKO_NETNS: hv.netns, STOP_GRACE_SECONDS: '20',
        OBLAKO_DIRECT_KERNEL: img.kernel, OBLAKO_DIRECT_INITRD: img.initrd, OBLAKO_DIRECT_CMDLINE: img.cmdline,
        ...o.daemonEnv,
      },
    };
    const s = await startStack(opts);
    stack = s;
    const admin = new ApiClient(s.apiUrl);
    admin.refreshOnExpiry = o.refreshOnExpiry ?? false;
    await admin.login(adminEmail, adminPassword);
    const plan = o.plan ? await admin.ok<PlanView>('POST', '/api/v1/admin/plans', o.plan) : (undefined as unknown as PlanView);
    const domain = adminEmail.split('@')[1];
    const customers: GuestStack['customers'] = [];
    for (const c of o.customers ?? []) {
      const client = new ApiClient(s.apiUrl);
      client.refreshOnExpiry = o.refreshOnExpiry ?? false;
      const email = `${uniqueName(c.name)}@${domain}`;
      await client.register(email, CUSTOMER_PASSWORD, c.company);
      await s.verifyEmail(email);
      customers.push({ client, email });
    }
    const seeded = opts.seed.images!;
    return {
      hv, img, db, stack: s, admin, adminEmail, adminPassword, plan, customers,
      imageId: s.seed.imageIds[seeded.findIndex((i) => i.name === TEST_GUEST_NAME)] as string,
      locationId: s.seed.locationId,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

// ---- a backup store on a second host -------------------------------------------------------------

/** The store host: a namespace with sshd on its end of a veth; the machine's end has the other address of a /30. */
export interface StoreHost {
  netns: string;
  address: string;
  dir: string;
  hostKeyLine: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  close(): Promise<void>;
}

export async function startStoreHost(authorizedKey: string): Promise<StoreHost> {
  const n = randomInt(10, 250);
  const netns = uniqueName('oblako-bkst').slice(0, 30);
  const hostIf = `bks${n}h`;
  const storeIf = `bks${n}s`;
  const address = `10.251.${n}.2`;
  const dir = join(tmpdir(), uniqueName('oblako-rg-store'));
  mkdirSync(join(dir, 'ssh'), { recursive: true });
  mkdirSync(join(dir, 'store'), { recursive: true });
  await run('ip', ['netns', 'add', netns]);
  await run('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', storeIf]);
  await run('ip', ['link', 'set', storeIf, 'netns', netns]);
  await run('ip', ['addr', 'add', `10.251.${n}.1/30`, 'dev', hostIf]);
  await run('ip', ['link', 'set', hostIf, 'up']);
  await run('ip', ['-n', netns, 'addr', 'add', `${address}/30`, 'dev', storeIf]);
  await run('ip', ['-n', netns, 'link', 'set', storeIf, 'up']);
  await run('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'ssh', 'host')]);
  writeFileSync(join(dir, 'ssh', 'authorized_keys'), `${authorizedKey}\n`, { mode: 0o600 });
  writeFileSync(join(dir, 'ssh', 'sshd_config'), [
    `ListenAddress ${address}`, `HostKey ${join(dir, 'ssh', 'host')}`, `AuthorizedKeysFile ${join(dir, 'ssh', 'authorized_keys')}`,
    'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'UsePAM no', 'StrictModes no', 'PermitRootLogin prohibit-password',
    `PidFile ${join(dir, 'sshd.pid')}`,
  ].join('\n') + '\n');
  mkdirSync('/run/sshd', { recursive: true });
  const pub = readFileSync(join(dir, 'ssh', 'host.pub'), 'utf8').trim().split(' ');
  let proc: ChildProcess | null = null;
  const host: StoreHost = {
    netns, address, dir, hostKeyLine: `${address} ${pub[0]} ${pub[1]}`,
    async start() {
      proc = spawn('ip', ['netns', 'exec', netns, '/usr/sbin/sshd', '-D', '-e', '-f', join(dir, 'ssh', 'sshd_config')], { stdio: 'ignore' });
      await waitFor('the store\'s sshd', async () => (await tryRun('ssh-keyscan', ['-T', '2', address], 5000)).stdout.includes('ssh-ed25519'), { timeoutMs: 15_000, intervalMs: 200 });
    },
    async stop() {
      const p = proc;
      proc = null;
      if (!p || p.exitCode !== null) return;
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      await exited;
    },
    async close() {
      await host.stop();
      await tryRun('ip', ['link', 'del', hostIf]);
      await tryRun('ip', ['netns', 'del', netns]);
      await tryRun('rm', ['-rf', dir]);
    },
  };
  await host.start();
  return host;
}

export const sha256File = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
/** Every file under the store's base path, relative to it. */
export function storeFiles(base: string): string[] {
  if (!existsSync(base)) return [];
  return readdirSync(base, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => join(d.parentPath ?? d.path, d.name).slice(base.length + 1)).sort();
}
