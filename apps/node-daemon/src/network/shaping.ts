import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { batchAllowingFailures, type Exec } from '../host/exec.js';
import { assertServerId, tapName } from '../naming.js';

/**
 * Rate limits by hand, for kernels where libvirt's `<bandwidth>` cannot work (it needs sch_sfq and
 * act_police; this project's machines have neither, and a domain with `<bandwidth>` then fails to
 * start). Traffic to the guest: htb on the tap's egress. Traffic from the guest: the tap's ingress
 * redirected to an ifb device with htb on its egress. Applied after the domain starts (libvirt
 * resets the tap's root qdisc at start). Rates in mbit, exactly the plan's Mbit/s.
 */
export function ifbName(serverId: string): string {
  return 'oi' + createHash('sha256').update(assertServerId(serverId)).digest('hex').slice(0, 13);
}

export function planShaping(serverId: string, mbit: number) {
  if (!Number.isInteger(mbit) || mbit < 1 || mbit > 10_000_000) throw new Error(`rate ${mbit} Mbit/s must be a whole number from 1 to 10000000`);
  const tap = tapName(serverId);
  const ifb = ifbName(serverId);
  const rate = `${mbit}mbit`;
  // Run on a clean tap (root and ingress qdiscs removed) and a fresh ifb: htb cannot be "replaced"
  // by itself a second time ("Change operation not supported"), so everything is added anew.
  const tc = [
    `qdisc add dev ${tap} root handle 1: htb default 1`,
    `class add dev ${tap} parent 1: classid 1:1 htb rate ${rate} ceil ${rate}`,
    `qdisc add dev ${tap} parent 1:1 handle 2: pfifo`,
    `qdisc add dev ${tap} handle ffff: ingress`,
    `filter add dev ${tap} parent ffff: protocol all prio 1 u32 match u32 0 0 action mirred egress redirect dev ${ifb}`,
    `qdisc add dev ${ifb} root handle 1: htb default 1`,
    `class add dev ${ifb} parent 1: classid 1:1 htb rate ${rate} ceil ${rate}`,
    `qdisc add dev ${ifb} parent 1:1 handle 2: pfifo`,
  ];
  return { tap, ifb, rate, tc };
}

export class TcShaper {
  constructor(
    private readonly exec: Exec,
    private readonly netns?: string,
  ) {}

  private ns(): string[] {
    return this.netns ? ['-n', this.netns] : [];
  }

  /**
   * (Re)apply the limits of a running server in two processes: `ip -batch` (fresh ifb) and
   * `tc -batch` (old qdiscs removed, htb added). 0 Mbit/s = unlimited: only removes old limits.
   */
  async apply(serverId: string, mbit: number): Promise<void> {
    if (mbit === 0) return this.clear(serverId);
    const plan = planShaping(serverId, mbit);
    await batchAllowingFailures(this.exec, 'ip', this.ns(), [`link del dev ${plan.ifb}`, `link add ${plan.ifb} type ifb`, `link set dev ${plan.ifb} up`], new Set([1]));
    await batchAllowingFailures(this.exec, 'tc', this.ns(), [`qdisc del dev ${plan.tap} ingress`, `qdisc del dev ${plan.tap} root`, ...plan.tc], new Set([1, 2]));
  }

  /** Remove the tap's qdiscs and the ifb device. Missing pieces are fine. */
  async clear(serverId: string): Promise<void> {
    const tap = tapName(serverId);
    await batchAllowingFailures(this.exec, 'tc', this.ns(), [`qdisc del dev ${tap} ingress`, `qdisc del dev ${tap} root`], new Set([1, 2]));
    await batchAllowingFailures(this.exec, 'ip', this.ns(), [`link del dev ${ifbName(serverId)}`], new Set([1]));
  }
}

/** Whether libvirt's `<bandwidth>` can work on this kernel (sfq and police), from /proc/config.gz; unknown → true. */
export async function kernelSupportsLibvirtBandwidth(configGz = '/proc/config.gz'): Promise<boolean> {
  let text: string;
  try {
    text = gunzipSync(await readFile(configGz)).toString('utf8');
  } catch {
    return true;
  }
  const has = (opt: string) => new RegExp(`^${opt}=(y|m)$`, 'm').test(text);
  return has('CONFIG_NET_SCH_SFQ') && has('CONFIG_NET_ACT_POLICE');
}
