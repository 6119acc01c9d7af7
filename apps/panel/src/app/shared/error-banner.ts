import { ChangeDetectionStrategy, Component, input } from '@angular/core';

/** The API's message where an action failed, announced to screen readers. */
@Component({
  selector: 'ob-error-banner',
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `@if (message()) {<div class="banner" role="alert" [attr.data-testid]="testId()">{{ message() }}</div>}`,
  styles: `.banner { padding: 12px 16px; border-radius: 8px; margin: 8px 0 16px; background: var(--mat-sys-error-container);
    color: var(--mat-sys-on-error-container); white-space: pre-line; }`,
})
export class ErrorBanner {
  readonly message = input<string | null>(null);
  readonly testId = input('error-banner');
}
