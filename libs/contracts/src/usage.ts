import { z } from 'zod';
import { WIRE_VERSION } from './commands.js';

const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/**
 * One sample of one server: what it used between `from` and `to` (epoch ms), as deltas of the node's
 * cumulative counters. `id` is the idempotent key (a UUID the daemon makes once and keeps until the API
 * has it): a sample sent twice is counted once. Directions are the guest's: `netIn` is what reached the
 * guest (the tap's transmit), `netOut` what the guest sent (the tap's receive).
 */
export const UsageSampleSchema = z.object({
  id: z.uuid(),
  serverId: z.uuid(),
  from: z.number().int().min(0),
  to: z.number().int().min(0),
  cpuNs: count,
  diskReadBytes: count,
  diskWriteBytes: count,
  diskReadOps: count,
  diskWriteOps: count,
  netInBytes: count,
  netOutBytes: count,
  /** Memory in use as the guest reports it (balloon statistics), when it does. */
  memoryBytes: count.optional(),
});
export type UsageSample = z.infer<typeof UsageSampleSchema>;

/** Most samples one usage event carries (a node sends several events when it has more buffered). */
export const USAGE_SAMPLES_PER_EVENT = 500;

/** `<prefix>.node.<nodeId>.evt.usage`: samples of the node's servers, one batch per sampling round (or buffered rounds). */
export const UsageEventSchema = z.object({
  v: z.literal(WIRE_VERSION),
  nodeId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  at: z.number(),
  samples: z.array(UsageSampleSchema).min(1).max(USAGE_SAMPLES_PER_EVENT),
});
export type UsageEvent = z.infer<typeof UsageEventSchema>;
