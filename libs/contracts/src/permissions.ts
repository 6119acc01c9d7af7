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
  // staff
  CatalogueManage: 'admin:catalogue',
  FleetManage: 'admin:fleet',
  TenantsManage: 'admin:tenants',
  AuditRead: 'admin:audit',
  TasksRead: 'admin:tasks',
} as const;
export type Permission = (typeof Permission)[keyof typeof Permission];

const TENANT_ALL: Permission[] = [
  'servers:read', 'servers:write', 'ssh-keys:read', 'ssh-keys:write', 'api-tokens:manage', 'members:manage', 'billing:read', 'billing:manage',
];

export const TENANT_ROLE_PERMISSIONS: Readonly<Record<TenantRole, readonly Permission[]>> = {
  owner: TENANT_ALL,
  admin: ['servers:read', 'servers:write', 'ssh-keys:read', 'ssh-keys:write', 'api-tokens:manage', 'members:manage', 'billing:read'],
  member: ['servers:read', 'servers:write', 'ssh-keys:read', 'ssh-keys:write'],
  billing: ['servers:read', 'billing:read', 'billing:manage'],
};

export const STAFF_ROLE_PERMISSIONS: Readonly<Record<StaffRole, readonly Permission[]>> = {
  admin: ['admin:catalogue', 'admin:fleet', 'admin:tenants', 'admin:audit', 'admin:tasks'],
  support: ['admin:tenants', 'admin:audit', 'admin:tasks'],
  billing: ['admin:tenants', 'admin:audit'],
};

export function tenantRoleCan(role: TenantRole, permission: Permission): boolean {
  return TENANT_ROLE_PERMISSIONS[role].includes(permission);
}

export function staffRoleCan(role: StaffRole, permission: Permission): boolean {
  return STAFF_ROLE_PERMISSIONS[role].includes(permission);
}
