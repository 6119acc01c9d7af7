import { z } from 'zod';
import { TaskOp } from './enums.js';
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
});
export type ImageRef = z.infer<typeof ImageRefSchema>;

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

const base = {
  v: z.literal(WIRE_VERSION),
  taskId: uuid,
  serverId: uuid,
  nodeId,
  attempt: z.number().int().min(1).max(100),
  /** Epoch milliseconds when the API accepted the request. */
  issuedAt: z.number(),
};

export const CreateCommandSchema = z.object({ ...base, op: z.literal(TaskOp.Create), spec: ServerSpecSchema });
export const RebuildCommandSchema = z.object({ ...base, op: z.literal(TaskOp.Rebuild), spec: ServerSpecSchema });
export const ResizeCommandSchema = z.object({ ...base, op: z.literal(TaskOp.Resize), spec: ServerSpecSchema });
export const StartCommandSchema = z.object({ ...base, op: z.literal(TaskOp.Start) });
export const StopCommandSchema = z.object({
  ...base,
  op: z.literal(TaskOp.Stop),
  /** Seconds to wait for an ACPI shutdown before the domain is destroyed. */
  graceSeconds: z.number().int().min(0).max(3600).default(60),
});
export const RebootCommandSchema = z.object({ ...base, op: z.literal(TaskOp.Reboot) });
export const SuspendCommandSchema = z.object({ ...base, op: z.literal(TaskOp.Suspend), graceSeconds: z.number().int().min(0).max(3600).default(30) });
export const UnsuspendCommandSchema = z.object({ ...base, op: z.literal(TaskOp.Unsuspend), start: z.boolean().default(true) });
/** Freeze the running guest in memory (libvirt suspend); nothing else changes. */
export const PauseCommandSchema = z.object({ ...base, op: z.literal(TaskOp.Pause) });
/** Let a paused guest run on from where it was frozen. */
export const ResumeCommandSchema = z.object({ ...base, op: z.literal(TaskOp.Resume) });
export const DeleteCommandSchema = z.object({ ...base, op: z.literal(TaskOp.Delete), addresses: z.array(AddressSchema).max(64).default([]) });

export const NodeCommandSchema = z.discriminatedUnion('op', [
  CreateCommandSchema,
  RebuildCommandSchema,
  ResizeCommandSchema,
  StartCommandSchema,
  StopCommandSchema,
  RebootCommandSchema,
  SuspendCommandSchema,
  UnsuspendCommandSchema,
  PauseCommandSchema,
  ResumeCommandSchema,
  DeleteCommandSchema,
]);
export type NodeCommand = z.infer<typeof NodeCommandSchema>;
export type NodeCommandInput = z.input<typeof NodeCommandSchema>;
export type CommandOf<Op extends TaskOp> = Extract<NodeCommand, { op: Op }>;

/** Parse bytes from the wire into a command, or say exactly what is wrong. */
export function parseNodeCommand(data: unknown): { ok: true; command: NodeCommand } | { ok: false; error: string } {
  const result = NodeCommandSchema.safeParse(data);
  if (result.success) return { ok: true, command: result.data };
  return { ok: false, error: z.prettifyError(result.error) };
}
