import { ChangeDetectionStrategy, Component, inject, signal } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { MatButtonModule } from '@angular/material/button';
import { MatCardModule } from '@angular/material/card';
import { MatFormFieldModule } from '@angular/material/form-field';
import { MatInputModule } from '@angular/material/input';
import { MatSlideToggleModule } from '@angular/material/slide-toggle';
import { PASSWORD_MIN_LENGTH } from '@oblako/contracts';
import { ApiService, type SessionView, type TwoFactorSetupView } from '../api/api.service';
import { errorMessage } from '../api/api-error';
import { AuthService } from '../auth/auth.service';
import { ErrorBanner } from '../../shared/error-banner';
import { QrCode } from '../../shared/qr-code';
import { formatDateTime } from '../../shared/format';

/** Account → Security: email, two-factor sign-in (QR enrolment, recovery codes), password, sessions, teams. */
@Component({
  selector: 'ob-account',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [FormsModule, MatButtonModule, MatCardModule, MatFormFieldModule, MatInputModule, MatSlideToggleModule, ErrorBanner, QrCode],
  template: `
    <div class="ob-page" data-testid="account-page">
      <div class="ob-page-header"><h1>Account</h1></div>
      @if (auth.user(); as u) {
        <mat-card appearance="outlined"><mat-card-content>
          <h2>Sign-in</h2>
          <p>Signed in as <strong data-testid="account-email">{{ u.email }}</strong>
            @if (u.emailVerified === false) {
              · <span data-testid="email-unverified">not confirmed yet: you can order once you open the link we mailed you.</span>
              <button mat-button type="button" (click)="resend()" [disabled]="busy()" data-testid="resend-verification">Mail the link again</button>
            } @else { · <span class="ob-muted" data-testid="email-verified">confirmed</span> }
          </p>
          @if (resent(); as r) {<p class="ob-muted" role="status" data-testid="resend-done">{{ r }}</p>}
          @if (u.staffRole) {<p>Staff role: {{ u.staffRole }}</p>}
        </mat-card-content></mat-card>

        <mat-card appearance="outlined" data-testid="two-factor-card"><mat-card-content>
          <h2>Two-factor sign-in</h2>
          <ob-error-banner [message]="tfaError()" testId="tfa-error" />
          @if (codes(); as list) {
            <p><strong>Save these recovery codes now.</strong> Each works once instead of a code from your app, for when the phone is lost. They are not shown again.</p>
            <ul class="codes" data-testid="tfa-recovery-codes">@for (c of list; track c) {<li data-testid="tfa-recovery-code">{{ c }}</li>}</ul>
            <button mat-flat-button type="button" (click)="codes.set(null)" data-testid="tfa-codes-saved">I have saved them</button>
          } @else if (u.twoFactorEnabled) {
            <p data-testid="tfa-on">On: signing in needs a code from your authenticator app.</p>
            <form class="ob-row" (ngSubmit)="disable()">
              <mat-form-field><mat-label>Password</mat-label><input matInput type="password" name="p" [(ngModel)]="offPassword" autocomplete="current-password" data-testid="tfa-off-password" /></mat-form-field>
              <mat-form-field><mat-label>Code or recovery code</mat-label><input matInput name="c" [(ngModel)]="offCode" autocomplete="one-time-code" data-testid="tfa-off-code" /></mat-form-field>
              <button mat-stroked-button type="submit" [disabled]="busy()" data-testid="tfa-disable">Turn off</button>
              <button mat-button type="button" (click)="regenerate()" [disabled]="busy()" data-testid="tfa-regenerate">New recovery codes</button>
            </form>
          } @else if (setup(); as s) {
            <p>Scan this with your authenticator app (or type the key), then enter the code it shows.</p>
            <div class="ob-row setup">
              <ob-qr-code [text]="s.otpauthUri" label="QR code to add this account to an authenticator app" />
              <div>
                <p class="ob-muted">Key: <code data-testid="tfa-secret">{{ s.secret }}</code></p>
                <form (ngSubmit)="enable()">
                  <mat-form-field><mat-label>6-digit code</mat-label><input matInput name="code" [(ngModel)]="code" autocomplete="one-time-code" inputmode="numeric" data-testid="tfa-code" /></mat-form-field>
                  <button mat-flat-button type="submit" [disabled]="busy()" data-testid="tfa-enable">Turn on</button>
                </form>
              </div>
            </div>
          } @else {
            <p data-testid="tfa-off">Off. Turn it on so a stolen password alone cannot open your account.</p>
            @if (required(u)) {<p class="ob-warn" data-testid="tfa-required">{{ required(u) }}</p>}
            <form class="ob-row" (ngSubmit)="start()">
              <mat-form-field><mat-label>Password</mat-label><input matInput type="password" name="p" [(ngModel)]="setupPassword" autocomplete="current-password" data-testid="tfa-password" /></mat-form-field>
              <button mat-flat-button type="submit" [disabled]="busy()" data-testid="tfa-start">Set up</button>
            </form>
          }
        </mat-card-content></mat-card>

        <mat-card appearance="outlined"><mat-card-content>
          <h2>Password</h2>
          <ob-error-banner [message]="pwError()" testId="pw-error" />
          @if (pwDone()) {<p role="status" data-testid="pw-done">Password changed; your other sessions were signed out.</p>}
          <form class="ob-row" (ngSubmit)="changePassword()">
            <mat-form-field><mat-label>Current password</mat-label><input matInput type="password" name="cur" [(ngModel)]="currentPassword" autocomplete="current-password" data-testid="pw-current" /></mat-form-field>
            <mat-form-field><mat-label>New password</mat-label><input matInput type="password" name="new" [(ngModel)]="newPassword" autocomplete="new-password" data-testid="pw-new" /><mat-hint>At least {{ min }} characters</mat-hint></mat-form-field>
            <button mat-stroked-button type="submit" [disabled]="busy()" data-testid="pw-submit">Change password</button>
          </form>
        </mat-card-content></mat-card>

        <mat-card appearance="outlined"><mat-card-content>
          <h2>Sessions</h2>
          <ob-error-banner [message]="sessionsError()" testId="sessions-error" />
          @for (s of sessions(); track s.id) {
            <p class="ob-row" data-testid="session-row" [attr.data-current]="s.current" [attr.data-device]="s.device">
              <strong>{{ s.device }}</strong> <span class="ob-muted">{{ s.ip ?? 'unknown address' }} · last used {{ fmt(s.lastUsedAt) }} · since {{ fmt(s.createdAt) }}{{ s.twoFactor ? ' · with a second factor' : '' }}</span>
              @if (s.current) {<span class="ob-muted">(this session)</span>} @else {
                <button mat-button type="button" (click)="endSession(s)" data-testid="session-end" [attr.aria-label]="'Sign out ' + s.device">Sign out</button>
              }
            </p>
          }
        </mat-card-content></mat-card>

        <mat-card appearance="outlined"><mat-card-content>
          <h2>Teams</h2>
          @for (m of u.memberships; track m.tenantId) {
            <p class="ob-row">{{ m.tenantName }} · {{ m.role }}{{ m.requireTwoFactor ? ' · requires two-factor sign-in' : '' }}
              @if (m.tenantId !== auth.tenantId()) {
                <button mat-stroked-button type="button" (click)="auth.selectTenant(m.tenantId)">Switch to this team</button>
              } @else {<span class="ob-muted">(current team)</span>}
            </p>
          }
          @if (auth.membership()?.role === 'owner') {
            <mat-slide-toggle [checked]="teamRequires()" (change)="setTeamRequires($event.checked)" data-testid="team-require-2fa">
              Require two-factor sign-in of every member of {{ auth.membership()?.tenantName }}
            </mat-slide-toggle>
            <ob-error-banner [message]="teamError()" testId="team-require-error" />
          }
        </mat-card-content></mat-card>
      }
    </div>`,
  styles: `mat-card { margin-bottom: 16px; } h2 { font: var(--mat-sys-title-medium); margin: 0 0 12px; } .codes { columns: 2; font-family: ui-monospace, monospace; font-size: 15px; }
    .setup { align-items: flex-start; gap: 24px; } .ob-warn { color: var(--mat-sys-error); } code { font-size: 14px; word-break: break-all; }`,
})
export class AccountPage {
  readonly auth = inject(AuthService);
  private readonly api = inject(ApiService);
  readonly min = PASSWORD_MIN_LENGTH;
  readonly busy = signal(false);
  readonly resent = signal<string | null>(null);
  readonly setup = signal<TwoFactorSetupView | null>(null);
  readonly codes = signal<string[] | null>(null);
  readonly tfaError = signal<string | null>(null);
  readonly pwError = signal<string | null>(null);
  readonly pwDone = signal(false);
  readonly sessions = signal<SessionView[]>([]);
  readonly sessionsError = signal<string | null>(null);
  readonly teamRequires = signal(false);
  readonly teamError = signal<string | null>(null);
  setupPassword = '';
  code = '';
  offPassword = '';
  offCode = '';
  currentPassword = '';
  newPassword = '';
  fmt = formatDateTime;

  constructor() {
    void this.loadSessions();
    if (this.auth.membership()?.role === 'owner') void this.api.tenantRequiresTwoFactor().then((v) => this.teamRequires.set(v), () => undefined);
  }

  required(u: NonNullable<ReturnType<AuthService['user']>>): string | null {
    if (u.twoFactorRequiredForStaff) return 'The provider requires two-factor sign-in of staff: staff pages stay closed until you turn it on.';
    const team = u.memberships.find((m) => m.requireTwoFactor);
    return team ? `${team.tenantName} requires two-factor sign-in: its pages stay closed until you turn it on.` : null;
  }

  private async run(errorSig: (typeof this)['tfaError'], fn: () => Promise<void>): Promise<void> {
    this.busy.set(true);
    errorSig.set(null);
    try {
      await fn();
    } catch (e) {
      errorSig.set(errorMessage(e));
    } finally {
      this.busy.set(false);
    }
  }

  resend(): Promise<void> {
    return this.run(this.tfaError, async () => this.resent.set(await this.api.resendVerification()));
  }

  start(): Promise<void> {
    return this.run(this.tfaError, async () => {
      this.setup.set(await this.api.twoFactorSetup(this.setupPassword));
      this.setupPassword = '';
    });
  }

  enable(): Promise<void> {
    return this.run(this.tfaError, async () => {
      const codes = await this.api.twoFactorEnable(this.code.trim());
      this.code = '';
      this.setup.set(null);
      this.codes.set(codes);
      await this.auth.reloadUser();
    });
  }

  disable(): Promise<void> {
    return this.run(this.tfaError, async () => {
      await this.api.twoFactorDisable(this.offPassword, this.offCode.trim());
      this.offPassword = this.offCode = '';
      await this.auth.reloadUser();
    });
  }

  regenerate(): Promise<void> {
    return this.run(this.tfaError, async () => {
      this.codes.set(await this.api.newRecoveryCodes(this.offPassword, this.offCode.trim()));
      this.offPassword = this.offCode = '';
    });
  }

  changePassword(): Promise<void> {
    this.pwDone.set(false);
    return this.run(this.pwError, async () => {
      await this.api.changePassword(this.currentPassword, this.newPassword);
      this.currentPassword = this.newPassword = '';
      this.pwDone.set(true);
      await this.loadSessions();
    });
  }

  async loadSessions(): Promise<void> {
    try {
      this.sessions.set(await this.api.sessions());
    } catch (e) {
      this.sessionsError.set(errorMessage(e));
    }
  }

  endSession(s: SessionView): Promise<void> {
    return this.run(this.sessionsError, async () => {
      await this.api.endSession(s.id);
      this.sessions.update((l) => l.filter((x) => x.id !== s.id));
    });
  }

  setTeamRequires(on: boolean): Promise<void> {
    return this.run(this.teamError, async () => {
      this.teamRequires.set(await this.api.setTenantRequiresTwoFactor(on));
      await this.auth.reloadUser();
    }).then(() => {
      if (this.teamError()) this.teamRequires.set(!on);
    });
  }
}
