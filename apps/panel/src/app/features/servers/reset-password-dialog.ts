import { ChangeDetectionStrategy, Component, computed, inject, signal } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { MatButtonModule } from '@angular/material/button';
import { MAT_DIALOG_DATA, MatDialogModule, MatDialogRef } from '@angular/material/dialog';
import { rootPasswordProblem } from '../../shared/root-password';
import { RootPasswordField } from '../../shared/root-password-field';

export interface ResetPasswordData {
  hostname: string;
}

/** "Reset root password": the new password twice; closes with it, or undefined. */
@Component({
  selector: 'ob-reset-password-dialog',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [FormsModule, MatButtonModule, MatDialogModule, RootPasswordField],
  template: `
    <h2 mat-dialog-title>Reset the root password of {{ data.hostname }}?</h2>
    <form (ngSubmit)="confirm()">
      <mat-dialog-content>
        <p>The new password is set in the running server through its guest agent (qemu-guest-agent); nothing restarts.
          If the server's agent does not answer, the task fails and the old password stays.</p>
        <ob-root-password testId="reset-password" label="New root password" [(password)]="password" [(again)]="again" />
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
  readonly problem = computed(() => rootPasswordProblem(this.password(), this.again()));
  readonly ok = computed(() => !!this.password() && !this.problem());

  confirm(): void {
    if (this.ok()) this.ref.close(this.password());
  }
}
