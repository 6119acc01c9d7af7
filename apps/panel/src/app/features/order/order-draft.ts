/**
 * The order form's own checks, run before anything reaches the API (the API stays the
 * authority and its reasons are shown as they come). Pure: unit-tested with node:test.
 */
import { hostnameProblem, imageFitProblem, type ImageView, type LocationView, type PlanView } from '@oblako/contracts';

export interface OrderDraft {
  location: LocationView | null;
  plan: PlanView | null;
  image: ImageView | null;
  hostname: string;
  sshKeyIds: string[];
}

export interface CreateServerBody {
  locationId: string;
  planId: string;
  imageId: string;
  hostname: string;
  sshKeyIds: string[];
}

export type OrderStep = 'location' | 'plan' | 'image' | 'hostname' | 'sshKeys';

/** The first problem of each step, in order; empty when the draft can be sent. */
export function orderProblems(d: OrderDraft): { step: OrderStep; problem: string }[] {
  const out: { step: OrderStep; problem: string }[] = [];
  if (!d.location) out.push({ step: 'location', problem: 'Choose a location.' });
  if (!d.plan) out.push({ step: 'plan', problem: 'Choose a plan.' });
  else if (!d.plan.active) out.push({ step: 'plan', problem: `The plan ${d.plan.name} is no longer offered.` });
  if (!d.image) out.push({ step: 'image', problem: 'Choose an image.' });
  else if (!d.image.active) out.push({ step: 'image', problem: `The image ${d.image.name} is no longer offered.` });
  else if (d.plan) {
    const fit = planFitProblem(d.plan, d.image);
    if (fit) out.push({ step: 'image', problem: `${fit}: choose a larger plan or another image.` });
  }
  const h = hostnameProblem(d.hostname.trim());
  if (h) out.push({ step: 'hostname', problem: h });
  if (new Set(d.sshKeyIds).size !== d.sshKeyIds.length) out.push({ step: 'sshKeys', problem: 'An SSH key is selected twice.' });
  return out;
}

/** Why the plan is too small for the image (the API's own rule, which would refuse the order with 409 plan_too_small); null when it fits. */
export function planFitProblem(plan: PlanView, image: ImageView): string | null {
  return imageFitProblem(image, plan, `The plan ${plan.name}`);
}

export function toCreateBody(d: OrderDraft): CreateServerBody {
  if (!d.location || !d.plan || !d.image) throw new Error('The order is incomplete.');
  return {
    locationId: d.location.id,
    planId: d.plan.id,
    imageId: d.image.id,
    hostname: d.hostname.trim().toLowerCase(),
    sshKeyIds: [...d.sshKeyIds],
  };
}

/** Cheapest first, then smaller; inactive plans are not offered. */
export function offeredPlans(plans: readonly PlanView[]): PlanView[] {
  return plans.filter((p) => p.active).sort((a, b) => a.priceMonthlyCents - b.priceMonthlyCents || a.vcpus - b.vcpus || a.memoryMiB - b.memoryMiB);
}

/** A host name suggestion a person can keep: "debian-12-7f3a". */
export function suggestHostname(image: ImageView | null, random: () => number = Math.random): string {
  const base = (image ? `${image.osFamily}-${image.version}` : 'server').toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '') || 'server';
  const suffix = Math.floor(random() * 0xffff).toString(16).padStart(4, '0');
  return `${base.slice(0, 50)}-${suffix}`;
}

/** What survives a reload of the order page (session storage): ids, the host name, the step. */
export interface SavedDraft {
  locationId: string | null;
  planId: string | null;
  imageId: string | null;
  hostname: string;
  sshKeyIds: string[];
  step: number;
}

export const ORDER_DRAFT_KEY = 'oblako.orderDraft';

export function saveDraft(d: OrderDraft, step: number): string {
  const saved: SavedDraft = {
    locationId: d.location?.id ?? null, planId: d.plan?.id ?? null, imageId: d.image?.id ?? null,
    hostname: d.hostname, sshKeyIds: [...d.sshKeyIds], step,
  };
  return JSON.stringify(saved);
}

/**
 * The saved draft against today's catalogue: what is no longer offered is dropped, and the step
 * goes back to the first one that is not complete any more. Null for nothing usable.
 */
export function restoreDraft(
  text: string | null,
  catalogue: { locations: readonly LocationView[]; plans: readonly PlanView[]; images: readonly ImageView[]; sshKeyIds: readonly string[] },
): (OrderDraft & { step: number }) | null {
  if (!text) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof raw !== 'object' || raw === null) return null;
  const r = raw as Partial<Record<keyof SavedDraft, unknown>>;
  const str = (v: unknown) => (typeof v === 'string' ? v : null);
  const location = catalogue.locations.find((l) => l.id === str(r.locationId)) ?? null;
  const plan = catalogue.plans.find((p) => p.id === str(r.planId)) ?? null;
  const image = catalogue.images.find((i) => i.id === str(r.imageId)) ?? null;
  const hostname = (str(r.hostname) ?? '').slice(0, 253);
  const sshKeyIds = Array.isArray(r.sshKeyIds) ? r.sshKeyIds.filter((k): k is string => typeof k === 'string' && catalogue.sshKeyIds.includes(k)) : [];
  let step = typeof r.step === 'number' && Number.isInteger(r.step) ? Math.max(0, Math.min(5, r.step)) : 0;
  const done = [!!location, !!plan, !!image, !hostnameProblem(hostname.trim()), true];
  const firstOpen = done.indexOf(false);
  if (firstOpen !== -1) step = Math.min(step, firstOpen);
  if (!location && !plan && !image && !hostname) return null;
  return { location, plan, image, hostname, sshKeyIds: [...new Set(sshKeyIds)], step };
}
