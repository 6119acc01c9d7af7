import { claimHours } from '../billing/hourly-meter.service.js';
import { PlanEntity } from '../catalogue/catalogue.entities.js';
import { ServerEntity } from '../servers/server.entities.js';
import { ServerError } from '../servers/servers.errors.js';
import { requireImageFits } from '../images/image-fit.js';
import type { ApiOperation, Plan } from './operation.js';
import { refuseWhileSnapshots } from '../snapshots/snapshot-space.js';
import { loadSpec } from './server-spec.js';

export interface ResizeInput {
  planId: string;
  /** Staff may move a server to any plan (even one not on sale, or smaller in vCPU/memory); a customer only up. */
  staff: boolean;
}

interface Size {
  vcpus: number;
  memoryMiB: number;
  diskGiB: number;
}

/** What a resize from `from` to `to` adds (`grow`, held on the node at once) and gives back (`shrink`, released on success). */
export function resizeDelta(from: Size, to: Size): { grow: Size; shrink: Size } {
  const d = { vcpus: to.vcpus - from.vcpus, memoryMiB: to.memoryMiB - from.memoryMiB, diskGiB: to.diskGiB - from.diskGiB };
  return {
    grow: { vcpus: Math.max(d.vcpus, 0), memoryMiB: Math.max(d.memoryMiB, 0), diskGiB: Math.max(d.diskGiB, 0) },
    shrink: { vcpus: Math.max(-d.vcpus, 0), memoryMiB: Math.max(-d.memoryMiB, 0), diskGiB: Math.max(-d.diskGiB, 0) },
  };
}

/**
 * Why `plan` may not be chosen for `server` by a customer (null: it may). Shared by the operation (409) and the
 * list of choices the panel shows, so both say the same.
 */
export function resizeRefusal(server: Size & { planId: string }, plan: PlanEntity, staff: boolean, current?: PlanEntity | null): { code: 'disk_shrink' | 'plan_not_allowed'; reason: string } | null {
  if (plan.id === server.planId) return { code: 'plan_not_allowed', reason: 'The server is already on this plan.' };
  if (current && (current.priceHourlyCents == null) !== (plan.priceHourlyCents == null)) {
    // An hourly server is metered on its subscription, a monthly one is charged ahead: one subscription cannot be both.
    return {
      code: 'plan_not_allowed',
      reason: `This server is billed ${current.priceHourlyCents == null ? 'monthly' : 'by the hour'} and this plan ${plan.priceHourlyCents == null ? 'monthly' : 'by the hour'}: a resize keeps the billing interval. Order a new server on this plan instead.`,
    };
  }
  if (plan.diskGiB < server.diskGiB) {
    return { code: 'disk_shrink', reason: `A disk only grows: this plan has ${plan.diskGiB} GiB and the server's disk is ${server.diskGiB} GiB.` };
  }
  if (staff) return null;
  if (!plan.active) return { code: 'plan_not_allowed', reason: 'This plan is not on sale.' };
  if (plan.vcpus < server.vcpus || plan.memoryMiB < server.memoryMiB) {
    return { code: 'plan_not_allowed', reason: 'Only a larger plan: this one has fewer vCPUs or less memory than the server has now; ask support to move to a smaller one.' };
  }
  return null;
}

/**
 * Move the server to another plan on its own node. In the accepting transaction: the plan is checked (a disk only
 * grows; a customer only goes up, to a plan on sale), the extra vCPU/memory/disk is held on the node's counters
 * (409 `no_capacity` without room) and the target is remembered on the server. The node stops the guest, grows
 * the disk, redefines the domain with the new vCPU, memory, CPU quota and I/O limits, and starts it again if it
 * was running. On success the server takes the plan (and what it no longer needs is given back; with billing on
 * the subscription moves to the plan's price); on failure the extra room is released and the server keeps its plan.
 */
export const resizeOperation: ApiOperation<ResizeInput> = {
  op: 'resize',
  async plan(ctx): Promise<Plan> {
    const { m, server, input, deps } = ctx;
    const plan = await m.findOneBy(PlanEntity, { id: input.planId });
    if (!plan) throw new ServerError('plan_not_found', `No plan with id ${input.planId}; pick one from GET /api/v1/plans.`);
    const current = await m.findOneBy(PlanEntity, { id: server.planId });
    const refusal = resizeRefusal(server, plan, input.staff, current);
    if (refusal) throw new ServerError(refusal.code, refusal.reason);
    const nodeId = server.nodeId;
    if (!nodeId) throw new ServerError('invalid_transition', 'The server has not been placed on a node yet; it cannot be resized.');
    await deps.placement.requireReachable(m, nodeId, 'resize');
    if (plan.diskGiB > server.diskGiB) await refuseWhileSnapshots(m, server.id, 'growing its disk');
    const { grow } = resizeDelta(server, plan);
    await deps.placement.grow(m, nodeId, grow);
    const target = Object.assign(new ServerEntity(), server, { vcpus: plan.vcpus, memoryMiB: plan.memoryMiB, diskGiB: plan.diskGiB });
    const { spec, image } = await loadSpec(m, deps, target, { planId: plan.id });
    // a staff move to less memory than the image needs (a customer only goes up, and a disk only grows)
    requireImageFits(image, plan, `The plan "${plan.name}"`, 'planId');
    server.resizePlanId = plan.id; // written with the server's resizing state by the runner
    return {
      steps: [{ nodeId, command: { spec } }],
      audit: { fromPlanId: server.planId, toPlanId: plan.id, vcpus: plan.vcpus, memoryMiB: plan.memoryMiB, diskGiB: plan.diskGiB },
    };
  },
  async onEnd({ m, server, deps, ok }): Promise<void> {
    const planId = server.resizePlanId;
    if (!planId) return;
    const plan = await m.findOneByOrFail(PlanEntity, { id: planId });
    const { grow, shrink } = resizeDelta(server, plan);
    if (server.nodeId) await deps.placement.release(m, server.nodeId, ok ? shrink : grow);
    if (ok) {
      Object.assign(server, { planId: plan.id, vcpus: plan.vcpus, memoryMiB: plan.memoryMiB, diskGiB: plan.diskGiB });
      // An hourly server's hour in progress is billed at the plan it started on: claimed now, before the plan changes
      // (docs/DESIGN.md "Hourly billing"); the hours from the next one on are the new plan's.
      await claimHours(m, deps.billingNow(), server.id, true);
      // With billing on, the billing worker moves the subscription item to the new plan's price (with proration), or
      // for an hourly server adds the new plan's metered price to the shared subscription.
      await m.query(
        `UPDATE server_billing SET plan_id = $2, stripe_price_pending = stripe_subscription_id IS NOT NULL, updated_at = now() WHERE server_id = $1`,
        [server.id, plan.id],
      );
    }
    server.resizePlanId = null; // the runner writes the plan, the size and this with the end state
  },
};
