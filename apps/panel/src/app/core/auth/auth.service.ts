import { Injectable, computed, inject, signal } from '@angular/core';
import { Router } from '@angular/router';
import type { MeView, Permission, TwoFactorChallengeView } from '@oblako/contracts';
import { activeMembership, homePath, permissionsOf } from '../layout/nav';
import { Session, type RefreshTokenStore, type RegisterInput } from './session';

/**
 * The refresh token lives in localStorage so a reload or a second tab keeps the session
 * (see README "Tokens"); the access token never leaves memory.
 */
const REFRESH_KEY = 'oblako.refreshToken';
const TENANT_KEY = 'oblako.tenantId';

function localStore(key: string): RefreshTokenStore {
  return {
    get: () => {
      try {
        return localStorage.getItem(key);
      } catch {
        return null;
      }
    },
    set: (t) => {
      try {
        localStorage.setItem(key, t);
      } catch {
        /* private mode: the session lasts as long as the page */
      }
    },
    clear: () => {
      try {
        localStorage.removeItem(key);
      } catch {
        /* ignore */
      }
    },
  };
}

@Injectable({ providedIn: 'root' })
export class AuthService {
  private readonly router = inject(Router);
  private readonly userSig = signal<MeView | null>(null);
  private readonly tenantSig = signal<string | null>(localStore(TENANT_KEY).get());
  private restoring: Promise<MeView | null> | null = null;
  private loggingOut = false;

  readonly session = new Session(
    (input, init) => fetch(input, init),
    localStore(REFRESH_KEY),
    (user) => this.onUserChange(user),
    () => Date.now(),
    <T>(fn: () => Promise<T>): Promise<T> =>
      typeof navigator !== 'undefined' && navigator.locks ? (navigator.locks.request('oblako.refresh', fn) as Promise<T>) : fn(),
  );

  readonly user = this.userSig.asReadonly();
  readonly loggedIn = computed(() => this.userSig() !== null);
  readonly membership = computed(() => activeMembership(this.userSig(), this.tenantSig()));
  readonly tenantId = computed(() => this.membership()?.tenantId ?? null);
  readonly permissions = computed(() => permissionsOf(this.userSig(), this.tenantSig()));
  readonly isStaff = computed(() => this.userSig()?.staffRole != null);

  constructor() {
    // Logged out in another tab: end this tab's session too.
    if (typeof window !== 'undefined') {
      window.addEventListener('storage', (e) => {
        if (e.key === REFRESH_KEY && e.newValue === null && this.userSig()) this.session.clear();
      });
    }
  }

  can(permission: Permission): boolean {
    return this.permissions().has(permission);
  }

  home(): string {
    return homePath(this.permissions());
  }

  /** Restore the session from the stored refresh token once; guards await this. */
  ensureRestored(): Promise<MeView | null> {
    if (this.userSig()) return Promise.resolve(this.userSig());
    if (!this.restoring) {
      this.restoring = this.session.restore().catch(() => null).finally(() => {
        this.restoring = null;
      });
    }
    return this.restoring;
  }

  login(email: string, password: string): Promise<MeView | TwoFactorChallengeView> {
    return this.session.login(email, password);
  }

  loginTwoFactor(challengeToken: string, code: string): Promise<MeView> {
    return this.session.loginTwoFactor(challengeToken, code);
  }

  registerWithInvite(inviteToken: string, password: string): Promise<MeView> {
    return this.session.registerWithInvite(inviteToken, password);
  }

  /** Read the user again (after verifying the address, turning 2FA on, joining a team). */
  async reloadUser(): Promise<void> {
    const res = await this.session.fetch('/api/v1/auth/me');
    if (res.ok) this.session.updateUser((await res.json()) as MeView);
  }

  register(input: RegisterInput): Promise<MeView> {
    return this.session.register(input);
  }

  selectTenant(tenantId: string): void {
    this.tenantSig.set(tenantId);
    localStore(TENANT_KEY).set(tenantId);
  }

  async logout(): Promise<void> {
    this.loggingOut = true;
    try {
      await this.session.logout();
    } finally {
      this.loggingOut = false;
    }
    await this.router.navigate(['/login'], { queryParams: { loggedOut: 1 } });
  }

  private onUserChange(user: MeView | null): void {
    const had = this.userSig() !== null;
    this.userSig.set(user);
    if (had && !user && !this.loggingOut) {
      // The API refused the refresh token: the session ended elsewhere or expired.
      void this.router.navigate(['/login'], { queryParams: { expired: 1, returnUrl: this.router.url } });
    }
  }
}
