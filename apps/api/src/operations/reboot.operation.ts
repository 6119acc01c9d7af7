import type { ApiOperation } from './operation.js';
import { onItsNode } from './node-step.js';

/** Cold reboot on the server's node (the binding has no reboot call: shut down, then start). */
export const rebootOperation: ApiOperation = { op: 'reboot', plan: onItsNode('reboot') };
