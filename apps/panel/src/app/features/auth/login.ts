import { ChangeDetectionStrategy, Component, inject, input, signal } from '@angular/core';
import { FormBuilder, FormControl, ReactiveFormsModule, Validators } from '@angular/forms';
import type { TwoFactorChallengeView } from '@oblako/contracts';
import { Router, RouterLink } from '@angular/router';
import { MatButtonModule } from '@angular/material/button';
import { MatCardModule } from '@angular/material/card';
import { MatFormFieldModule } from '@angular/material/form-field';
import { MatInputModule } from '@angular/material/input';
import { MatProgressBarModule } from '@angular/material/progress-bar';
import { errorMessage } from '../../core/api/api-error';
import { AuthService } from '../../core/auth/auth.service';
import { ErrorBanner } from '../../shared/error-banner';

/** Only same-site paths may be returned to after login. */
export function safeReturnUrl(url: string | undefined | null): string | null {
  return url && url.startsWith('/') && !url.startsWith('//') && !url.startsWith('/login') ? url : null;
}

@Component({
  selector: 'ob-login',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [ReactiveFormsModule, RouterLink, MatButtonModule, MatCardModule, MatFormFieldModule, MatInputModule, MatProgressBarModule, ErrorBanner],
  styleUrl: './auth-card.scss',
  template: `
    <mat-card class="card" appearance="outlined">
      <mat-card-content>
        <div class="brand"><svg viewBox="0 0 32 32" width="32" height="32" aria-hidden="true"><path fill="currentColor" d="M9 25a7 7 0 0 1-.6-14A9 9 0 0 1 26 12.5 6.3 6.3 0 0 1 24.5 25z"/></svg>Oblako</div>
        <h1>Log in</h1>
        @if (expired()) {<p class="note" role="status" data-testid="session-expired">Your session ended. Log in again.</p>}
        @if (loggedOut()) {<p class="note" role="status" data-testid="logged-out">You are logged out.</p>}
        <ob-error-banner [message]="error()" testId="login-error" />
        @if (challenge(); as ch) {
          <form (submit)="$event.preventDefault(); submitCode(ch)" data-testid="login-2fa-form" novalidate>
            <p>Enter the 6-digit code from your authenticator app, or one of your recovery codes.</p>
            <mat-form-field>
              <mat-label>Code</mat-label>
              <input matInput name="code" [formControl]="code" autocomplete="one-time-code" inputmode="text" required data-testid="login-2fa-code" />
            </mat-form-field>
            @if (busy()) {<mat-progress-bar mode="indeterminate" aria-label="Checking the code" />}
            <div class="actions">
              <button mat-button type="button" (click)="cancelCode()" data-testid="login-2fa-cancel">Back</button>
              <button mat-flat-button type="submit" [disabled]="busy()" data-testid="login-2fa-submit">Verify</button>
            </div>
          </form>
        } @else {
        <form [formGroup]="form" (ngSubmit)="submit()" data-testid="login-form" novalidate>
          <mat-form-field>
            <mat-label>Email</mat-label>
            <input matInput type="email" formControlName="email" autocomplete="username" required data-testid="login-email" />
            @if (form.controls.email.touched && form.controls.email.invalid) {<mat-error>Enter your email address.</mat-error>}
          </mat-form-field>
          <mat-form-field>
            <mat-label>Password</mat-label>
            <input matInput type="password" formControlName="password" autocomplete="current-password" required data-testid="login-password" />
            @if (form.controls.password.touched && form.controls.password.invalid) {<mat-error>Enter your password.</mat-error>}
          </mat-form-field>
          @if (busy()) {<mat-progress-bar mode="indeterminate" aria-label="Logging in" />}
          <div class="actions">
            <a routerLink="/signup" data-testid="go-signup">Create an account</a>
            <a routerLink="/forgot-password" data-testid="go-forgot">Forgot your password?</a>
            <button mat-flat-button type="submit" [disabled]="busy()" data-testid="login-submit">Log in</button>
          </div>
        </form>
        }
      </mat-card-content>
    </mat-card>`,
})
export class LoginPage {
  private readonly auth = inject(AuthService);
  private readonly router = inject(Router);
  readonly returnUrl = input<string>();
  readonly expired = input<string>();
  readonly loggedOut = input<string>();
  readonly busy = signal(false);
  readonly error = signal<string | null>(null);
  readonly challenge = signal<TwoFactorChallengeView | null>(null);
  readonly code = new FormControl('', { nonNullable: true, validators: [Validators.required] });
  readonly form = inject(FormBuilder).nonNullable.group({
    email: ['', [Validators.required, Validators.email]],
    password: ['', Validators.required],
  });

  async submit(): Promise<void> {
    this.form.markAllAsTouched();
    if (this.form.invalid || this.busy()) return;
    this.busy.set(true);
    this.error.set(null);
    try {
      const { email, password } = this.form.getRawValue();
      const r = await this.auth.login(email.trim(), password);
      if ('twoFactorRequired' in r) {
        this.code.reset('');
        this.challenge.set(r);
        return;
      }
      await this.router.navigateByUrl(safeReturnUrl(this.returnUrl()) ?? this.auth.home());
    } catch (e) {
      this.error.set(errorMessage(e));
    } finally {
      this.busy.set(false);
    }
  }

  async submitCode(ch: TwoFactorChallengeView): Promise<void> {
    const code = this.code.value.trim();
    if (!code || this.busy()) return;
    this.busy.set(true);
    this.error.set(null);
    try {
      await this.auth.loginTwoFactor(ch.challengeToken, code);
      await this.router.navigateByUrl(safeReturnUrl(this.returnUrl()) ?? this.auth.home());
    } catch (e) {
      this.error.set(errorMessage(e));
      this.code.reset('');
      // A spent or expired challenge: start again from the password.
      if (/start again/.test(errorMessage(e))) this.challenge.set(null);
    } finally {
      this.busy.set(false);
    }
  }

  cancelCode(): void {
    this.challenge.set(null);
    this.error.set(null);
  }
}
