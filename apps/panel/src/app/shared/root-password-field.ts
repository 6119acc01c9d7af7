import { ChangeDetectionStrategy, Component, computed, input, model, OnDestroy, signal } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { MatButtonModule } from '@angular/material/button';
import { MatFormFieldModule } from '@angular/material/form-field';
import { MatInputModule } from '@angular/material/input';
import { generateRootPassword, ROOT_PASSWORD_MAX, ROOT_PASSWORD_MIN, rootPasswordProblem, rootPasswordStrength } from './root-password';

/**
 * The one root-password field of the panel (order, rebuild, reset): the password and its confirmation, show/hide,
 * "Generate" (the browser's CSPRNG; shown once so it can be copied), the API's length rule and a strength hint.
 * The parent holds both values (`[(password)]`, `[(again)]`) and checks them with `rootPasswordProblem`; nothing is
 * logged or stored: the values live in the parent's signals and are cleared when this field goes away.
 */
@Component({
  selector: 'ob-root-password',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [FormsModule, MatButtonModule, MatFormFieldModule, MatInputModule],
  template: `
    <div class="fields" [attr.data-testid]="testId()">
      <mat-form-field class="ob-full">
        <mat-label>{{ label() }}</mat-label>
        <input matInput [type]="shown() ? 'text' : 'password'" [name]="testId() + '-password'" autocomplete="new-password" spellcheck="false"
          [attr.maxlength]="max" [ngModel]="password()" (ngModelChange)="password.set($event)" [attr.data-testid]="testId() + '-input'"
          [attr.aria-describedby]="testId() + '-rule'" />
      </mat-form-field>
      <mat-form-field class="ob-full">
        <mat-label>{{ label() }} again</mat-label>
        <input matInput [type]="shown() ? 'text' : 'password'" [name]="testId() + '-again'" autocomplete="new-password" spellcheck="false"
          [attr.maxlength]="max" [ngModel]="again()" (ngModelChange)="again.set($event)" [attr.data-testid]="testId() + '-again'" />
      </mat-form-field>
      <p class="ob-muted rule" [id]="testId() + '-rule'">{{ min }} to {{ max }} characters, no tabs or new lines.</p>
      <div class="row">
        <button mat-stroked-button type="button" (click)="shown.set(!shown())" [attr.aria-pressed]="shown()" [attr.data-testid]="testId() + '-show'">
          {{ shown() ? 'Hide' : 'Show' }}</button>
        <button mat-stroked-button type="button" (click)="generate()" [attr.data-testid]="testId() + '-generate'">Generate</button>
        @if (strength(); as s) {
          <span class="strength" [class]="'strength ' + s" [attr.data-testid]="testId() + '-strength'" aria-live="polite">Strength: {{ s }}</span>
        }
      </div>
      @if (generated()) {<p class="ob-muted" [attr.data-testid]="testId() + '-generated'">Generated and shown: copy it now. Only its hash is kept, so it cannot be shown again later.</p>}
      @if (problem(); as p) {<p class="ob-error" role="alert" [attr.data-testid]="testId() + '-problem'">{{ p }}</p>}
    </div>`,
  styles: `.fields mat-form-field { display: block; margin-bottom: 12px; } .rule { margin: 0 0 8px; font-size: 0.875rem; } .row { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; margin: 0 0 8px; }
    .strength { font-size: 0.875rem; padding: 2px 8px; border-radius: 8px; }
    .strength.weak { background: var(--mat-sys-error-container); color: var(--mat-sys-on-error-container); }
    .strength.fair { background: var(--mat-sys-surface-container-highest); }
    .strength.strong { background: var(--mat-sys-primary-container); color: var(--mat-sys-on-primary-container); }`,
})
export class RootPasswordField implements OnDestroy {
  readonly password = model('');
  readonly again = model('');
  readonly label = input('Root password');
  /** Prefix of every data-testid and input name inside (browser tests find the fields by it). */
  readonly testId = input('root-password');
  readonly min = ROOT_PASSWORD_MIN;
  readonly max = ROOT_PASSWORD_MAX;
  readonly shown = signal(false);
  readonly generated = signal(false);
  readonly strength = computed(() => rootPasswordStrength(this.password()));
  readonly problem = computed(() => rootPasswordProblem(this.password(), this.again()));

  generate(): void {
    const p = generateRootPassword();
    this.password.set(p);
    this.again.set(p);
    this.shown.set(true);
    this.generated.set(true);
  }

  ngOnDestroy(): void {
    this.password.set('');
    this.again.set('');
  }
}
