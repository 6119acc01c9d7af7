import type { z } from 'zod';
import type { ServerState, TaskOp } from '../enums.js';

/**
 * Where an operation may start, what the server shows while it runs, and where it ends.
 * `previous` means the state the server was in when the operation started.
 */
export interface StateRule {
  /** States the server may be in when the operation is asked for. */
  readonly from: readonly ServerState[];
  /** State while the operation runs. */
  readonly running: ServerState;
  /** State when it succeeds. */
  readonly success: ServerState | 'previous';
  /** State when it fails. */
  readonly failure: ServerState | 'previous';
  /**
   * Other states the operation's API side may end it in instead of `success` (e.g. an unsuspend of a
   * server that was stopped when it was suspended ends `stopped`). Each is an edge of the table.
   */
  readonly alsoEnds?: readonly ServerState[];
}

/** Who may ask for an operation through `POST /servers/:id/actions` (or the route the operation has). */
export type OperationAudience = 'customer' | 'staff' | 'system';

/** One operation, as the wire contract knows it: its command and its state rule. */
export interface OperationContract<Op extends TaskOp = TaskOp, S extends z.ZodType = z.ZodType> {
  readonly op: Op;
  /** Who may ask for it: a customer (and staff), staff only, or only the system (create, suspend...). */
  readonly audience: OperationAudience;
  /** The command the API sends to the node (zod schema). */
  readonly command: S;
  readonly rule: StateRule;
  /** One line for people: what the operation does. */
  readonly summary: string;
}

export function defineOperation<Op extends TaskOp, S extends z.ZodType>(c: OperationContract<Op, S>): OperationContract<Op, S> {
  return c;
}
