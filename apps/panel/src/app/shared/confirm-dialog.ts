import { ChangeDetectionStrategy, Component, computed, inject, signal } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { MatButtonModule } from '@angular/material/button';
import { MAT_DIALOG_DATA, MatDialog, MatDialogModule, MatDialogRef } from '@angular/material/dialog';
import { firstValueFrom } from 'rxjs';
import { MatFormFieldModule } from '@angular/material/form-field';
import { MatInputModule } from '@angular/material/input';

export interface ConfirmData {
  title: string;
  message: string;
  confirmLabel: string;
  /** When set, the person must type exactly this to confirm (delete). */
  typeToConfirm?: string;
  /** When set, a reason must be given; the dialog then closes with it (a string). */
  reasonLabel?: string;
  danger?: boolean;
}

/** Confirmation for power actions; typed confirmation for destructive ones. Resolves true when confirmed. */
@Component({
  selector: 'ob-confirm-dialog',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [FormsModule, MatButtonModule, MatDialogModule, MatFormFieldModule, MatInputModule],
  template: `
    <h2 mat-dialog-title>{{ data.title }}</h2>
    <form (ngSubmit)="confirm()">
      <mat-dialog-content>
        <p>{{ data.message }}</p>
        @if (data.typeToConfirm) {
          <p>Type <strong class="ob-mono">{{ data.typeToConfirm }}</strong> to confirm.</p>
          <mat-form-field class="ob-full">
            <mat-label>Confirmation</mat-label>
            <input matInput name="typed" [ngModel]="typed()" (ngModelChange)="typed.set($event)" autocomplete="off"
              spellcheck="false" cdkFocusInitial data-testid="confirm-input" />
          </mat-form-field>
        }
        @if (data.reasonLabel) {
          <mat-form-field class="ob-full">
            <mat-label>{{ data.reasonLabel }}</mat-label>
            <input matInput name="reason" [ngModel]="reason()" (ngModelChange)="reason.set($event)" maxlength="500" required data-testid="confirm-reason" />
            <mat-hint>At least 3 characters; it goes to the audit log.</mat-hint>
          </mat-form-field>
        }
      </mat-dialog-content>
      <mat-dialog-actions align="end">
        <button mat-button type="button" mat-dialog-close data-testid="confirm-cancel">Cancel</button>
        <button mat-flat-button type="submit" [disabled]="!ok()" [class.danger]="data.danger" data-testid="confirm-submit">
          {{ data.confirmLabel }}
        </button>
      </mat-dialog-actions>
    </form>`,
  styles: `.danger { --mat-button-filled-container-color: var(--mat-sys-error); --mat-button-filled-label-text-color: var(--mat-sys-on-error); }`,
})
export class ConfirmDialog {
  readonly data = inject<ConfirmData>(MAT_DIALOG_DATA);
  private readonly ref = inject<MatDialogRef<ConfirmDialog, boolean | string>>(MatDialogRef);
  readonly typed = signal('');
  readonly reason = signal('');
  readonly ok = computed(
    () => (!this.data.typeToConfirm || this.typed().trim() === this.data.typeToConfirm) && (!this.data.reasonLabel || this.reason().trim().length >= 3),
  );

  confirm(): void {
    if (this.ok()) this.ref.close(this.data.reasonLabel ? this.reason().trim() : true);
  }
}

/** Ask for confirmation with a reason (staff actions); resolves the reason, or null when cancelled. */
export async function askReason(dialog: MatDialog, data: Omit<ConfirmData, 'reasonLabel'> & { reasonLabel?: string }): Promise<string | null> {
  const ref = dialog.open<ConfirmDialog, ConfirmData, boolean | string>(ConfirmDialog, { data: { reasonLabel: 'Reason', ...data }, width: '460px', maxWidth: '95vw' });
  const r = await firstValueFrom(ref.afterClosed());
  return typeof r === 'string' ? r : null;
}

/** Ask for a plain confirmation; resolves true when confirmed. */
export async function askConfirm(dialog: MatDialog, data: ConfirmData): Promise<boolean> {
  const ref = dialog.open<ConfirmDialog, ConfirmData, boolean | string>(ConfirmDialog, { data, width: '440px', maxWidth: '95vw', autoFocus: data.typeToConfirm ? 'first-tabbable' : 'dialog' });
  return (await firstValueFrom(ref.afterClosed())) === true;
}
