import { z } from 'zod';
import { WIRE_VERSION } from './command-parts.js';
import { BackupRefSchema, BackupStoreRefSchema } from './operations/backup-create.js';

const nodeId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);

/**
 * Deleting a backup of a *deleted* server from its store (issue 12): not a server operation (the server is gone, the
 * runner takes no task on it), so it travels on its own subject (`<prefix>.node.<nodeId>.cmd.store_delete`) to any
 * online node of the store's location, and is answered by a `backup.store_deleted` event, not a task result. The node
 * removes the backup's file and any `.tmp` of it (repeating it is harmless).
 */
export const STORE_DELETE_OP = 'store_delete';

export const StoreDeleteCommandSchema = z.object({
  v: z.literal(WIRE_VERSION),
  kind: z.literal(STORE_DELETE_OP),
  /** Which request this is (the `Nats-Msg-Id` and the key the answer comes back with). */
  requestId: z.uuid(),
  nodeId,
  store: BackupStoreRefSchema,
  backup: BackupRefSchema,
  issuedAt: z.number(),
});
export type StoreDeleteCommand = z.infer<typeof StoreDeleteCommandSchema>;

/** The node's answer to `store_delete`: the file is gone from the store, or why not. */
export const StoreDeletedEventSchema = z.object({
  v: z.literal(WIRE_VERSION),
  requestId: z.uuid(),
  nodeId,
  backupId: z.uuid(),
  ok: z.boolean(),
  reason: z.string().max(2000).optional(),
  at: z.number(),
});
export type StoreDeletedEvent = z.infer<typeof StoreDeletedEventSchema>;
