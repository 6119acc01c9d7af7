import type { ApiOperation } from './operation.js';
import { onItsNode } from './node-step.js';

/** Freeze the guest in memory (libvirt suspend) on its node. */
export const pauseOperation: ApiOperation = { op: 'pause', plan: onItsNode('pause') };
