import { ServerError } from '../servers/servers.errors.js';
import type { ApiOperation, Plan } from './operation.js';

/**
 * Resize has its rule in the contract (libs/contracts/src/operations/resize.ts) and its handler on the node; the
 * API side (plan choice, capacity on the node, disk that only grows, the price) is not offered yet, so it refuses.
 */
export const resizeOperation: ApiOperation = {
  op: 'resize',
  async plan(): Promise<Plan> {
    throw new ServerError('invalid_transition', 'Resizing is not offered yet.');
  },
};
