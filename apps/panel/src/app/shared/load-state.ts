import { ChangeDetectionStrategy, Component, input, output } from '@angular/core';
import { MatButtonModule } from '@angular/material/button';
import { MatProgressSpinnerModule } from '@angular/material/progress-spinner';

/** The three states every list and page shows the same way: loading, error (with retry), empty. */
@Component({
  selector: 'ob-load-state',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [MatButtonModule, MatProgressSpinnerModule],
  template: `
    @if (loading()) {
      <div class="box" role="status" aria-live="polite" data-testid="loading">
        <mat-spinner diameter="32" aria-hidden="true" /><span>{{ loadingText() }}</span>
      </div>
    } @else if (error()) {
      <div class="box error" role="alert" data-testid="load-error">
        <span>{{ error() }}</span>
        <button mat-stroked-button type="button" (click)="retry.emit()" data-testid="retry">Try again</button>
      </div>
    } @else if (empty()) {
      <div class="box empty" data-testid="empty-state"><ng-content /></div>
    }
  `,
  styles: `
    .box { display: flex; flex-wrap: wrap; align-items: center; justify-content: center; gap: 16px; padding: 40px 16px;
      text-align: center; border: 1px dashed var(--mat-sys-outline-variant); border-radius: 12px; }
    .error { color: var(--mat-sys-on-error-container); background: var(--mat-sys-error-container); border-style: solid; }
    .empty { flex-direction: column; }
  `,
})
export class LoadState {
  readonly loading = input(false);
  readonly error = input<string | null>(null);
  readonly empty = input(false);
  readonly loadingText = input('Loading…');
  readonly retry = output<void>();
}
