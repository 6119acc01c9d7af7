import type { ApiOperation } from './operation.js';
import { onItsNode } from './node-step.js';

export interface StopInput {
  /** Seconds for an ACPI shutdown before the domain is powered off (the contract's default when absent). */
  graceSeconds?: number;
}

/** ACPI shutdown, then power off after the grace period. */
export const stopOperation: ApiOperation<StopInput | undefined> = {
  op: 'stop',
  plan: onItsNode('stop', ({ input }) => (input?.graceSeconds !== undefined ? { graceSeconds: input.graceSeconds } : {})),
};
