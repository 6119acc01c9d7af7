import { ChangeDetectionStrategy, Component, computed, input } from '@angular/core';
import { MatProgressBarModule } from '@angular/material/progress-bar';
import { gaugeLevel } from '../features/admin/capacity';
import { percent } from './format';

/** "used of total" as a bar plus words, for capacity and pool usage. */
@Component({
  selector: 'ob-usage-bar',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [MatProgressBarModule],
  template: `
    <div class="usage" [attr.data-testid]="testId()" [attr.data-used]="used()" [attr.data-total]="total()">
      <div class="label"><span>{{ label() }}</span><span class="ob-muted">{{ usedText() }} / {{ totalText() }} ({{ pctText() }}%)</span></div>
      <mat-progress-bar mode="determinate" [value]="pct()" [class]="'level-' + level()"
        [attr.aria-label]="label() + ' used ' + pct() + ' percent'" />
    </div>`,
  styles: `
    .usage { min-width: 160px; }
    .label { display: flex; justify-content: space-between; gap: 8px; font: var(--mat-sys-label-small); margin-bottom: 2px; }
    .level-warn { --mat-progress-bar-active-indicator-color: #b06000; }
    .level-full { --mat-progress-bar-active-indicator-color: var(--mat-sys-error); }
  `,
})
export class UsageBar {
  readonly label = input('');
  readonly used = input.required<number>();
  readonly total = input.required<number>();
  readonly format = input<(n: number) => string>((n) => String(n));
  readonly testId = input('usage-bar');
  /** Words for the total when the number cannot say it (an IPv6 /64). */
  readonly totalLabel = input<string | null>(null);
  readonly pct = computed(() => percent(this.used(), this.total()));
  readonly pctText = computed(() => (this.used() > 0 && this.pct() === 0 ? '<1' : String(this.pct())));
  readonly level = computed(() => gaugeLevel(this.pct()));
  readonly usedText = computed(() => this.format()(this.used()));
  readonly totalText = computed(() => this.totalLabel() ?? this.format()(this.total()));
}
