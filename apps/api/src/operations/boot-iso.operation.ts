import { IsoEntity } from '../isos/iso.entity.js';
import { IsoError } from '../isos/isos.errors.js';
import type { ApiOperation, Plan } from './operation.js';
import { onItsNode } from './node-step.js';
import { loadSpec } from './server-spec.js';

export interface BootIsoInput {
  /** An active ISO of the library. */
  isoId?: string;
}

/** Attach an ISO of the library as the server's CD-ROM and boot from it, on its node. */
export const bootIsoOperation: ApiOperation<BootIsoInput | undefined> = {
  op: 'boot_iso',
  async plan(ctx): Promise<Plan> {
    const isoId = ctx.input?.isoId;
    if (!isoId) throw new IsoError('iso_not_found', 'Name the ISO to boot from: isoId, one of GET /api/v1/isos.', [{ field: 'isoId', problems: ['required for boot_iso'] }]);
    const iso = await ctx.m.findOneBy(IsoEntity, { id: isoId, active: true });
    if (!iso) throw new IsoError('iso_not_found', `No active ISO with id ${isoId}; pick one from GET /api/v1/isos.`, [{ field: 'isoId', problems: ['unknown ISO'] }]);
    const { spec } = await loadSpec(ctx.m, ctx.deps, ctx.server);
    // attached from now on: the node's record of it is what its domain definition follows
    ctx.server.isoId = iso.id;
    const plan = await onItsNode('boot_iso', () => ({ spec, iso: { id: iso.id, name: iso.name, url: iso.url, sha256: iso.sha256 } }))(ctx);
    return { ...plan, audit: { isoId: iso.id, iso: iso.name } };
  },
};
