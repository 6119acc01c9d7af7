import { BreakpointObserver } from '@angular/cdk/layout';
import { ChangeDetectionStrategy, Component, DestroyRef, computed, inject, signal, viewChild } from '@angular/core';
import { toSignal } from '@angular/core/rxjs-interop';
import { NavigationEnd, Router, RouterLink, RouterLinkActive, RouterOutlet } from '@angular/router';
import { MatButtonModule } from '@angular/material/button';
import { MatListModule } from '@angular/material/list';
import { MatMenuModule } from '@angular/material/menu';
import { MatSidenav, MatSidenavModule } from '@angular/material/sidenav';
import { MatToolbarModule } from '@angular/material/toolbar';
import { filter, map } from 'rxjs';
import { BillingStatusService } from '../api/billing-status.service';
import { AuthService } from '../auth/auth.service';
import { LiveService } from '../live/live.service';
import { AnnouncerService } from '../../shared/announcer';
import { ApiService } from '../api/api.service';
import { heartbeatAge, offlineNodes } from '../../features/admin/node-health';
import { Permission, type NodeView } from '@oblako/contracts';
import { CUSTOMER_NAV, STAFF_NAV, visibleNav } from './nav';

/** How often staff's panel checks for offline nodes. */
const NODE_CHECK_MS = 15_000;

/** Toolbar, side navigation (customer and staff sections by permission) and the page. */
@Component({
  selector: 'ob-shell',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [RouterOutlet, RouterLink, RouterLinkActive, MatButtonModule, MatListModule, MatMenuModule, MatSidenavModule, MatToolbarModule],
  template: `
    <a class="skip" href="#main" (click)="skipToMain($event)">Skip to content</a>
    <mat-toolbar class="bar" role="banner">
      @if (handset()) {
        <button mat-icon-button type="button" (click)="nav.toggle()" aria-label="Open navigation" data-testid="nav-toggle">
          <span aria-hidden="true" class="burger">☰</span>
        </button>
      }
      <a class="brand" routerLink="/" aria-label="Oblako home">
        <svg viewBox="0 0 32 32" width="28" height="28" aria-hidden="true"><path fill="currentColor" d="M9 25a7 7 0 0 1-.6-14A9 9 0 0 1 26 12.5 6.3 6.3 0 0 1 24.5 25z"/></svg>
        <span>Oblako</span>
      </a>
      @if (auth.membership(); as m) {<span class="tenant ob-muted ob-name" data-testid="tenant-name" [title]="'Team: ' + m.tenantName"><span class="ob-visually-hidden">Team: </span>{{ m.tenantName }}</span>}
      <span class="ob-spacer"></span>
      @if (live.mode() === 'polling') {<span class="live ob-muted" title="Live updates by polling every 2 s">polling</span>}
      <button mat-button type="button" [matMenuTriggerFor]="userMenu" data-testid="user-menu"
        [attr.aria-label]="'Account menu of ' + (auth.user()?.email ?? 'your account')">
        <span class="email">{{ auth.user()?.email }}</span><span aria-hidden="true"> ▾</span>
      </button>
      <mat-menu #userMenu="matMenu">
        <a mat-menu-item routerLink="/account" data-testid="menu-account">Account</a>
        <button mat-menu-item type="button" (click)="logout()" data-testid="logout">Log out</button>
      </mat-menu>
    </mat-toolbar>
    <mat-sidenav-container class="container">
      <mat-sidenav #nav [mode]="handset() ? 'over' : 'side'" [opened]="!handset()" class="side" role="navigation" aria-label="Main">
        <mat-nav-list>
          @if (customerNav().length) {
            <h2 class="section" mat-subheader>Cloud</h2>
            @for (item of customerNav(); track item.path) {
              <a mat-list-item [routerLink]="item.path" routerLinkActive="active" #rla="routerLinkActive"
                [activated]="rla.isActive" [attr.aria-current]="rla.isActive ? 'page' : null"
                [attr.data-testid]="item.testId" (click)="closeOnHandset()">{{ item.label }}</a>
            }
          }
          @if (staffNav().length) {
            <h2 class="section" mat-subheader>Staff</h2>
            @for (item of staffNav(); track item.path) {
              <a mat-list-item [routerLink]="item.path" routerLinkActive="active" #rla="routerLinkActive"
                [activated]="rla.isActive" [attr.aria-current]="rla.isActive ? 'page' : null"
                [attr.data-testid]="item.testId" (click)="closeOnHandset()">{{ item.label }}</a>
            }
          }
        </mat-nav-list>
      </mat-sidenav>
      <mat-sidenav-content>
        <main id="main" tabindex="-1">
          @for (n of offlineNodes(); track n.id) {
            <p class="banner suspended" role="alert" data-testid="node-offline-banner" [attr.data-node]="n.name">
              <strong>Node {{ n.name }} is offline</strong> (last heartbeat {{ heartbeatAge(n.lastHeartbeatAt) }}). <a [routerLink]="['/admin/nodes', n.id]">See the node</a>
            </p>
          }
          @if (auth.membership()?.suspendedAt) {
            <p class="banner suspended" role="alert" data-testid="suspended-banner">
              <strong>Your team is suspended.</strong> No new servers can be ordered and your servers are stopped.
              @if (auth.membership()?.suspendedReason; as why) { Reason: {{ why }}. } Please contact support to have it lifted.
            </p>
          }
          @if (auth.user(); as u) {
            @if (u.emailVerified === false) {
              <p class="banner" role="status" data-testid="verify-banner">Confirm your email address to order servers: open the link we mailed to {{ u.email }}. <a routerLink="/account">Mail it again</a></p>
            }
            @if (u.twoFactorRequiredForStaff || (!u.twoFactorEnabled && auth.membership()?.requireTwoFactor)) {
              <p class="banner" role="alert" data-testid="two-factor-banner">{{ u.twoFactorRequiredForStaff ? 'Staff must use two-factor sign-in.' : 'This team requires two-factor sign-in.' }} <a routerLink="/account">Turn it on in your account</a></p>
            }
          }
          <router-outlet />
        </main>
        <div class="ob-visually-hidden" aria-live="polite" aria-atomic="true" data-testid="live-region">{{ announcer.message() }}</div>
      </mat-sidenav-content>
    </mat-sidenav-container>
  `,
  styles: `
    .banner.suspended { background: var(--mat-sys-error-container); color: var(--mat-sys-on-error-container); }
    .banner { margin: 12px 16px 0; padding: 10px 14px; border-radius: 8px; background: var(--mat-sys-tertiary-container); color: var(--mat-sys-on-tertiary-container); }
    :host { display: flex; flex-direction: column; height: 100vh; }
    .bar { position: sticky; top: 0; z-index: 3; gap: 8px; border-bottom: 1px solid var(--mat-sys-outline-variant);
      background: var(--mat-sys-surface-container); }
    .brand { display: inline-flex; align-items: center; gap: 8px; text-decoration: none; color: var(--mat-sys-primary);
      font: var(--mat-sys-title-large); }
    .tenant { font: var(--mat-sys-body-medium); margin-left: 8px; }
    .burger { font-size: 22px; line-height: 1; }
    .live { font: var(--mat-sys-label-small); }
    .email { max-width: 28ch; overflow: hidden; text-overflow: ellipsis; display: inline-block; vertical-align: bottom; }
    .container { flex: 1 1 auto; }
    .side { width: 232px; border-right: 1px solid var(--mat-sys-outline-variant); }
    .section { font: var(--mat-sys-title-small); color: var(--mat-sys-on-surface-variant); padding: 12px 16px 4px; margin: 0; }
    main:focus { outline: none; }
    .skip { position: absolute; left: -9999px; top: 8px; z-index: 10; padding: 8px 12px; background: var(--mat-sys-surface); }
    .skip:focus { left: 8px; }
    /* Phones: the e-mail gives way, the current team stays (shortened), the menu keeps its name. */
    @media (max-width: 600px) { .email { display: none; } .tenant { margin-left: 0; max-width: 30vw; } .brand span { display: none; } }
  `,
})
export class Shell {
  readonly auth = inject(AuthService);
  readonly live = inject(LiveService);
  readonly announcer = inject(AnnouncerService);
  private readonly api = inject(ApiService);
  private readonly router = inject(Router);
  private readonly nav = viewChild.required<MatSidenav>('nav');
  readonly handset = toSignal(
    inject(BreakpointObserver).observe('(max-width: 840px)').pipe(map((r) => r.matches)),
    { initialValue: false },
  );
  private readonly billing = inject(BillingStatusService);
  readonly customerNav = computed(() =>
    visibleNav(CUSTOMER_NAV, this.auth.permissions(), this.billing.on()).filter((i) => !(i.path === '/order' && this.auth.membership()?.suspendedAt)),
  );
  readonly staffNav = computed(() => visibleNav(STAFF_NAV, this.auth.permissions(), this.billing.on()));
  readonly loggingOut = signal(false);

  /** Staff who run the fleet hear when a node goes offline, on whatever page they are. */
  readonly offlineNodes = signal<NodeView[]>([]);
  heartbeatAge = (iso: string | null) => heartbeatAge(iso, Date.now());

  constructor() {
    this.billing.ensureLoaded();
    const checkNodes = async () => {
      if (!this.auth.permissions().has(Permission.FleetManage)) return;
      try {
        this.offlineNodes.set(offlineNodes((await this.api.adminNodes()).items));
      } catch {
        /* the next check tries again */
      }
    };
    void checkNodes();
    const nodeTimer = setInterval(() => void checkNodes(), NODE_CHECK_MS);
    inject(DestroyRef).onDestroy(() => clearInterval(nodeTimer));
    // On small screens the navigation overlays the page: close it after each navigation.
    let lastPath: string | null = null;
    this.router.events.pipe(filter((e): e is NavigationEnd => e instanceof NavigationEnd)).subscribe((e) => {
      if (this.handset()) void this.nav().close();
      // After a navigation to another page (not the first page load), focus goes to the new page's heading,
      // so a screen reader says where it is and Tab goes on from the top of the page. A change of the query
      // alone (a search typed, a filter or sort chosen) stays on the page: focus stays where the user is,
      // or the keys typed after the search's pause would land on the heading.
      const path = e.urlAfterRedirects.split(/[?#]/)[0]!;
      if (lastPath !== null && path !== lastPath) focusHeading();
      lastPath = path;
    });
  }

  closeOnHandset(): void {
    if (this.handset()) void this.nav().close();
  }

  skipToMain(ev: Event): void {
    ev.preventDefault();
    document.getElementById('main')?.focus();
  }

  async logout(): Promise<void> {
    this.loggingOut.set(true);
    this.live.stop();
    await this.auth.logout();
  }
}

/** Focus the page's h1 once it has rendered (lazy pages render a moment after the navigation). */
function focusHeading(tries = 10): void {
  setTimeout(() => {
    const h1 = document.querySelector<HTMLElement>('main h1');
    if (!h1) {
      if (tries > 0) focusHeading(tries - 1);
      return;
    }
    if (!h1.hasAttribute('tabindex')) h1.setAttribute('tabindex', '-1');
    h1.focus({ preventScroll: false });
  }, 60);
}
