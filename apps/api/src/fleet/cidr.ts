/**
 * IPv4/IPv6 address arithmetic on BigInt, with no dependencies. IP pools hand out addresses by
 * offset from the network address; only allocated addresses get a row.
 */
export type Family = 4 | 6;

export interface IpValue { family: Family; value: bigint }

export interface Cidr {
  family: Family;
  network: bigint;
  prefix: number;
  /** Number of addresses in the block. */
  size: bigint;
}

export class CidrError extends Error {}

const BITS: Record<Family, number> = { 4: 32, 6: 128 };

function parseIpv4(text: string): bigint | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let v = 0n;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function parseIpv6(text: string): bigint | null {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || text.length > 45) return null;
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const group = (s: string): string[] | null => {
    if (s === '') return [];
    const gs = s.split(':');
    const out: string[] = [];
    for (let i = 0; i < gs.length; i++) {
      const g = gs[i]!;
      if (i === gs.length - 1 && g.includes('.')) {
        const v4 = parseIpv4(g);
        if (v4 === null) return null;
        out.push(((v4 >> 16n) & 0xffffn).toString(16), (v4 & 0xffffn).toString(16));
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
        out.push(g);
      }
    }
    return out;
  };
  const head = group(halves[0]!);
  const tail = halves.length === 2 ? group(halves[1]!) : [];
  if (!head || !tail) return null;
  const missing = 8 - head.length - tail.length;
  if ((halves.length === 1 && missing !== 0) || (halves.length === 2 && missing < 1)) return null;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(parseInt(g, 16));
  return v;
}

export function parseIp(text: string): IpValue {
  const t = text.trim();
  const v4 = parseIpv4(t);
  if (v4 !== null) return { family: 4, value: v4 };
  const v6 = t.includes(':') ? parseIpv6(t) : null;
  if (v6 !== null) return { family: 6, value: v6 };
  throw new CidrError(`"${text}" is not an IPv4 or IPv6 address`);
}

export function formatIp(family: Family, value: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => ((value >> s) & 0xffn).toString()).join('.');
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((value >> BigInt(i * 16)) & 0xffffn));
  // RFC 5952: compress the longest run (length >= 2) of zero groups, the first one on ties.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

export function parseCidr(text: string): Cidr {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text.trim());
  if (!m) throw new CidrError(`"${text}" is not in CIDR notation (address/prefix, e.g. 192.0.2.0/24 or 2001:db8::/64)`);
  const ip = parseIp(m[1]!);
  const prefix = Number(m[2]);
  const bits = BITS[ip.family];
  if (prefix > bits) throw new CidrError(`The prefix /${prefix} is longer than ${bits} bits, the size of an IPv${ip.family} address`);
  const hostBits = BigInt(bits - prefix);
  const size = 1n << hostBits;
  const network = (ip.value >> hostBits) << hostBits;
  if (network !== ip.value) {
    throw new CidrError(`"${text}" has host bits set; the block starts at ${formatIp(ip.family, network)}/${prefix}`);
  }
  return { family: ip.family, network, prefix, size };
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.family, c.network)}/${c.prefix}`;
}

export function contains(c: Cidr, ip: IpValue): boolean {
  return c.family === ip.family && ip.value >= c.network && ip.value < c.network + c.size;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.family === b.family && a.network < b.network + b.size && b.network < a.network + a.size;
}

/**
 * Offsets that may be given to servers: IPv4 leaves out the network and broadcast addresses
 * (except on /31 and /32); IPv6 leaves out the subnet-router anycast address (offset 0).
 */
export function assignableRange(c: Cidr): { first: bigint; last: bigint } {
  if (c.family === 4 && c.prefix >= 31) return { first: 0n, last: c.size - 1n };
  if (c.family === 4) return { first: 1n, last: c.size - 2n };
  if (c.prefix === 128) return { first: 0n, last: 0n };
  return { first: 1n, last: c.size - 1n };
}

export function addressAt(c: Cidr, offset: bigint): string {
  if (offset < 0n || offset >= c.size) throw new CidrError(`Offset ${offset} is outside ${formatCidr(c)}`);
  return formatIp(c.family, c.network + offset);
}

export function offsetOf(c: Cidr, ip: IpValue): bigint {
  if (!contains(c, ip)) throw new CidrError(`${formatIp(ip.family, ip.value)} is outside ${formatCidr(c)}`);
  return ip.value - c.network;
}
