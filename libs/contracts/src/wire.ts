import { z } from 'zod';
import { WIRE_VERSION } from './commands.js';

/**
 * The version-independent part of the wire contract. Everything else carries `v` and is parsed
 * only by a peer that speaks the same version; these two messages are frozen (fields may be
 * added, never changed or removed), so an API and a daemon one version apart can still tell each
 * other what is wrong instead of timing out or half-executing a command.
 */

/** Daemon → API at start-up, request/reply on `nodeHello(nodeId)`. */
export const WireHelloSchema = z.object({
  nodeId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  wireVersion: z.number().int(),
  daemonVersion: z.string().max(64),
});
export type WireHello = z.infer<typeof WireHelloSchema>;

/** API → daemon, the answer to a hello. `ok: false` means: do not take commands, the message says why. */
export const WireHelloReplySchema = z.object({
  ok: z.boolean(),
  apiWireVersion: z.number().int(),
  message: z.string().max(2000),
});
export type WireHelloReply = z.infer<typeof WireHelloReplySchema>;

/**
 * Daemon → API on `nodeEvent(nodeId, 'wire.refused')`: a command in a wire version this daemon does
 * not speak was refused before any of it ran. The API fails the task with the message.
 */
export const WireRefusalSchema = z.object({
  nodeId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  taskId: z.string().max(64).optional(),
  serverId: z.string().max(64).optional(),
  op: z.string().max(64).optional(),
  nodeWireVersion: z.number().int(),
  commandWireVersion: z.number().int().nullable(),
  message: z.string().max(2000),
  at: z.number(),
});
export type WireRefusal = z.infer<typeof WireRefusalSchema>;

/** The wire version a message claims (`v`), or null when it has none that is an integer. */
export function wireVersionOf(raw: unknown): number | null {
  const v = (raw as { v?: unknown } | null)?.v;
  return typeof v === 'number' && Number.isInteger(v) ? v : null;
}

/**
 * What to tell the operator when two parts speak different wire versions, or null when they agree.
 * `local` is the side that reads the message; the advice names the part to upgrade.
 */
export function wireMismatch(local: 'api' | 'daemon', theirs: number | null, ours: number = WIRE_VERSION): string | null {
  if (theirs === ours) return null;
  const peer = local === 'api' ? 'node daemon' : 'API';
  const me = local === 'api' ? 'API' : 'node daemon';
  if (theirs === null) return `the ${peer} sent a message without a wire version; this ${me} speaks wire version ${ours}`;
  const upgrade = theirs > ours ? `upgrade the ${me} (it is older)` : `upgrade the ${peer} (it is older)`;
  return `the ${peer} speaks wire version ${theirs}, this ${me} speaks wire version ${ours}: ${upgrade}; nothing was executed`;
}
