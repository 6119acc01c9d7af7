import { ChangeDetectionStrategy, Component, computed, inject, signal } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { MatButtonModule } from '@angular/material/button';
import { MAT_DIALOG_DATA, MatDialogModule, MatDialogRef } from '@angular/material/dialog';
import { MatRadioModule } from '@angular/material/radio';
import type { PlanView } from '@oblako/contracts';
import type { ResizeChoice } from '../../core/api/api.service';
import { formatGiB, formatMiB, formatPlanPrice } from '../../shared/format';

export interface ResizeData {
  hostname: string;
  running: boolean;
  current: PlanView;
  choices: ResizeChoice[];
}

/** Resize: the plans the server may move to (the others disabled, with the API's reason), then a confirmation; closes with the plan id, or undefined. */
@Component({
  selector: 'ob-resize-dialog',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [FormsModule, MatButtonModule, MatDialogModule, MatRadioModule],
  template: `
    <h2 mat-dialog-title>Resize {{ data.hostname }}</h2>
    <form (ngSubmit)="confirm()">
      <mat-dialog-content>
        <p>Now: <strong>{{ data.current.name }}</strong> · {{ spec(data.current) }}</p>
        <mat-radio-group name="plan" [ngModel]="planId()" (ngModelChange)="planId.set($event)" class="choices" aria-label="Plan" data-testid="resize-plans">
          @for (c of data.choices; track c.plan.id) {
            <mat-radio-button [value]="c.plan.id" [disabled]="!c.allowed" [attr.data-testid]="'resize-plan-' + c.plan.name">
              <span>{{ c.plan.name }} · {{ spec(c.plan) }} · {{ price(c.plan) }}</span>
              @if (c.reason) {<span class="ob-muted reason" [attr.data-testid]="'resize-why-' + c.plan.name"> — {{ c.reason }}</span>}
            </mat-radio-button>
          }
        </mat-radio-group>
        @if (chosen(); as p) {
          <p data-testid="resize-summary">
            {{ data.running ? 'The server shuts down, takes the new size and starts again (a minute or so).' : 'The server takes the new size; it stays stopped.' }}
            The disk grows to {{ formatGiB(p.diskGiB) }} and cannot shrink back. The price becomes {{ price(p) }}{{ billingNote }}.
          </p>
        }
      </mat-dialog-content>
      <mat-dialog-actions align="end">
        <button mat-button type="button" mat-dialog-close data-testid="confirm-cancel">Cancel</button>
        <button mat-flat-button type="submit" [disabled]="!chosen()" data-testid="confirm-submit">Resize</button>
      </mat-dialog-actions>
    </form>`,
  styles: `.choices { display: flex; flex-direction: column; gap: 4px; margin: 8px 0; } .reason { font-size: 0.9em; }`,
})
export class ResizeDialog {
  readonly data = inject<ResizeData>(MAT_DIALOG_DATA);
  private readonly ref = inject<MatDialogRef<ResizeDialog, string>>(MatDialogRef);
  readonly planId = signal<string>(this.data.choices.find((c) => c.allowed)?.plan.id ?? '');
  readonly chosen = computed(() => this.data.choices.find((c) => c.allowed && c.plan.id === this.planId())?.plan ?? null);
  readonly billingNote = ' (with billing on, a monthly plan prorates the rest of this month)';
  formatGiB = formatGiB;

  spec(p: PlanView): string {
    return `${p.vcpus} vCPU, ${formatMiB(p.memoryMiB)}, ${formatGiB(p.diskGiB)}`;
  }
  price(p: PlanView): string {
    return formatPlanPrice(p);
  }
  confirm(): void {
    const p = this.chosen();
    if (p) this.ref.close(p.id);
  }
}
