import { ChangeDetectionStrategy, Component, inject, input, signal } from '@angular/core';
import { FormBuilder, ReactiveFormsModule, Validators } from '@angular/forms';
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
            <button mat-flat-button type="submit" [disabled]="busy()" data-testid="login-submit">Log in</button>
          </div>
        </form>
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
      await this.auth.login(email.trim(), password);
      await this.router.navigateByUrl(safeReturnUrl(this.returnUrl()) ?? this.auth.home());
    } catch (e) {
      this.error.set(errorMessage(e));
    } finally {
      this.busy.set(false);
    }
  }
}
