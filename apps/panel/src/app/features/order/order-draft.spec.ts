import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ImageView, LocationView, PlanView } from '@oblako/contracts';
import { offeredPlans, orderProblems, planFitProblem, restoreDraft, saveDraft, suggestHostname, toCreateBody, type OrderDraft } from './order-draft.js';

const location: LocationView = { id: 'l1', code: 'fra1', name: 'Frankfurt', country: 'DE' };
const plan = (id: string, price: number, active = true): PlanView => ({
  id, name: id, vcpus: 1, memoryMiB: 1024, diskGiB: 20, cpuQuotaPercent: 100, diskIops: 1000, diskMBps: 100,
  netMbit: 100, trafficGiB: 1000, priceMonthlyCents: price, priceHourlyCents: null, currency: 'EUR', active, maxSnapshots: 3,
  trafficDirection: 'both', trafficPeriod: 'calendar', overQuotaMbit: 10,
});
const image: ImageView = { bootMode: null, defaultUser: null, guestAgent: false, id: 'i1', name: 'Debian 12', osFamily: 'debian', version: '12', active: true, minDiskGiB: 0, minMemoryMiB: 0, virtualSizeBytes: null };

test('an empty draft names every missing step', () => {
  const d: OrderDraft = { location: null, plan: null, image: null, hostname: '', sshKeyIds: [] };
  assert.deepEqual(orderProblems(d).map((p) => p.step), ['location', 'plan', 'image', 'hostname']);
});

test('host names are checked with the contract rule before the API sees them', () => {
  const d: OrderDraft = { location, plan: plan('p1', 500), image, hostname: '-web', sshKeyIds: [] };
  assert.match(orderProblems(d)[0]?.problem ?? '', /may not start or end with a hyphen/);
  d.hostname = ' Web-1.example.com ';
  assert.deepEqual(orderProblems(d), []);
  assert.deepEqual(toCreateBody(d), { locationId: 'l1', planId: 'p1', imageId: 'i1', hostname: 'web-1.example.com', sshKeyIds: [] });
});

test('plans are offered cheapest first and inactive ones are hidden', () => {
  assert.deepEqual(offeredPlans([plan('b', 900), plan('a', 500), plan('x', 100, false)]).map((p) => p.id), ['a', 'b']);
});

test('suggested host names pass the contract rule', () => {
  const h = suggestHostname(image, () => 0.5);
  assert.equal(h, 'debian-12-7fff');
  const d: OrderDraft = { location, plan: plan('p', 1), image, hostname: h, sshKeyIds: [] };
  assert.deepEqual(orderProblems(d), []);
});

test('a draft saved at the review step comes back after a reload, against the catalogue of now', () => {
  const d: OrderDraft = { location, plan: plan('p1', 500), image, hostname: 'web-1', sshKeyIds: ['k1', 'gone'] };
  const text = saveDraft(d, 5);
  const back = restoreDraft(text, { locations: [location], plans: [plan('p1', 500)], images: [image], sshKeyIds: ['k1'] });
  assert.equal(back?.step, 5);
  assert.equal(back?.plan?.id, 'p1');
  assert.equal(back?.hostname, 'web-1');
  assert.deepEqual(back?.sshKeyIds, ['k1'], 'a key deleted meanwhile is dropped');
  // the plan was retired meanwhile: the draft goes back to the plan step
  const retired = restoreDraft(text, { locations: [location], plans: [], images: [image], sshKeyIds: ['k1'] });
  assert.equal(retired?.plan, null);
  assert.equal(retired?.step, 1);
  assert.equal(restoreDraft('{not json', { locations: [], plans: [], images: [], sshKeyIds: [] }), null);
  assert.equal(restoreDraft(null, { locations: [], plans: [], images: [], sshKeyIds: [] }), null);
});

test('a plan smaller than the image (its own disk, or staff\'s minimums) is named with both sizes, as the API would refuse it', () => {
  const big: ImageView = { ...image, name: 'Big', virtualSizeBytes: 40 * 1024 ** 3 };
  assert.equal(planFitProblem(plan('Small', 500), big), 'The plan Small has a 20 GiB disk, but the image "Big" needs at least 40 GiB (its disk is 40 GiB)');
  assert.equal(planFitProblem({ ...plan('Large', 900), diskGiB: 40 }, big), null, 'exactly its size fits');
  const needy: ImageView = { ...image, name: 'Needy', minMemoryMiB: 2048 };
  assert.match(planFitProblem(plan('Small', 500), needy) ?? '', /has 1024 MiB of memory, but the image "Needy" needs at least 2048 MiB/);
  const d: OrderDraft = { location, plan: plan('Small', 500), image: big, hostname: 'web-1', sshKeyIds: [] };
  assert.deepEqual(orderProblems(d).map((p) => p.step), ['image']);
  assert.match(orderProblems(d)[0]!.problem, /choose a larger plan or another image/);
});
