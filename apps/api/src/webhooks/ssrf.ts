import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/**
 * Outbound webhooks must not be a way into the provider's own network (SSRF). A URL's host is
 * resolved, every address it resolves to must be public, and the request is then made to that
 * vetted address (pinned), so a DNS answer that changes between the check and the connection
 * (rebinding) cannot redirect it. Redirects are never followed.
 */
const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.0.0.0', 24],
  ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) blocked.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128], ['::1', 128], ['64:ff9b::', 96], ['64:ff9b:1::', 48], ['100::', 64], ['2001::', 23], ['2001:db8::', 32], ['2002::', 16], ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8],
] as const) blocked.addSubnet(net, prefix, 'ipv6');

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

export const LOCAL_HOSTNAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** IPv4-mapped IPv6 (::ffff:10.0.0.1) is judged as the IPv4 address it carries. */
function unmap(address: string): { address: string; family: 'ipv4' | 'ipv6' } {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (m) return { address: m[1]!, family: 'ipv4' };
  return { address, family: isIP(address) === 6 ? 'ipv6' : 'ipv4' };
}

/** Why this address may not be called, or null when it is a public unicast address. */
export function refusedAddress(address: string, allowLoopback: boolean): string | null {
  const a = unmap(address);
  if (allowLoopback && loopback.check(a.address, a.family)) return null;
  if (blocked.check(a.address, a.family)) return `${address} is a private, loopback, link-local or reserved address`;
  return null;
}

export type Resolver = (hostname: string) => Promise<{ address: string; family: number }[]>;
export const systemResolver: Resolver = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

export class UnsafeUrlError extends Error {}

export interface VettedTarget {
  url: URL;
  /** Connect here, and nowhere else. */
  address: string;
  family: 4 | 6;
}

/**
 * Check a webhook URL and resolve its host to the one address the request will use.
 * `allowLocalhost` (development only) admits http(s)://localhost, 127.0.0.1 and [::1].
 */
export async function vetWebhookUrl(raw: string, allowLocalhost: boolean, resolve: Resolver = systemResolver): Promise<VettedTarget> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UnsafeUrlError('url must be an absolute URL such as https://example.com/hooks/oblako');
  }
  const local = LOCAL_HOSTNAMES.has(url.hostname.toLowerCase());
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && allowLocalhost && local)) {
    throw new UnsafeUrlError(allowLocalhost ? 'url must use https (http only for localhost in development mode)' : 'url must use https');
  }
  if (url.username || url.password) throw new UnsafeUrlError('url must not carry a user name or password; authenticate the webhook by its signature');
  if (url.hash) throw new UnsafeUrlError('url must not have a #fragment');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: { address: string; family: number }[];
  if (isIP(host)) addresses = [{ address: host, family: isIP(host) }];
  else {
    try {
      addresses = await resolve(host);
    } catch {
      throw new UnsafeUrlError(`the host ${host} does not resolve; check the name`);
    }
  }
  if (!addresses.length) throw new UnsafeUrlError(`the host ${host} does not resolve; check the name`);
  for (const a of addresses) {
    const why = refusedAddress(a.address, allowLocalhost && local);
    if (why) throw new UnsafeUrlError(`url is refused: ${host} resolves to ${why}; webhooks go to public addresses only`);
  }
  const first = addresses[0]!;
  return { url, address: first.address, family: first.family === 6 ? 6 : 4 };
}
