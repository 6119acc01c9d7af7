import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Exec } from '../host/exec.js';
import { serverIdOfDomain, tapName } from '../naming.js';

/** Cumulative counters of one QEMU process (they start at zero when the domain starts). */
export interface DomainCounters {
  /** Which QEMU process these belong to (its pid), when known: a new one means the counters restarted. */
  instance?: string;
  cpuNs: number;
  diskReadBytes: number;
  diskWriteBytes: number;
  diskReadOps: number;
  diskWriteOps: number;
  /** Guest-reported memory in use (balloon statistics), when the guest reports it. */
  memoryBytes?: number;
}

/** Cumulative counters of a server's tap, host side (`rx` = what the guest sent). */
export interface TapCounters {
  /** The tap's ifindex: a tap created anew starts its counters at zero. */
  instance: string;
  rxBytes: number;
  txBytes: number;
}

export interface RawCounters {
  domain?: DomainCounters;
  tap?: TapCounters;
}

/** Reads the counters of the given servers (the ones running now); servers it knows nothing about are left out. */
export interface UsageReader {
  readonly name: string;
  read(serverIds: readonly string[], into: Map<string, RawCounters>): Promise<void>;
}

function entry(into: Map<string, RawCounters>, id: string): RawCounters {
  let e = into.get(id);
  if (!e) into.set(id, (e = {}));
  return e;
}

/**
 * Tap counters from the kernel, every tap in one `ip -j -s link show` (in the node's network namespace
 * when it has one: /sys/class/net shows only the daemon's own namespace).
 */
export class TapCounterReader implements UsageReader {
  readonly name = 'tap';
  constructor(
    private readonly exec: Exec,
    private readonly netns?: string,
  ) {}

  async read(serverIds: readonly string[], into: Map<string, RawCounters>): Promise<void> {
    if (!serverIds.length) return;
    const { stdout } = await this.exec('ip', [...(this.netns ? ['-n', this.netns] : []), '-j', '-s', 'link', 'show'], { timeoutMs: 20_000 });
    const byTap = new Map(serverIds.map((id) => [tapName(id), id]));
    for (const link of JSON.parse(stdout) as { ifindex: number; ifname: string; stats64?: { rx?: { bytes?: number }; tx?: { bytes?: number } } }[]) {
      const id = byTap.get(link.ifname);
      if (!id || !link.stats64) continue;
      entry(into, id).tap = { instance: String(link.ifindex), rxBytes: Number(link.stats64.rx?.bytes ?? 0), txBytes: Number(link.stats64.tx?.bytes ?? 0) };
    }
  }
}

/** Parse `virsh domstats` text: `Domain: 'name'` followed by `  key=value` lines. */
export function parseDomstats(text: string): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  let cur: Record<string, string> | null = null;
  for (const line of text.split('\n')) {
    const d = /^Domain: '(.+)'\s*$/.exec(line);
    if (d) {
      cur = {};
      out.set(d[1], cur);
      continue;
    }
    const kv = /^\s+([A-Za-z0-9_.]+)=(.*)$/.exec(line);
    if (kv && cur) cur[kv[1]] = kv[2];
  }
  return out;
}

/** CPU time, block I/O and balloon memory of one domain from its domstats fields. */
export function domainCountersOf(f: Record<string, string>): DomainCounters {
  const n = (k: string) => {
    const v = Number(f[k]);
    return Number.isFinite(v) && v >= 0 ? v : 0;
  };
  const c: DomainCounters = { cpuNs: n('cpu.time'), diskReadBytes: 0, diskWriteBytes: 0, diskReadOps: 0, diskWriteOps: 0 };
  const blocks = n('block.count');
  for (let i = 0; i < blocks; i++) {
    c.diskReadBytes += n(`block.${i}.rd.bytes`);
    c.diskWriteBytes += n(`block.${i}.wr.bytes`);
    c.diskReadOps += n(`block.${i}.rd.reqs`);
    c.diskWriteOps += n(`block.${i}.wr.reqs`);
  }
  // balloon.available and .unused come from the guest's balloon driver (KiB); absent when it reports nothing
  if (f['balloon.available'] !== undefined && f['balloon.unused'] !== undefined) {
    c.memoryBytes = Math.max(0, n('balloon.available') - n('balloon.unused')) * 1024;
  }
  return c;
}

/**
 * Where libvirtd keeps QEMU's pid files (`<domain>.pid`) for a connection URI: `/run/libvirt/qemu` for the
 * system daemon, and beside the socket for a libvirtd of its own (`qemu:///system?socket=/x/run/libvirt-sock`
 * → `/x/run/qemu`: a private libvirtd's runtime directory is where its socket is).
 */
export function qemuPidDir(uri: string): string {
  const q = uri.indexOf('?');
  const socket = q < 0 ? null : new URLSearchParams(uri.slice(q + 1)).get('socket');
  return socket ? join(dirname(socket), 'qemu') : '/run/libvirt/qemu';
}

/**
 * CPU, disk and memory of every running domain in one `virsh domstats` (the addon has no stats calls:
 * its getInfo has CPU time but no block or memory statistics). The QEMU pid (libvirt's pid file) tells
 * one run of a domain from the next.
 */
export class DomstatsReader implements UsageReader {
  readonly name = 'domstats';
  constructor(
    private readonly exec: Exec,
    private readonly uri: string,
    private readonly pidDir = qemuPidDir(uri),
  ) {}

  async read(serverIds: readonly string[], into: Map<string, RawCounters>): Promise<void> {
    if (!serverIds.length) return;
    const want = new Set(serverIds);
    const { stdout } = await this.exec('virsh', ['-c', this.uri, 'domstats', '--cpu-total', '--block', '--balloon', '--list-running'], { timeoutMs: 30_000 });
    for (const [name, fields] of parseDomstats(stdout)) {
      const id = serverIdOfDomain(name);
      if (!id || !want.has(id)) continue;
      const counters = domainCountersOf(fields);
      const pid = await readFile(`${this.pidDir}/${name}.pid`, 'utf8').then((s) => s.trim(), () => undefined);
      if (pid) counters.instance = pid;
      entry(into, id).domain = counters;
    }
  }
}
