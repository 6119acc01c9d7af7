import { ChangeDetectionStrategy, Component, inject, signal } from '@angular/core';
import { FormBuilder, ReactiveFormsModule, Validators } from '@angular/forms';
import { Router, RouterLink } from '@angular/router';
import { MatButtonModule } from '@angular/material/button';
import { MatCardModule } from '@angular/material/card';
import { MatFormFieldModule } from '@angular/material/form-field';
import { MatInputModule } from '@angular/material/input';
import { MatProgressBarModule } from '@angular/material/progress-bar';
import { NAME_MAX_LENGTH, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '@oblako/contracts';
import { errorMessage } from '../../core/api/api-error';
import { AuthService } from '../../core/auth/auth.service';
import { ErrorBanner } from '../../shared/error-banner';

@Component({
  selector: 'ob-signup',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [ReactiveFormsModule, RouterLink, MatButtonModule, MatCardModule, MatFormFieldModule, MatInputModule, MatProgressBarModule, ErrorBanner],
  styleUrl: './auth-card.scss',
  template: `
    <mat-card class="card" appearance="outlined">
      <mat-card-content>
        <div class="brand"><svg viewBox="0 0 32 32" width="32" height="32" aria-hidden="true"><path fill="currentColor" d="M9 25a7 7 0 0 1-.6-14A9 9 0 0 1 26 12.5 6.3 6.3 0 0 1 24.5 25z"/></svg>Oblako</div>
        <h1>Create your account</h1>
        <ob-error-banner [message]="error()" testId="signup-error" />
        <form [formGroup]="form" (ngSubmit)="submit()" data-testid="signup-form" novalidate>
          <mat-form-field>
            <mat-label>Team or company name</mat-label>
            <input matInput formControlName="tenantName" autocomplete="organization" required data-testid="signup-tenant" />
            @if (form.controls.tenantName.touched && form.controls.tenantName.invalid) {<mat-error>Enter a name (at most {{ nameMax }} characters).</mat-error>}
          </mat-form-field>
          <mat-form-field>
            <mat-label>Email</mat-label>
            <input matInput type="email" formControlName="email" autocomplete="email" required data-testid="signup-email" />
            @if (form.controls.email.touched && form.controls.email.invalid) {<mat-error>Enter a valid email address.</mat-error>}
          </mat-form-field>
          <mat-form-field>
            <mat-label>Password</mat-label>
            <input matInput type="password" formControlName="password" autocomplete="new-password" required data-testid="signup-password" />
            <mat-hint>At least {{ passwordMin }} characters.</mat-hint>
            @if (form.controls.password.touched && form.controls.password.invalid) {
              <mat-error>Use {{ passwordMin }} to {{ passwordMax }} characters.</mat-error>
            }
          </mat-form-field>
          @if (busy()) {<mat-progress-bar mode="indeterminate" aria-label="Creating the account" />}
          <div class="actions">
            <a routerLink="/login" data-testid="go-login">I have an account</a>
            <button mat-flat-button type="submit" [disabled]="busy()" data-testid="signup-submit">Sign up</button>
          </div>
        </form>
      </mat-card-content>
    </mat-card>`,
})
export class SignupPage {
  private readonly auth = inject(AuthService);
  private readonly router = inject(Router);
  readonly passwordMin = PASSWORD_MIN_LENGTH;
  readonly passwordMax = PASSWORD_MAX_LENGTH;
  readonly nameMax = NAME_MAX_LENGTH;
  readonly busy = signal(false);
  readonly error = signal<string | null>(null);
  readonly form = inject(FormBuilder).nonNullable.group({
    // A name of spaces only is no name: refused here with the form's words, not the API's.
    tenantName: ['', [Validators.required, Validators.maxLength(NAME_MAX_LENGTH), Validators.pattern(/\S/)]],
    email: ['', [Validators.required, Validators.email]],
    password: ['', [Validators.required, Validators.minLength(PASSWORD_MIN_LENGTH), Validators.maxLength(PASSWORD_MAX_LENGTH)]],
  });

  async submit(): Promise<void> {
    this.form.markAllAsTouched();
    if (this.form.invalid || this.busy()) return;
    this.busy.set(true);
    this.error.set(null);
    try {
      const v = this.form.getRawValue();
      await this.auth.register({ tenantName: v.tenantName.trim(), email: v.email.trim(), password: v.password });
      await this.router.navigateByUrl(this.auth.home());
    } catch (e) {
      this.error.set(errorMessage(e));
    } finally {
      this.busy.set(false);
    }
  }
}
