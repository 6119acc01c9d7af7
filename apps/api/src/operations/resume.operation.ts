import type { ApiOperation } from './operation.js';
import { onItsNode } from './node-step.js';

/** Let a paused guest run on (libvirt resume) on its node. */
export const resumeOperation: ApiOperation = { op: 'resume', plan: onItsNode('resume') };
