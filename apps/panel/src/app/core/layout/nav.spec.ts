import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MeView } from '@oblako/contracts';
import { CUSTOMER_NAV, STAFF_NAV, homePath, permissionsOf, visibleNav } from './nav.js';

const customer: MeView = { id: 'u', email: 'c@example.com', staffRole: null, memberships: [{ tenantId: 't1', tenantName: 'Acme', role: 'member' }] };
const billingOnly: MeView = { ...customer, memberships: [{ tenantId: 't1', tenantName: 'Acme', role: 'billing' }] };
const staff: MeView = { id: 's', email: 'admin@example.com', staffRole: 'admin', memberships: [] };
const support: MeView = { ...staff, staffRole: 'support' };

test('a member sees servers, order and keys but no tokens or staff pages', () => {
  const p = permissionsOf(customer);
  assert.deepEqual(visibleNav(CUSTOMER_NAV, p).map((i) => i.path), ['/servers', '/deleted-servers', '/order', '/ssh-keys', '/notifications']);
  assert.deepEqual(visibleNav(STAFF_NAV, p), []);
  assert.equal(homePath(p), '/servers');
});

test('billing members cannot order; staff admins see the whole staff section', () => {
  assert.ok(!visibleNav(CUSTOMER_NAV, permissionsOf(billingOnly)).some((i) => i.path === '/order'));
  const p = permissionsOf(staff);
  assert.equal(visibleNav(STAFF_NAV, p, true).length, STAFF_NAV.length);
  assert.equal(homePath(p), '/admin/servers');
  assert.deepEqual(visibleNav(STAFF_NAV, permissionsOf(support)).map((i) => i.path), ['/admin/servers', '/admin/tenants', '/admin/tasks', '/admin/audit']);
});

test('nobody logged in has no permissions', () => {
  assert.equal(permissionsOf(null).size, 0);
});

test('billing pages appear only while billing is on', () => {
  const owner: MeView = { ...customer, memberships: [{ tenantId: 't1', tenantName: 'Acme', role: 'owner' }] };
  assert.ok(!visibleNav(CUSTOMER_NAV, permissionsOf(owner)).some((i) => i.path === '/billing'));
  assert.ok(visibleNav(CUSTOMER_NAV, permissionsOf(owner), true).some((i) => i.path === '/billing'));
  assert.ok(visibleNav(STAFF_NAV, permissionsOf(staff), true).some((i) => i.path === '/admin/billing'));
});
