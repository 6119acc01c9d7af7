import { StaffRole, TenantRole } from './enums.js';

/** Permission names shared by the API's guards and the panel's menus. */
export const Permission = {
  ServersRead: 'servers:read',
  ServersWrite: 'servers:write',
  SshKeysRead: 'ssh-keys:read',
  SshKeysWrite: 'ssh-keys:write',
  ApiTokensManage: 'api-tokens:manage',
  MembersManage: 'members:manage',
  BillingRead: 'billing:read',
  BillingManage: 'billing:manage',
  /** The tenant's own audit log (owners). */
  AuditTenantRead: 'audit:read',
  /** Outbound webhook endpoints and their deliveries. */
  WebhooksManage: 'webhooks:manage',
  /** Tenant security settings (require two-factor sign-in for every member). */
  TenantSecurityManage: 'tenant:security',
  NotificationsRead: 'notifications:read',
  /** Open a server's VNC or serial console (a root shell on the guest: not for the billing role). */
  ServersConsole: 'servers:console',
  // staff
  CatalogueManage: 'admin:catalogue',
  FleetManage: 'admin:fleet',
  TenantsManage: 'admin:tenants',
  AuditRead: 'admin:audit',
  TasksRead: 'admin:tasks',
  /** Retry, cancel or force-delete: staff unsticking what the fleet could not finish. */
  TasksManage: 'admin:tasks:manage',
  /** Provider settings: mail server, brand, staff two-factor policy. */
  SettingsManage: 'admin:settings',
  /** Open the console of any tenant's server (audited). */
  ConsolesOpen: 'admin:consoles',
} as const;
export type Permission = (typeof Permission)[keyof typeof Permission];

const TENANT_ALL: Permission[] = [
  'servers:read', 'servers:write', 'ssh-keys:read', 'ssh-keys:write', 'api-tokens:manage', 'members:manage', 'billing:read', 'billing:manage',
  'audit:read', 'webhooks:manage', 'tenant:security', 'notifications:read', 'servers:console',
];

export const TENANT_ROLE_PERMISSIONS: Readonly<Record<TenantRole, readonly Permission[]>> = {
  owner: TENANT_ALL,
  admin: ['servers:read', 'servers:write', 'ssh-keys:read', 'ssh-keys:write', 'api-tokens:manage', 'members:manage', 'billing:read', 'webhooks:manage', 'notifications:read', 'servers:console'],
  member: ['servers:read', 'servers:write', 'ssh-keys:read', 'ssh-keys:write', 'notifications:read', 'servers:console'],
  billing: ['servers:read', 'billing:read', 'billing:manage', 'notifications:read'],
};

export const STAFF_ROLE_PERMISSIONS: Readonly<Record<StaffRole, readonly Permission[]>> = {
  admin: ['admin:catalogue', 'admin:fleet', 'admin:tenants', 'admin:audit', 'admin:tasks', 'admin:tasks:manage', 'admin:settings', 'admin:consoles'],
  support: ['admin:tenants', 'admin:audit', 'admin:tasks', 'admin:tasks:manage', 'admin:consoles'],
  billing: ['admin:tenants', 'admin:audit'],
};

export function tenantRoleCan(role: TenantRole, permission: Permission): boolean {
  return TENANT_ROLE_PERMISSIONS[role].includes(permission);
}

export function staffRoleCan(role: StaffRole, permission: Permission): boolean {
  return STAFF_ROLE_PERMISSIONS[role].includes(permission);
}
