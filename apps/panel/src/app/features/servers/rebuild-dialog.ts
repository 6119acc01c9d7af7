import { ChangeDetectionStrategy, Component, computed, inject, signal } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { MatButtonModule } from '@angular/material/button';
import { MAT_DIALOG_DATA, MatDialogModule, MatDialogRef } from '@angular/material/dialog';
import { MatFormFieldModule } from '@angular/material/form-field';
import { MatInputModule } from '@angular/material/input';
import { MatSelectModule } from '@angular/material/select';
import type { ImageView } from '@oblako/contracts';
import { rootPasswordProblem } from '../../shared/root-password';
import { RootPasswordField } from '../../shared/root-password-field';

export interface RebuildData {
  hostname: string;
  currentImageId: string;
  images: ImageView[];
}

export interface RebuildChoice {
  imageId: string;
  /** A new root password (with its confirmation checked); absent: keep the one the server has, if any. */
  rootPassword?: string;
}

/** Rebuild: choose the image, optionally a new root password, type the host name; closes with the choice, or undefined. */
@Component({
  selector: 'ob-rebuild-dialog',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [FormsModule, MatButtonModule, MatDialogModule, MatFormFieldModule, MatInputModule, MatSelectModule, RootPasswordField],
  template: `
    <h2 mat-dialog-title>Rebuild {{ data.hostname }}?</h2>
    <form (ngSubmit)="confirm()">
      <mat-dialog-content>
        <p>The disk is wiped and the image installed again: all data on it is lost. Addresses and SSH keys stay.</p>
        <mat-form-field class="ob-full">
          <mat-label>Image</mat-label>
          <mat-select name="image" [ngModel]="imageId()" (ngModelChange)="imageId.set($event)" data-testid="rebuild-image">
            @for (i of data.images; track i.id) {<mat-option [value]="i.id">{{ i.name }}@if (i.id === data.currentImageId) { (current)}</mat-option>}
          </mat-select>
        </mat-form-field>
        <p class="ob-muted">New root password (optional; empty keeps the current one). It is stored only as a hash.</p>
        <ob-root-password testId="rebuild-root-password" label="New root password" [(password)]="password" [(again)]="again" />
        <p>Type <strong class="ob-mono">{{ data.hostname }}</strong> to confirm.</p>
        <mat-form-field class="ob-full">
          <mat-label>Confirmation</mat-label>
          <input matInput name="typed" [ngModel]="typed()" (ngModelChange)="typed.set($event)" autocomplete="off" spellcheck="false" data-testid="confirm-input" />
        </mat-form-field>
      </mat-dialog-content>
      <mat-dialog-actions align="end">
        <button mat-button type="button" mat-dialog-close data-testid="confirm-cancel">Cancel</button>
        <button mat-flat-button type="submit" class="danger" [disabled]="!ok()" data-testid="confirm-submit">Rebuild</button>
      </mat-dialog-actions>
    </form>`,
  styles: `.danger { --mat-button-filled-container-color: var(--mat-sys-error); --mat-button-filled-label-text-color: var(--mat-sys-on-error); }`,
})
export class RebuildDialog {
  readonly data = inject<RebuildData>(MAT_DIALOG_DATA);
  private readonly ref = inject<MatDialogRef<RebuildDialog, RebuildChoice>>(MatDialogRef);
  readonly imageId = signal(this.data.currentImageId);
  readonly typed = signal('');
  readonly password = signal('');
  readonly again = signal('');
  readonly passwordProblem = computed(() => rootPasswordProblem(this.password(), this.again()));
  readonly ok = computed(() => this.typed().trim() === this.data.hostname && !!this.imageId() && !this.passwordProblem());

  confirm(): void {
    if (this.ok()) this.ref.close({ imageId: this.imageId(), ...(this.password() ? { rootPassword: this.password() } : {}) });
  }
}
