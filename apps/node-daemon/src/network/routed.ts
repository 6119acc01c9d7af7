import { isIPv4, isIPv6 } from 'node:net';
import { access } from 'node:fs/promises';
import type { Address } from '@oblako/contracts';
import { ExecError, type Exec } from '../host/exec.js';
import { tapName } from '../naming.js';
import { guardChain, GUARD_FAMILY, GUARD_TABLE, planSourceGuard, planSourceGuardRemoval } from './guard.js';

const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;
const NETNS = /^[A-Za-z0-9_.-]{1,64}$/;
/** Tokens we hand to `ip -batch`: validated values only, never whitespace. */
const TOKEN = /^[A-Za-z0-9.:/_-]+$/;
/** A unicast MAC address, lower-case, colon-separated. */
export const UNICAST_MAC = /^[0-9a-f][02468ace](:[0-9a-f]{2}){5}$/;
/**
 * The host-side MAC of every tap on every node (migration convention, issue 9): a guest moved to another node
 * finds its gateway at the same MAC and keeps its ARP entry (a trial here: 0.3-0.4 s ping gap with the same MAC,
 * 5.6-5.8 s with different ones). Locally administered, unicast; `OBLAKO_TAP_MAC` replaces it, alike on every node.
 */
export const DEFAULT_TAP_MAC = 'fe:ff:ff:ff:ff:ff';

export class NetworkError extends Error {
  override name = 'NetworkError';
}

export interface CheckedAddress {
  family: 4 | 6;
  /** address/prefix routed to the tap, e.g. 198.51.100.10/32 */
  route: string;
  address: string;
  prefix: number;
  gateway: string;
}

/** Validate one address of a server: a real IP of its family, a prefix in range, a gateway of the same family. */
export function checkAddress(a: Address): CheckedAddress {
  const isFam = a.family === 4 ? isIPv4 : isIPv6;
  if (!isFam(a.address)) throw new NetworkError(`"${a.address}" is not an IPv${a.family} address`);
  if (!isFam(a.gateway)) throw new NetworkError(`gateway "${a.gateway}" is not an IPv${a.family} address`);
  const max = a.family === 4 ? 32 : 128;
  if (!Number.isInteger(a.prefix) || a.prefix < (a.family === 4 ? 32 : 56) || a.prefix > max) {
    throw new NetworkError(`prefix /${a.prefix} of ${a.address} must be ${a.family === 4 ? '32' : 'between 56 and 128'} (routed addresses)`);
  }
  if (a.address === a.gateway) throw new NetworkError(`address ${a.address} is its own gateway`);
  return { family: a.family, address: a.address, prefix: a.prefix, gateway: a.gateway, route: `${a.address}/${a.prefix}`, };
}

function gatewayAddr(a: CheckedAddress): string {
  if (a.family === 4) return `${a.gateway}/32`;
  return /^fe[89ab]/i.test(a.gateway) ? `${a.gateway}/64` : `${a.gateway}/128`;
}

/** The `ip` and `sysctl` invocations that give one server its routed tap. Pure, for tests and dry runs. */
export function planNetwork(serverId: string, addresses: readonly Address[], opts: { uplink?: string; tapMac?: string } = {}) {
  const tap = tapName(serverId);
  const checked = addresses.map(checkAddress);
  const gateways = [...new Set(checked.map(gatewayAddr))];
  const mac = opts.tapMac ?? DEFAULT_TAP_MAC;
  if (!UNICAST_MAC.test(mac)) throw new NetworkError(`tap MAC "${mac}" is not a unicast MAC address (six lower-case hex pairs joined by ":")`);
  // Set at every ensure (create, start, rebuild...): an existing server's tap gets the convention at its next start.
  const batch = [
    `link set dev ${tap} address ${mac}`,
    `link set dev ${tap} up`,
    ...gateways.map((g) => `address replace ${g} dev ${tap}`),
    ...checked.map((a) => `route replace ${a.route} dev ${tap}`),
  ];
  for (const line of batch) for (const t of line.split(' ')) if (!TOKEN.test(t)) throw new NetworkError(`refusing to pass "${t}" to ip`);
  const sysctls = [
    'net/ipv4/ip_forward=1',
    `net/ipv4/conf/${tap}/forwarding=1`,
    `net/ipv4/conf/${tap}/proxy_arp=1`,
    // strict reverse-path filtering: a packet from an address not routed to this tap is dropped
    `net/ipv4/conf/${tap}/rp_filter=1`,
  ];
  if (opts.uplink) {
    if (!IFNAME.test(opts.uplink)) throw new NetworkError(`uplink "${opts.uplink}" is not an interface name`);
    sysctls.push(`net/ipv4/conf/${opts.uplink}/proxy_arp=1`);
  }
  if (checked.some((a) => a.family === 6)) sysctls.push('net/ipv6/conf/all/forwarding=1');
  return { tap, addresses: checked, batch, sysctls };
}

/**
 * Routed networking of the seed design: one tap per server, the gateway address on it, a /32
 * (/128) route per address, forwarding, proxy ARP and strict rp_filter, and the nftables source
 * guard (guard.ts: packets from the tap whose source is not the server's are dropped, IPv4 and
 * IPv6). Everything runs with argument arrays (the guard as an `nft -f -` script built from
 * validated values), in `netns` when set (where libvirtd and QEMU run). Idempotent both ways.
 */
export class RoutedNetwork {
  constructor(
    private readonly exec: Exec,
    private readonly opts: { netns?: string; uplink?: string; tapMac?: string } = {},
  ) {
    if (opts.netns !== undefined && !NETNS.test(opts.netns)) throw new NetworkError(`network namespace "${opts.netns}" is not a valid name`);
  }

  private ip(args: string[], input?: string) {
    const ns = this.opts.netns ? ['-n', this.opts.netns] : [];
    return this.exec('ip', [...ns, ...args], input === undefined ? {} : { input });
  }

  /** sysctl in the namespace via nsenter (lighter than `ip netns exec`, which remounts /sys). */
  private sysctl(settings: string[]) {
    const args = ['-q', '-w', ...settings];
    return this.opts.netns ? this.exec('nsenter', [`--net=/run/netns/${this.opts.netns}`, 'sysctl', ...args]) : this.exec('sysctl', args);
  }

  /** nft in the namespace, the same way as sysctl. */
  private nft(args: string[], input?: string) {
    const opts = input === undefined ? {} : { input };
    return this.opts.netns ? this.exec('nsenter', [`--net=/run/netns/${this.opts.netns}`, 'nft', ...args], opts) : this.exec('nft', args, opts);
  }

  async tapExists(tap: string): Promise<boolean> {
    if (!this.opts.netns) {
      return access(`/sys/class/net/${tap}`).then(
        () => true,
        () => false,
      );
    }
    try {
      await this.ip(['-o', 'link', 'show', 'dev', tap]);
      return true;
    } catch (err) {
      if (err instanceof ExecError && /does not exist|cannot find device/i.test(err.stderr)) return false;
      throw err;
    }
  }

  /** Create (or complete) the server's tap, gateway, routes and sysctls. Returns the tap name. */
  async ensure(serverId: string, addresses: readonly Address[]): Promise<string> {
    const plan = planNetwork(serverId, addresses, { uplink: this.opts.uplink, tapMac: this.opts.tapMac });
    const guard = planSourceGuard(serverId, addresses); // validated before anything runs
    try {
      await this.ip(['tuntap', 'add', 'dev', plan.tap, 'mode', 'tap']);
    } catch (err) {
      // it exists already (a redelivery, a start after stop): fine
      if (!(err instanceof ExecError && /busy|exists/i.test(err.stderr))) throw err;
    }
    await Promise.all([this.ip(['-batch', '-'], plan.batch.join('\n') + '\n'), this.sysctl(plan.sysctls), this.nft(['-f', '-'], guard.script)]);
    return plan.tap;
  }

  /** (Re)create only the server's source guard (ensure does this too). */
  async ensureSourceGuard(serverId: string, addresses: readonly Address[]): Promise<void> {
    await this.nft(['-f', '-'], planSourceGuard(serverId, addresses).script);
  }

  /** Remove the tap (its address and routes go with it) and the server's source guard. Missing pieces are fine. */
  async remove(serverId: string): Promise<void> {
    const tap = tapName(serverId);
    const guard = planSourceGuardRemoval(serverId);
    await Promise.all([
      this.ip(['link', 'del', 'dev', tap]).catch((err: unknown) => {
        if (!(err instanceof ExecError && /does not exist|cannot find device/i.test(err.stderr))) throw err;
      }),
      this.nft(['-f', '-'], guard),
    ]);
  }

  /**
   * The server's guard chain as `nft list chain` prints it, or null when it has none (for checks
   * and tests).
   */
  async sourceGuard(serverId: string): Promise<string | null> {
    try {
      return (await this.nft(['list', 'chain', GUARD_FAMILY, GUARD_TABLE, guardChain(serverId)])).stdout;
    } catch (err) {
      if (err instanceof ExecError && /no such file or directory|does not exist/i.test(err.stderr)) return null;
      throw err;
    }
  }

  /** Routes currently pointing at the server's tap (for checks and tests). */
  async routes(serverId: string): Promise<string[]> {
    const tap = tapName(serverId);
    const out: string[] = [];
    for (const fam of ['-4', '-6']) {
      try {
        const { stdout } = await this.ip([fam, 'route', 'show', 'dev', tap]);
        out.push(...stdout.split('\n').filter(Boolean));
      } catch (err) {
        if (!(err instanceof ExecError && /does not exist|cannot find device/i.test(err.stderr))) throw err;
      }
    }
    return out;
  }
}
