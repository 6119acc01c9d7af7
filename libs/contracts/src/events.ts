import { z } from 'zod';
import { DOMAIN_STATES, TASK_OPS } from './enums.js';
import { WIRE_VERSION } from './commands.js';

const uuid = z.uuid();
const nodeId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);
const domainState = z.enum(DOMAIN_STATES as unknown as [string, ...string[]]);

export const TaskProgressEventSchema = z.object({
  v: z.literal(WIRE_VERSION),
  taskId: uuid,
  serverId: uuid,
  nodeId,
  /** The command's attempt this event belongs to (absent from daemons older than attempts). */
  attempt: z.number().int().min(1).max(100).optional(),
  /** Short machine-readable name of the step, e.g. "disk", "seed", "network", "define", "start". */
  stage: z.string().min(1).max(64),
  progress: z.number().min(0).max(100),
  at: z.number(),
});
export type TaskProgressEvent = z.infer<typeof TaskProgressEventSchema>;

/** Timestamps (epoch ms, fractional) the daemon records while executing one command. */
export const TaskTimingsSchema = z.object({
  receivedAt: z.number(),
  hypervisorStartedAt: z.number().optional(),
  hypervisorDoneAt: z.number().optional(),
  finishedAt: z.number(),
  /** Milliseconds per step (disk, seed, network, define, start...). */
  steps: z.record(z.string(), z.number()).default({}),
});
export type TaskTimings = z.infer<typeof TaskTimingsSchema>;

export const TaskResultEventSchema = z.object({
  v: z.literal(WIRE_VERSION),
  taskId: uuid,
  serverId: uuid,
  nodeId,
  /** The command's attempt this result answers (absent from daemons older than attempts). */
  attempt: z.number().int().min(1).max(100).optional(),
  op: z.enum(TASK_OPS as unknown as [string, ...string[]]),
  ok: z.boolean(),
  error: z.object({ code: z.string().max(64), message: z.string().max(4000) }).optional(),
  /** State of the domain after the command, as libvirt reports it. */
  domainState,
  timings: TaskTimingsSchema,
  /** What the command made, for the operation's onResult (e.g. a snapshot's size in bytes). Absent for most ops. */
  output: z.record(z.string().regex(/^[a-zA-Z][a-zA-Z0-9_]{0,63}$/), z.union([z.number(), z.string().max(1000), z.boolean()])).optional(),
  at: z.number(),
});
export type TaskResultEvent = z.infer<typeof TaskResultEventSchema>;

export const DomainStateEventSchema = z.object({
  v: z.literal(WIRE_VERSION),
  serverId: uuid,
  nodeId,
  state: domainState,
  at: z.number(),
});
export type DomainStateEvent = z.infer<typeof DomainStateEventSchema>;

export const HeartbeatSchema = z.object({
  v: z.literal(WIRE_VERSION),
  nodeId,
  at: z.number(),
  daemonVersion: z.string().max(64),
  hypervisor: z.string().max(256),
  capacity: z.object({
    vcpus: z.number().int().min(0),
    memoryMiB: z.number().int().min(0),
    diskGiB: z.number().int().min(0),
  }),
  domains: z.array(z.object({ serverId: uuid, state: domainState })).max(10000),
  /** The node's own SSH public key (one OpenSSH line) for backup stores' authorized_keys; its private key never leaves the node. */
  backupPublicKey: z.string().max(1024).regex(/^ssh-[a-z0-9-]+ [A-Za-z0-9+/=]+( [^\r\n]*)?$/).optional(),
  /** The host's 1-minute load average (absent from daemons older than the node page's heartbeat history). */
  load1: z.number().min(0).max(100000).optional(),
  /**
   * A random id of this daemon process, new at every start. Another id than the last heartbeat's means the daemon
   * was restarted: the API hands the commands the old process held to the new one at once (absent from older daemons).
   */
  instanceId: uuid.optional(),
});
export type Heartbeat = z.infer<typeof HeartbeatSchema>;

export function parseWith<T>(schema: z.ZodType<T>, data: unknown): { ok: true; value: T } | { ok: false; error: string } {
  const result = schema.safeParse(data);
  return result.success ? { ok: true, value: result.data } : { ok: false, error: z.prettifyError(result.error) };
}
