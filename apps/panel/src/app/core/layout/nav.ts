/**
 * Who may see what: the panel's menus use the same permission names as the API's guards
 * (libs/contracts). Pure: unit-tested with node:test.
 */
import {
  Permission,
  STAFF_ROLE_PERMISSIONS,
  TENANT_ROLE_PERMISSIONS,
  type MeView,
} from '@oblako/contracts';

export interface NavItem {
  label: string;
  path: string;
  permission: Permission;
  testId: string;
  /** Shown only while billing is on. */
  billingOnly?: boolean;
}

export const CUSTOMER_NAV: readonly NavItem[] = [
  { label: 'Servers', path: '/servers', permission: Permission.ServersRead, testId: 'nav-servers' },
  { label: 'Deleted servers', path: '/deleted-servers', permission: Permission.ServersRead, testId: 'nav-deleted-servers' },
  { label: 'Order a server', path: '/order', permission: Permission.ServersWrite, testId: 'nav-order' },
  { label: 'SSH keys', path: '/ssh-keys', permission: Permission.SshKeysRead, testId: 'nav-ssh-keys' },
  { label: 'API tokens', path: '/api-tokens', permission: Permission.ApiTokensManage, testId: 'nav-api-tokens' },
  { label: 'Team', path: '/team', permission: Permission.MembersManage, testId: 'nav-team' },
  { label: 'Notifications', path: '/notifications', permission: Permission.NotificationsRead, testId: 'nav-notifications' },
  { label: 'Webhooks', path: '/webhooks', permission: Permission.WebhooksManage, testId: 'nav-webhooks' },
  { label: 'Audit log', path: '/audit', permission: Permission.AuditTenantRead, testId: 'nav-tenant-audit' },
  { label: 'Billing', path: '/billing', permission: Permission.BillingRead, testId: 'nav-billing', billingOnly: true },
];

export const STAFF_NAV: readonly NavItem[] = [
  { label: 'All servers', path: '/admin/servers', permission: Permission.TasksRead, testId: 'nav-admin-servers' },
  { label: 'Nodes', path: '/admin/nodes', permission: Permission.FleetManage, testId: 'nav-admin-nodes' },
  { label: 'IP pools', path: '/admin/ip-pools', permission: Permission.FleetManage, testId: 'nav-admin-ip-pools' },
  { label: 'Backup stores', path: '/admin/backup-stores', permission: Permission.FleetManage, testId: 'nav-admin-backup-stores' },
  { label: 'Plans', path: '/admin/plans', permission: Permission.CatalogueManage, testId: 'nav-admin-plans' },
  { label: 'Images', path: '/admin/images', permission: Permission.CatalogueManage, testId: 'nav-admin-images' },
  { label: 'ISO library', path: '/admin/isos', permission: Permission.CatalogueManage, testId: 'nav-admin-isos' },
  { label: 'Locations', path: '/admin/locations', permission: Permission.CatalogueManage, testId: 'nav-admin-locations' },
  { label: 'Billing orders', path: '/admin/billing', permission: Permission.TenantsManage, testId: 'nav-admin-billing', billingOnly: true },
  { label: 'Tenants', path: '/admin/tenants', permission: Permission.TenantsManage, testId: 'nav-admin-tenants' },
  { label: 'Failed tasks', path: '/admin/tasks', permission: Permission.TasksRead, testId: 'nav-admin-tasks' },
  { label: 'Audit log', path: '/admin/audit', permission: Permission.AuditRead, testId: 'nav-admin-audit' },
  { label: 'Settings', path: '/admin/settings', permission: Permission.SettingsManage, testId: 'nav-admin-settings' },
];

/** The tenant the panel acts in: the chosen one if the user still belongs to it, else the first. */
export function activeMembership(me: MeView | null, tenantId: string | null = null): MeView['memberships'][number] | null {
  if (!me || me.memberships.length === 0) return null;
  return me.memberships.find((m) => m.tenantId === tenantId) ?? me.memberships[0] ?? null;
}

export function permissionsOf(me: MeView | null, tenantId: string | null = null): ReadonlySet<Permission> {
  const out = new Set<Permission>();
  if (!me) return out;
  const m = activeMembership(me, tenantId);
  if (m) for (const p of TENANT_ROLE_PERMISSIONS[m.role] ?? []) out.add(p);
  if (me.staffRole) for (const p of STAFF_ROLE_PERMISSIONS[me.staffRole] ?? []) out.add(p);
  return out;
}

export function visibleNav(items: readonly NavItem[], permissions: ReadonlySet<Permission>, billingOn = false): NavItem[] {
  return items.filter((i) => permissions.has(i.permission) && (!i.billingOnly || billingOn));
}

/** Where to go after login: customers to their servers, staff without a tenant to the fleet. */
export function homePath(permissions: ReadonlySet<Permission>): string {
  if (permissions.has(Permission.ServersRead)) return '/servers';
  const staff = STAFF_NAV.find((i) => permissions.has(i.permission));
  return staff ? staff.path : '/account';
}
