import { ChangeDetectionStrategy, Component, computed, inject, signal } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { MatButtonModule } from '@angular/material/button';
import { MAT_DIALOG_DATA, MatDialogModule, MatDialogRef } from '@angular/material/dialog';
import { MatFormFieldModule } from '@angular/material/form-field';
import { MatInputModule } from '@angular/material/input';
import { rootPasswordProblem } from '../../shared/root-password';

export interface ResetPasswordData {
  hostname: string;
}

/** "Reset root password": the new password twice; closes with it, or undefined. */
@Component({
  selector: 'ob-reset-password-dialog',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [FormsModule, MatButtonModule, MatDialogModule, MatFormFieldModule, MatInputModule],
  template: `
    <h2 mat-dialog-title>Reset the root password of {{ data.hostname }}?</h2>
    <form (ngSubmit)="confirm()">
      <mat-dialog-content>
        <p>The new password is set in the running server through its guest agent (qemu-guest-agent); nothing restarts.
          If the server's agent does not answer, the task fails and the old password stays.</p>
        <mat-form-field class="ob-full">
          <mat-label>New root password</mat-label>
          <input matInput type="password" name="rootPassword" autocomplete="new-password" [ngModel]="password()" (ngModelChange)="password.set($event)" data-testid="reset-password-input" />
        </mat-form-field>
        <mat-form-field class="ob-full">
          <mat-label>New root password again</mat-label>
          <input matInput type="password" name="rootPasswordAgain" autocomplete="new-password" [ngModel]="again()" (ngModelChange)="again.set($event)" data-testid="reset-password-again" />
        </mat-form-field>
        @if (problem(); as p) {<p class="ob-error" role="alert" data-testid="reset-password-problem">{{ p }}</p>}
      </mat-dialog-content>
      <mat-dialog-actions align="end">
        <button mat-button type="button" mat-dialog-close data-testid="confirm-cancel">Cancel</button>
        <button mat-flat-button type="submit" [disabled]="!ok()" data-testid="confirm-submit">Reset password</button>
      </mat-dialog-actions>
    </form>`,
})
export class ResetPasswordDialog {
  readonly data = inject<ResetPasswordData>(MAT_DIALOG_DATA);
  private readonly ref = inject<MatDialogRef<ResetPasswordDialog, string>>(MatDialogRef);
  readonly password = signal('');
  readonly again = signal('');
  readonly problem = computed(() => (this.password() || this.again() ? rootPasswordProblem(this.password(), this.again()) : null));
  readonly ok = computed(() => !!this.password() && !this.problem());

  confirm(): void {
    if (this.ok()) this.ref.close(this.password());
  }
}
