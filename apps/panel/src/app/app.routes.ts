import type { Routes } from '@angular/router';
import { Permission } from '@oblako/contracts';
import { authGuard, guestGuard, permissionGuard } from './core/auth/guards';

export const routes: Routes = [
  { path: 'login', canActivate: [guestGuard], title: 'Log in · Oblako', loadComponent: () => import('./features/auth/login').then((m) => m.LoginPage) },
  { path: 'signup', canActivate: [guestGuard], title: 'Sign up · Oblako', loadComponent: () => import('./features/auth/signup').then((m) => m.SignupPage) },
  {
    path: '',
    canActivate: [authGuard],
    loadComponent: () => import('./core/layout/shell').then((m) => m.Shell),
    children: [
      { path: '', pathMatch: 'full', loadComponent: () => import('./core/layout/home-redirect').then((m) => m.HomeRedirect) },
      { path: 'servers', canActivate: [permissionGuard(Permission.ServersRead)], title: 'Servers · Oblako',
        loadComponent: () => import('./features/servers/servers-list').then((m) => m.ServersListPage) },
      { path: 'servers/:id', canActivate: [permissionGuard(Permission.ServersRead)], title: 'Server · Oblako',
        loadComponent: () => import('./features/servers/server-detail').then((m) => m.ServerDetailPage) },
      { path: 'order', canActivate: [permissionGuard(Permission.ServersWrite)], title: 'Order a server · Oblako',
        loadComponent: () => import('./features/order/order').then((m) => m.OrderPage) },
      { path: 'ssh-keys', canActivate: [permissionGuard(Permission.SshKeysRead)], title: 'SSH keys · Oblako',
        loadComponent: () => import('./features/ssh-keys/ssh-keys').then((m) => m.SshKeysPage) },
      { path: 'api-tokens', canActivate: [permissionGuard(Permission.ApiTokensManage)], title: 'API tokens · Oblako',
        loadComponent: () => import('./features/api-tokens/api-tokens').then((m) => m.ApiTokensPage) },
      { path: 'admin/nodes', canActivate: [permissionGuard(Permission.FleetManage)], title: 'Nodes · Oblako',
        loadComponent: () => import('./features/admin/nodes').then((m) => m.NodesPage) },
      { path: 'admin/ip-pools', canActivate: [permissionGuard(Permission.FleetManage)], title: 'IP pools · Oblako',
        loadComponent: () => import('./features/admin/ip-pools').then((m) => m.IpPoolsPage) },
      { path: 'admin/plans', canActivate: [permissionGuard(Permission.CatalogueManage)], title: 'Plans · Oblako',
        loadComponent: () => import('./features/admin/catalogue').then((m) => m.PlansPage) },
      { path: 'admin/images', canActivate: [permissionGuard(Permission.CatalogueManage)], title: 'Images · Oblako',
        loadComponent: () => import('./features/admin/catalogue').then((m) => m.ImagesPage) },
      { path: 'admin/locations', canActivate: [permissionGuard(Permission.CatalogueManage)], title: 'Locations · Oblako',
        loadComponent: () => import('./features/admin/catalogue').then((m) => m.LocationsPage) },
      { path: 'admin/tasks', canActivate: [permissionGuard(Permission.TasksRead)], title: 'Failed tasks · Oblako',
        loadComponent: () => import('./features/admin/failed-tasks').then((m) => m.FailedTasksPage) },
      { path: 'admin/audit', canActivate: [permissionGuard(Permission.AuditRead)], title: 'Audit log · Oblako',
        loadComponent: () => import('./features/admin/audit').then((m) => m.AuditPage) },
      { path: 'account', title: 'Account · Oblako', loadComponent: () => import('./core/layout/account').then((m) => m.AccountPage) },
      { path: 'forbidden', title: 'Not allowed · Oblako', loadComponent: () => import('./core/layout/not-found').then((m) => m.ForbiddenPage) },
      { path: '**', title: 'Not found · Oblako', loadComponent: () => import('./core/layout/not-found').then((m) => m.NotFoundPage) },
    ],
  },
];
