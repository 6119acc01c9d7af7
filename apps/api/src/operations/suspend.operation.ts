import type { ApiOperation } from './operation.js';
import { onItsNode } from './node-step.js';

/** Billing or staff hold: the node powers the server off; the customer cannot start it until it is unsuspended. */
export const suspendOperation: ApiOperation = { op: 'suspend', plan: onItsNode('suspend') };
