/**
 * The order form's own checks, run before anything reaches the API (the API stays the
 * authority and its reasons are shown as they come). Pure: unit-tested with node:test.
 */
import { hostnameProblem, type ImageView, type LocationView, type PlanView } from '@oblako/contracts';

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
  const h = hostnameProblem(d.hostname.trim());
  if (h) out.push({ step: 'hostname', problem: h });
  if (new Set(d.sshKeyIds).size !== d.sshKeyIds.length) out.push({ step: 'sshKeys', problem: 'An SSH key is selected twice.' });
  return out;
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
