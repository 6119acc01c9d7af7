import { createHash } from 'node:crypto';

/** Lower-case RFC 4122 textual UUID; every server id the daemon turns into a name must match. */
export const SERVER_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const DOMAIN_PREFIX = 'oblako-';

export function assertServerId(serverId: string): string {
  if (!SERVER_ID.test(serverId)) throw new Error(`server id "${serverId.slice(0, 64)}" is not a lower-case UUID`);
  return serverId;
}

/** The libvirt domain name of a server: deterministic, so a redelivered create finds its domain. */
export function domainName(serverId: string): string {
  return DOMAIN_PREFIX + assertServerId(serverId);
}

/** The server id of one of our domains, or null for anything else on the host. */
export function serverIdOfDomain(name: string): string | null {
  if (!name.startsWith(DOMAIN_PREFIX)) return null;
  const id = name.slice(DOMAIN_PREFIX.length);
  return SERVER_ID.test(id) ? id : null;
}

/**
 * Tap device of a server: "ob" + 13 hex characters of SHA-256(server id) = 15 characters, the
 * Linux limit. Hashing (not the id's own prefix) keeps time-ordered ids (UUIDv7) from colliding.
 */
export function tapName(serverId: string): string {
  return 'ob' + createHash('sha256').update(assertServerId(serverId)).digest('hex').slice(0, 13);
}

/** The libvirt name of a snapshot the API knows by id (a UUID: no characters virsh or qcow2 could misread). */
export function snapshotName(snapshotId: string): string {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(snapshotId)) throw new Error(`not a snapshot id: ${snapshotId}`);
  return `s-${snapshotId.toLowerCase()}`;
}
