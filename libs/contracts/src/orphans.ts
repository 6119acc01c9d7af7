import { z } from 'zod';
import { WIRE_VERSION } from './command-parts.js';

/**
 * Orphans (issue 9): a domain a node holds that it should no longer hold. The server lives on another node now
 * (a create placed again while this node was silent), or it was deleted. The API notices it in the node's
 * heartbeats (never while a task of the server runs on that node, and only after the grace period) and sends the
 * node an {@link OrphanDestroyCommand} on its command subject `orphan_destroy`. That is not a task: no server state
 * moves, and the server's own tasks elsewhere are not touched. The node answers with an {@link OrphanReport}.
 */

/** The `<op>` token of the command subject (`<prefix>.node.<nodeId>.cmd.orphan_destroy`); never a TaskOp. */
export const ORPHAN_DESTROY = 'orphan_destroy';

/** Why the API says the node should no longer hold the domain. */
export const ORPHAN_REASONS = ['elsewhere', 'deleted'] as const;
export type OrphanReason = (typeof ORPHAN_REASONS)[number];

export const OrphanDestroyCommandSchema = z.object({
  v: z.literal(WIRE_VERSION),
  kind: z.literal(ORPHAN_DESTROY),
  nodeId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  serverId: z.uuid(),
  reason: z.enum(ORPHAN_REASONS),
  /** The node the server lives on now (reason `elsewhere`), for the node's log. */
  serverNodeId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).nullable(),
  issuedAt: z.number(),
});
export type OrphanDestroyCommand = z.infer<typeof OrphanDestroyCommandSchema>;

/**
 * What the node did: `destroyed` (the domain and its host resources are gone), `gone` (there was nothing to
 * destroy any more), `kept` (the node received a command for this server issued after the orphan command, e.g. a
 * create placed back on it: the domain is the server's again and stays), `refused` (the domain does not carry
 * Oblako's name, UUID and metadata: the node never touches a domain it did not make; `message` says what was missing).
 */
export const ORPHAN_OUTCOMES = ['destroyed', 'gone', 'kept', 'refused'] as const;
export type OrphanOutcome = (typeof ORPHAN_OUTCOMES)[number];

export const OrphanReportSchema = z.object({
  v: z.literal(WIRE_VERSION),
  nodeId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  serverId: z.uuid(),
  outcome: z.enum(ORPHAN_OUTCOMES),
  message: z.string().max(2000),
  at: z.number(),
});
export type OrphanReport = z.infer<typeof OrphanReportSchema>;

/** The namespace of the `<metadata>` element the daemon writes into every domain it defines. */
export const DOMAIN_METADATA_NS = 'https://oblako.dev/xmlns/domain/1';
