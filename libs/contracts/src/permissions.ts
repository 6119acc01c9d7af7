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
  // staff
  CatalogueManage: 'admin:catalogue',
  FleetManage: 'admin:fleet',
  TenantsManage: 'admin:tenants',
  AuditRead: 'admin:audit',
  TasksRead: 'admin:tasks',
  /** Provider settings: mail server, brand, staff two-factor policy. */
  SettingsManage: 'admin:settings',
} as const;
export type Permission = (typeof Permission)[keyof typeof Permission];

const TENANT_ALL: Permission[] = [
  'servers:read', 'servers:write', 'ssh-keys:read', 'ssh-keys:write', 'api-tokens:manage', 'members:manage', 'billing:read', 'billing:manage',
  'audit:read', 'webhooks:manage', 'tenant:security', 'notifications:read',
];

export const TENANT_ROLE_PERMISSIONS: Readonly<Record<TenantRole, readonly Permission[]>> = {
  owner: TENANT_ALL,
  admin: ['servers:read', 'servers:write', 'ssh-keys:read', 'ssh-keys:write', 'api-tokens:manage', 'members:manage', 'billing:read', 'webhooks:manage', 'notifications:read'],
  member: ['servers:read', 'servers:write', 'ssh-keys:read', 'ssh-keys:write', 'notifications:read'],
  billing: ['servers:read', 'billing:read', 'billing:manage', 'notifications:read'],
};

export const STAFF_ROLE_PERMISSIONS: Readonly<Record<StaffRole, readonly Permission[]>> = {
  admin: ['admin:catalogue', 'admin:fleet', 'admin:tenants', 'admin:audit', 'admin:tasks', 'admin:settings'],
  support: ['admin:tenants', 'admin:audit', 'admin:tasks'],
  billing: ['admin:tenants', 'admin:audit'],
};

export function tenantRoleCan(role: TenantRole, permission: Permission): boolean {
  return TENANT_ROLE_PERMISSIONS[role].includes(permission);
}

export function staffRoleCan(role: StaffRole, permission: Permission): boolean {
  return STAFF_ROLE_PERMISSIONS[role].includes(permission);
}
