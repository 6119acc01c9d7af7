import { IsoError } from '../isos/isos.errors.js';
import type { ApiOperation, Plan } from './operation.js';
import { onItsNode } from './node-step.js';
import { loadSpec } from './server-spec.js';

/** Take the ISO out; the node restarts a running server from its disk. */
export const detachIsoOperation: ApiOperation = {
  op: 'detach_iso',
  async plan(ctx): Promise<Plan> {
    if (!ctx.server.isoId) throw new IsoError('no_iso_attached', 'This server has no ISO attached.');
    const { spec } = await loadSpec(ctx.m, ctx.deps, ctx.server);
    const was = ctx.server.isoId;
    ctx.server.isoId = null;
    const plan = await onItsNode('detach_iso', () => ({ spec }))(ctx);
    return { ...plan, audit: { isoId: was } };
  },
};
