import type { ApiOperation } from './operation.js';
import { onItsNode } from './node-step.js';

/** Power on: one command to the server's node. */
export const startOperation: ApiOperation = { op: 'start', plan: onItsNode('start') };
