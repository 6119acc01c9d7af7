import { inject } from '@angular/core';
import { Router, type CanActivateFn } from '@angular/router';
import type { Permission } from '@oblako/contracts';
import { AuthService } from './auth.service';

/** Logged in (restoring the session from the refresh token first), else to /login. */
export const authGuard: CanActivateFn = async (_route, state) => {
  const auth = inject(AuthService);
  const router = inject(Router);
  if (await auth.ensureRestored()) return true;
  return router.createUrlTree(['/login'], { queryParams: { returnUrl: state.url } });
};

/** Login and sign-up pages: a logged-in user goes home instead. */
export const guestGuard: CanActivateFn = async () => {
  const auth = inject(AuthService);
  const router = inject(Router);
  if (await auth.ensureRestored()) return router.parseUrl(auth.home());
  return true;
};

/** Needs the permission (the same name the API's guard checks). */
export function permissionGuard(permission: Permission): CanActivateFn {
  return async (_route, state) => {
    const auth = inject(AuthService);
    const router = inject(Router);
    if (!(await auth.ensureRestored())) return router.createUrlTree(['/login'], { queryParams: { returnUrl: state.url } });
    return auth.can(permission) ? true : router.createUrlTree(['/forbidden']);
  };
}
