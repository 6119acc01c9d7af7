import { z } from 'zod';
import { HOSTNAME_PATTERN } from './validation.js';

/** Version of the command/event wire format. Bump on incompatible change. */
export const WIRE_VERSION = 1;

const uuid = z.uuid();
const nodeId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);

export const AddressSchema = z.object({
  family: z.union([z.literal(4), z.literal(6)]),
  address: z.string().min(2).max(64),
  /** Prefix length routed to the server: 32 for IPv4, 128 (or 64 for a routed block) for IPv6. */
  prefix: z.number().int().min(1).max(128),
  /** On-link gateway the guest uses (the host side of its tap). */
  gateway: z.string().min(2).max(64),
});
export type Address = z.infer<typeof AddressSchema>;

export const ImageRefSchema = z.object({
  id: uuid,
  name: z.string().min(1).max(120),
  /** Where the node fetches the base image from (http(s):// or file://). */
  url: z.string().min(1).max(2048),
  /** Lower-case hex SHA-256 of the base image file. */
  sha256: z.string().regex(/^[a-f0-9]{64}$/),
  format: z.enum(['qcow2', 'raw']),
  /** How the guest reads its seed: cloud-init NoCloud is the only flavour today. */
  cloudInit: z.enum(['nocloud']).default('nocloud'),
  /**
   * `disk`: the image has its own bootloader, the node never boots it from its direct kernel;
   * `direct-kernel`: the image has none and needs the node's kernel (OBLAKO_DIRECT_KERNEL).
   * Absent: the node's choice (its direct kernel when it has one).
   */
  bootMode: z.enum(['disk', 'direct-kernel']).optional(),
  /** The user cloud-init creates in this image (gets the SSH keys), e.g. `debian`; absent = root only. */
  defaultUser: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/).optional(),
});
export type ImageRef = z.infer<typeof ImageRefSchema>;

/** An ISO of the provider's library, as a node fetches it (once, cached by checksum). */
export const IsoRefSchema = z.object({
  id: uuid,
  name: z.string().min(1).max(120),
  /** http(s):// or file:// (a path on the node). */
  url: z.string().min(1).max(2048),
  /** Lower-case hex SHA-256 of the ISO file. */
  sha256: z.string().regex(/^[a-f0-9]{64}$/),
});
export type IsoRef = z.infer<typeof IsoRefSchema>;

/** Everything a node needs to build (or rebuild, or resize) one server. */
export const ServerSpecSchema = z.object({
  serverId: uuid,
  hostname: z.string().regex(HOSTNAME_PATTERN),
  vcpus: z.number().int().min(1).max(256),
  memoryMiB: z.number().int().min(64).max(4 * 1024 * 1024),
  diskGiB: z.number().int().min(1).max(65536),
  /** CPU time each vCPU may use, in percent of one host core (100 = unthrottled). */
  cpuQuotaPercent: z.number().int().min(1).max(100),
  /** Relative CPU weight against other guests on the node. */
  cpuShares: z.number().int().min(2).max(262144).default(1024),
  /** 0 means unlimited. */
  diskIops: z.number().int().min(0),
  diskMBps: z.number().int().min(0),
  netMbit: z.number().int().min(0),
  image: ImageRefSchema,
  addresses: z.array(AddressSchema).max(64),
  sshKeys: z.array(z.string().min(16).max(16384)).max(64),
  /** crypt(3) hash for the root password, when the customer asked for one. */
  rootPasswordHash: z.string().max(512).optional(),
});
export type ServerSpec = z.infer<typeof ServerSpecSchema>;

/** Fields every command carries, whatever its op. */
export const commandBase = {
  v: z.literal(WIRE_VERSION),
  taskId: uuid,
  serverId: uuid,
  nodeId,
  /** Which try of its task this command is (1 for the first; a retry or a next step counts up). */
  attempt: z.number().int().min(1).max(100),
  /** Epoch milliseconds when the API accepted the request. */
  issuedAt: z.number(),
};

/**
 * The `Nats-Msg-Id` of a command: JetStream stores one message per id within the duplicate window, so the
 * outbox may publish a command twice (fast path and drain) and the node still gets it once. A retry or a
 * next step of the same task is a new attempt and a new id.
 */
export function commandMessageId(taskId: string, attempt: number): string {
  return attempt <= 1 ? taskId : `${taskId}:${attempt}`;
}
