import { isIPv4, isIPv6 } from 'node:net';
import type { Address } from '@oblako/contracts';
import { tapName } from '../naming.js';
import { checkAddress, NetworkError } from './routed.js';

/**
 * Source guard: packets a guest sends from an address it was not given are dropped where they
 * enter the host, on its tap. IPv4 also has strict rp_filter on each tap; IPv6 has no rp_filter,
 * so this is what stops IPv6 spoofing. One nftables table in the node's namespace:
 *
 *   table inet oblako
 *     chain prerouting   filter, hook prerouting, priority raw: `iifname vmap @taps`
 *     map taps           tap name → `jump src_<tap>`
 *     chain src_<tap>    `ip saddr {…} return`, `ip6 saddr {…} return`, `counter drop`
 *
 * A server's chain is flushed and refilled in one transaction (idempotent), and the map entry and
 * chain are removed in one transaction that first makes sure they exist (safe to repeat). Matching
 * by interface name, the rules may exist before the tap does and outlive it.
 */
export const GUARD_TABLE = 'oblako';
export const GUARD_FAMILY = 'inet';

/** Link-local (NDP, router/neighbour solicitations) and the unspecified address (DAD, MLD). */
export const IPV6_ALWAYS_ALLOWED = ['fe80::/10', '::'] as const;

const TAP = /^ob[0-9a-f]{13}$/;
const V4 = /^[0-9.]+$/;
const V6 = /^[0-9a-fA-F:.]+$/;

export function guardChain(serverId: string): string {
  return `src_${tapName(serverId)}`;
}

/** The allowed sources of one server, each checked to be a plain IP (prefix) of its family. */
export function allowedSources(addresses: readonly Address[]): { v4: string[]; v6: string[] } {
  const v4 = new Set<string>();
  const v6 = new Set<string>(IPV6_ALWAYS_ALLOWED);
  for (const a of addresses.map(checkAddress)) {
    if (a.family === 4) {
      if (!isIPv4(a.address) || !V4.test(a.address)) throw new NetworkError(`"${a.address}" is not an IPv4 address`);
      v4.add(a.address);
    } else {
      // no zone ids (fe80::1%eth0) or anything else isIPv6 might let through
      if (!isIPv6(a.address) || !V6.test(a.address)) throw new NetworkError(`"${a.address}" is not an IPv6 address`);
      v6.add(a.prefix === 128 ? a.address : `${a.address}/${a.prefix}`);
    }
  }
  return { v4: [...v4], v6: [...v6] };
}

function header(): string[] {
  return [
    `add table ${GUARD_FAMILY} ${GUARD_TABLE}`,
    `add map ${GUARD_FAMILY} ${GUARD_TABLE} taps { type ifname : verdict; }`,
  ];
}

/**
 * The `nft -f -` script that (re)creates one server's guard. Pure: built only from the tap name
 * (hex) and addresses validated with node:net. The base chain's single rule is rewritten in the
 * same transaction, so running it again never duplicates anything.
 */
export function planSourceGuard(serverId: string, addresses: readonly Address[]): { tap: string; chain: string; script: string } {
  const tap = tapName(serverId);
  if (!TAP.test(tap)) throw new NetworkError(`refusing tap name "${tap}"`);
  const chain = guardChain(serverId);
  const { v4, v6 } = allowedSources(addresses);
  const t = `${GUARD_FAMILY} ${GUARD_TABLE}`;
  const lines = [
    ...header(),
    `add chain ${t} prerouting { type filter hook prerouting priority raw; policy accept; }`,
    `flush chain ${t} prerouting`,
    `add rule ${t} prerouting iifname vmap @taps`,
    `add chain ${t} ${chain}`,
    `flush chain ${t} ${chain}`,
    ...(v4.length ? [`add rule ${t} ${chain} ip saddr { ${v4.join(', ')} } return`] : []),
    `add rule ${t} ${chain} ip6 saddr { ${v6.join(', ')} } return`,
    // everything else from this tap (IPv4 or IPv6 from an address it was not given)
    `add rule ${t} ${chain} counter drop`,
    `add element ${t} taps { "${tap}" : jump ${chain} }`,
  ];
  return { tap, chain, script: lines.join('\n') + '\n' };
}

/** The `nft -f -` script that removes one server's guard; it creates what it deletes first, so it never fails for "already gone". */
export function planSourceGuardRemoval(serverId: string): string {
  const tap = tapName(serverId);
  if (!TAP.test(tap)) throw new NetworkError(`refusing tap name "${tap}"`);
  const chain = guardChain(serverId);
  const t = `${GUARD_FAMILY} ${GUARD_TABLE}`;
  return [
    ...header(),
    `add chain ${t} ${chain}`,
    `add element ${t} taps { "${tap}" : jump ${chain} }`,
    `delete element ${t} taps { "${tap}" }`,
    `flush chain ${t} ${chain}`,
    `delete chain ${t} ${chain}`,
  ].join('\n') + '\n';
}
