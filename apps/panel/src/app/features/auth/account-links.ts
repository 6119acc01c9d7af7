/**
 * The pages mail links open: forgot password, reset password, verify email, accept an invitation.
 * They work signed in or out (the link is the credential).
 */
import { ChangeDetectionStrategy, Component, inject, input, OnInit, signal } from '@angular/core';
import { FormControl, ReactiveFormsModule, Validators } from '@angular/forms';
import { Router, RouterLink } from '@angular/router';
import { MatButtonModule } from '@angular/material/button';
import { MatCardModule } from '@angular/material/card';
import { MatFormFieldModule } from '@angular/material/form-field';
import { MatInputModule } from '@angular/material/input';
import { MatProgressBarModule } from '@angular/material/progress-bar';
import { API_PREFIX, PASSWORD_MIN_LENGTH } from '@oblako/contracts';
import { apiErrorFromResponse, errorMessage } from '../../core/api/api-error';
import { AuthService } from '../../core/auth/auth.service';
import { ErrorBanner } from '../../shared/error-banner';

async function postPublic<T>(path: string, body: unknown): Promise<T> {
  const res = await fetch(API_PREFIX + path, { method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw await apiErrorFromResponse(res);
  return (res.status === 204 ? undefined : await res.json()) as T;
}

const SHARED = [ReactiveFormsModule, RouterLink, MatButtonModule, MatCardModule, MatFormFieldModule, MatInputModule, MatProgressBarModule, ErrorBanner];

@Component({
  selector: 'ob-forgot-password',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: SHARED,
  styleUrl: './auth-card.scss',
  template: `
    <mat-card class="card" appearance="outlined"><mat-card-content>
      <div class="brand"><svg viewBox="0 0 32 32" width="32" height="32" aria-hidden="true"><path fill="currentColor" d="M9 25a7 7 0 0 1-.6-14A9 9 0 0 1 26 12.5 6.3 6.3 0 0 1 24.5 25z"/></svg>Oblako</div>
      <h1>Reset your password</h1>
      <ob-error-banner [message]="error()" testId="forgot-error" />
      @if (sent(); as message) {
        <p class="note" role="status" data-testid="forgot-sent">{{ message }}</p>
        <div class="actions"><a routerLink="/login" data-testid="go-login">Back to log in</a></div>
      } @else {
        <form (submit)="$event.preventDefault(); submit()" novalidate data-testid="forgot-form">
          <p>Enter the address you signed up with. If it has an account, we mail it a link to choose a new password.</p>
          <mat-form-field>
            <mat-label>Email</mat-label>
            <input matInput type="email" [formControl]="email" autocomplete="username" required data-testid="forgot-email" />
          </mat-form-field>
          @if (busy()) {<mat-progress-bar mode="indeterminate" aria-label="Sending" />}
          <div class="actions">
            <a routerLink="/login">Back to log in</a>
            <button mat-flat-button type="submit" [disabled]="busy()" data-testid="forgot-submit">Send the link</button>
          </div>
        </form>
      }
    </mat-card-content></mat-card>`,
})
export class ForgotPasswordPage {
  readonly email = new FormControl('', { nonNullable: true, validators: [Validators.required, Validators.email] });
  readonly busy = signal(false);
  readonly error = signal<string | null>(null);
  readonly sent = signal<string | null>(null);

  async submit(): Promise<void> {
    this.email.markAsTouched();
    if (this.email.invalid) {
      this.error.set('Enter an email address such as alice@example.com.');
      return;
    }
    this.busy.set(true);
    this.error.set(null);
    try {
      const r = await postPublic<{ message: string }>('/auth/password-reset', { email: this.email.value.trim() });
      this.sent.set(r.message);
    } catch (e) {
      this.error.set(errorMessage(e));
    } finally {
      this.busy.set(false);
    }
  }
}

@Component({
  selector: 'ob-reset-password',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: SHARED,
  styleUrl: './auth-card.scss',
  template: `
    <mat-card class="card" appearance="outlined"><mat-card-content>
      <div class="brand"><svg viewBox="0 0 32 32" width="32" height="32" aria-hidden="true"><path fill="currentColor" d="M9 25a7 7 0 0 1-.6-14A9 9 0 0 1 26 12.5 6.3 6.3 0 0 1 24.5 25z"/></svg>Oblako</div>
      <h1>Choose a new password</h1>
      <ob-error-banner [message]="error()" testId="reset-error" />
      @if (done()) {
        <p class="note" role="status" data-testid="reset-done">Your password is changed and every session was signed out. Log in with the new password.</p>
        <div class="actions"><a routerLink="/login" data-testid="go-login">Log in</a></div>
      } @else if (!token()) {
        <p data-testid="reset-no-token">This page needs the link from the reset mail. <a routerLink="/forgot-password">Ask for a new one.</a></p>
      } @else {
        <form (submit)="$event.preventDefault(); submit()" novalidate data-testid="reset-form">
          <mat-form-field>
            <mat-label>New password</mat-label>
            <input matInput type="password" [formControl]="password" autocomplete="new-password" required data-testid="reset-password" />
            <mat-hint>At least {{ min }} characters</mat-hint>
          </mat-form-field>
          @if (busy()) {<mat-progress-bar mode="indeterminate" aria-label="Saving" />}
          <div class="actions">
            <a routerLink="/forgot-password">Ask for a new link</a>
            <button mat-flat-button type="submit" [disabled]="busy()" data-testid="reset-submit">Set the password</button>
          </div>
        </form>
      }
    </mat-card-content></mat-card>`,
})
export class ResetPasswordPage {
  private readonly auth = inject(AuthService);
  readonly token = input<string>();
  readonly min = PASSWORD_MIN_LENGTH;
  readonly password = new FormControl('', { nonNullable: true, validators: [Validators.required, Validators.minLength(PASSWORD_MIN_LENGTH)] });
  readonly busy = signal(false);
  readonly error = signal<string | null>(null);
  readonly done = signal(false);

  async submit(): Promise<void> {
    if (this.password.invalid) {
      this.error.set(`The password must be at least ${PASSWORD_MIN_LENGTH} characters long.`);
      return;
    }
    this.busy.set(true);
    this.error.set(null);
    try {
      await postPublic('/auth/password-reset/confirm', { token: this.token(), password: this.password.value });
      // Every session ended, this tab's too.
      this.auth.session.clear();
      this.done.set(true);
    } catch (e) {
      this.error.set(errorMessage(e));
    } finally {
      this.busy.set(false);
    }
  }
}

@Component({
  selector: 'ob-verify-email',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: SHARED,
  styleUrl: './auth-card.scss',
  template: `
    <mat-card class="card" appearance="outlined"><mat-card-content>
      <div class="brand"><svg viewBox="0 0 32 32" width="32" height="32" aria-hidden="true"><path fill="currentColor" d="M9 25a7 7 0 0 1-.6-14A9 9 0 0 1 26 12.5 6.3 6.3 0 0 1 24.5 25z"/></svg>Oblako</div>
      <h1>Confirm your email address</h1>
      @if (busy()) {<mat-progress-bar mode="indeterminate" aria-label="Confirming" />}
      <ob-error-banner [message]="error()" testId="verify-error" />
      @if (verified(); as email) {
        <p class="note" role="status" data-testid="verify-done">{{ email }} is confirmed. You can order servers now.</p>
        <div class="actions"><a routerLink="/" data-testid="go-home">Open the panel</a></div>
      } @else if (error()) {
        <div class="actions"><a routerLink="/account" data-testid="go-account">Ask for a new link in your account</a></div>
      }
    </mat-card-content></mat-card>`,
})
export class VerifyEmailPage implements OnInit {
  private readonly auth = inject(AuthService);
  readonly token = input<string>();
  readonly busy = signal(true);
  readonly error = signal<string | null>(null);
  readonly verified = signal<string | null>(null);

  async ngOnInit(): Promise<void> {
    try {
      if (!this.token()) throw new Error('This page needs the link from the mail.');
      const r = await postPublic<{ email: string }>('/auth/verify-email', { token: this.token() });
      this.verified.set(r.email);
      if (await this.auth.ensureRestored()) await this.auth.reloadUser();
    } catch (e) {
      this.error.set(errorMessage(e));
    } finally {
      this.busy.set(false);
    }
  }
}

interface InvitePreview { tenantName: string; email: string; role: string; expiresAt: string }

@Component({
  selector: 'ob-invite',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: SHARED,
  styleUrl: './auth-card.scss',
  template: `
    <mat-card class="card" appearance="outlined"><mat-card-content>
      <div class="brand"><svg viewBox="0 0 32 32" width="32" height="32" aria-hidden="true"><path fill="currentColor" d="M9 25a7 7 0 0 1-.6-14A9 9 0 0 1 26 12.5 6.3 6.3 0 0 1 24.5 25z"/></svg>Oblako</div>
      <h1>Join a team</h1>
      @if (busy()) {<mat-progress-bar mode="indeterminate" aria-label="Working" />}
      <ob-error-banner [message]="error()" testId="invite-error" />
      @if (preview(); as p) {
        <p data-testid="invite-summary">You are invited to <strong>{{ p.tenantName }}</strong> as {{ p.role }}, as {{ p.email }}.</p>
        @if (auth.user(); as u) {
          @if (u.email.toLowerCase() === p.email.toLowerCase()) {
            <div class="actions"><span></span><button mat-flat-button type="button" (click)="accept()" [disabled]="busy()" data-testid="invite-accept">Join {{ p.tenantName }}</button></div>
          } @else {
            <p class="note">You are signed in as {{ u.email }}. Log out and sign in (or sign up) as {{ p.email }} to accept.</p>
          }
        } @else {
          <form (submit)="$event.preventDefault(); signUp()" novalidate data-testid="invite-signup-form">
            <p>New here? Choose a password to create your account as {{ p.email }}. Already have an account? <a [routerLink]="['/login']" [queryParams]="{ returnUrl: returnUrl() }" data-testid="invite-login">Log in</a> first.</p>
            <mat-form-field>
              <mat-label>Password</mat-label>
              <input matInput type="password" [formControl]="password" autocomplete="new-password" required data-testid="invite-password" />
              <mat-hint>At least {{ min }} characters</mat-hint>
            </mat-form-field>
            <div class="actions"><span></span><button mat-flat-button type="submit" [disabled]="busy()" data-testid="invite-signup">Create account and join</button></div>
          </form>
        }
      }
    </mat-card-content></mat-card>`,
})
export class InvitePage implements OnInit {
  readonly auth = inject(AuthService);
  private readonly router = inject(Router);
  readonly token = input<string>();
  readonly min = PASSWORD_MIN_LENGTH;
  readonly password = new FormControl('', { nonNullable: true, validators: [Validators.required, Validators.minLength(PASSWORD_MIN_LENGTH)] });
  readonly busy = signal(true);
  readonly error = signal<string | null>(null);
  readonly preview = signal<InvitePreview | null>(null);

  returnUrl(): string {
    return `/invite?token=${encodeURIComponent(this.token() ?? '')}`;
  }

  async ngOnInit(): Promise<void> {
    try {
      await this.auth.ensureRestored();
      this.preview.set(await postPublic<InvitePreview>('/invites/preview', { token: this.token() ?? '' }));
    } catch (e) {
      this.error.set(errorMessage(e));
    } finally {
      this.busy.set(false);
    }
  }

  async accept(): Promise<void> {
    this.busy.set(true);
    this.error.set(null);
    try {
      const res = await this.auth.session.fetch(API_PREFIX + '/invites/accept', {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token: this.token() }),
      });
      if (!res.ok) throw await apiErrorFromResponse(res);
      const joined = (await res.json()) as { tenantId: string };
      await this.auth.reloadUser();
      this.auth.selectTenant(joined.tenantId);
      await this.router.navigateByUrl(this.auth.home());
    } catch (e) {
      this.error.set(errorMessage(e));
    } finally {
      this.busy.set(false);
    }
  }

  async signUp(): Promise<void> {
    if (this.password.invalid) {
      this.error.set(`The password must be at least ${PASSWORD_MIN_LENGTH} characters long.`);
      return;
    }
    this.busy.set(true);
    this.error.set(null);
    try {
      const me = await this.auth.registerWithInvite(this.token() ?? '', this.password.value);
      if (me.memberships[0]) this.auth.selectTenant(me.memberships[0].tenantId);
      await this.router.navigateByUrl(this.auth.home());
    } catch (e) {
      this.error.set(errorMessage(e));
    } finally {
      this.busy.set(false);
    }
  }
}
