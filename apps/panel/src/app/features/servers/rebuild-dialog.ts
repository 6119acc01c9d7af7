import { ChangeDetectionStrategy, Component, computed, inject, signal } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { MatButtonModule } from '@angular/material/button';
import { MAT_DIALOG_DATA, MatDialogModule, MatDialogRef } from '@angular/material/dialog';
import { MatFormFieldModule } from '@angular/material/form-field';
import { MatCheckboxModule } from '@angular/material/checkbox';
import { MatInputModule } from '@angular/material/input';
import { MatSelectModule } from '@angular/material/select';
import type { ImageView, SshKeyView } from '@oblako/contracts';
import { rootPasswordProblem } from '../../shared/root-password';
import { RootPasswordField } from '../../shared/root-password-field';

export interface RebuildData {
  hostname: string;
  currentImageId: string;
  images: ImageView[];
  /** The team's SSH keys, and the ones the server has now (checked at first). */
  keys: SshKeyView[];
  currentKeyIds: string[];
  /** Root has a password now (kept unless a new one is typed). */
  passwordSet: boolean;
}

export interface RebuildChoice {
  imageId: string;
  /** A new root password (with its confirmation checked); absent: keep the one the server has, if any. */
  rootPassword?: string;
  /** The keys chosen, when they differ from the server's; absent: keep them. */
  sshKeyIds?: string[];
}

/** Rebuild: choose the image, optionally a new root password, type the host name; closes with the choice, or undefined. */
@Component({
  selector: 'ob-rebuild-dialog',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [FormsModule, MatButtonModule, MatDialogModule, MatCheckboxModule, MatFormFieldModule, MatInputModule, MatSelectModule, RootPasswordField],
  template: `
    <h2 mat-dialog-title>Rebuild {{ data.hostname }}?</h2>
    <form (ngSubmit)="confirm()">
      <mat-dialog-content>
        <p>The disk is wiped and the image installed again: all data on it is lost. The addresses stay.</p>
        <mat-form-field class="ob-full">
          <mat-label>Image</mat-label>
          <mat-select name="image" [ngModel]="imageId()" (ngModelChange)="imageId.set($event)" data-testid="rebuild-image">
            @for (i of data.images; track i.id) {<mat-option [value]="i.id">{{ i.name }}@if (i.id === data.currentImageId) { (current)}</mat-option>}
          </mat-select>
        </mat-form-field>
        <fieldset class="keys" data-testid="rebuild-keys">
          <legend><strong>SSH keys</strong> installed for root</legend>
          @for (k of data.keys; track k.id) {
            <mat-checkbox [checked]="keyIds().includes(k.id)" (change)="toggleKey(k.id, $event.checked)" data-testid="rebuild-key" [attr.data-name]="k.name">
              {{ k.name }} <span class="ob-muted ob-mono fp">{{ k.fingerprint }}</span></mat-checkbox>
          } @empty {<p class="ob-muted" data-testid="rebuild-no-keys">The team has no SSH keys; add one under SSH keys, or give a root password.</p>}
        </fieldset>
        <p class="ob-muted" data-testid="rebuild-password-now">{{ data.passwordSet ? 'Root has a password now: leave the fields empty to keep it, or type a new one.' : 'Root has no password now: type one to set it (optional with an SSH key).' }} It is stored only as a hash.</p>
        <ob-root-password testId="rebuild-root-password" label="New root password" [(password)]="password" [(again)]="again" />
        @if (noLogin()) {<p class="ob-error" role="alert" data-testid="rebuild-no-login">Choose an SSH key or give a root password: otherwise nobody could log in.</p>}
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
  styles: `.keys { border: 0; padding: 0; margin: 0 0 8px; display: flex; flex-direction: column; } .fp { word-break: break-all; font-size: 0.8rem; } .danger { --mat-button-filled-container-color: var(--mat-sys-error); --mat-button-filled-label-text-color: var(--mat-sys-on-error); }`,
})
export class RebuildDialog {
  readonly data = inject<RebuildData>(MAT_DIALOG_DATA);
  private readonly ref = inject<MatDialogRef<RebuildDialog, RebuildChoice>>(MatDialogRef);
  readonly imageId = signal(this.data.currentImageId);
  readonly typed = signal('');
  readonly password = signal('');
  readonly again = signal('');
  readonly passwordProblem = computed(() => rootPasswordProblem(this.password(), this.again()));
  /** Only keys the team still has start checked (a key deleted since is gone). */
  readonly keyIds = signal(this.data.currentKeyIds.filter((id) => this.data.keys.some((k) => k.id === id)));
  readonly keysChanged = computed(() => [...this.keyIds()].sort().join(',') !== [...this.data.currentKeyIds].sort().join(','));
  readonly noLogin = computed(() => this.keyIds().length === 0 && !this.data.passwordSet && !this.password());
  readonly ok = computed(() => this.typed().trim() === this.data.hostname && !!this.imageId() && !this.passwordProblem() && !this.noLogin());

  toggleKey(id: string, on: boolean): void {
    this.keyIds.update((ids) => (on ? [...ids.filter((x) => x !== id), id] : ids.filter((x) => x !== id)));
  }

  confirm(): void {
    if (!this.ok()) return;
    this.ref.close({ imageId: this.imageId(), ...(this.password() ? { rootPassword: this.password() } : {}), ...(this.keysChanged() ? { sshKeyIds: this.keyIds() } : {}) });
  }
}
