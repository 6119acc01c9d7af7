import { ChangeDetectionStrategy, Component, computed, inject, signal } from '@angular/core';
import { FormsModule, NgForm } from '@angular/forms';
import { MatButtonModule } from '@angular/material/button';
import { MatDialog } from '@angular/material/dialog';
import { MatFormFieldModule } from '@angular/material/form-field';
import { MatInputModule } from '@angular/material/input';
import { MatTableModule } from '@angular/material/table';
import { NAME_MAX_LENGTH, Permission, SSH_KEY_MAX_LENGTH, type SshKeyView } from '@oblako/contracts';
import { firstValueFrom } from 'rxjs';
import { ApiService } from '../../core/api/api.service';
import { errorMessage } from '../../core/api/api-error';
import { AuthService } from '../../core/auth/auth.service';
import { ConfirmDialog, type ConfirmData } from '../../shared/confirm-dialog';
import { ErrorBanner } from '../../shared/error-banner';
import { LoadState } from '../../shared/load-state';
import { formatDateTime } from '../../shared/format';

@Component({
  selector: 'ob-ssh-keys',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [FormsModule, MatButtonModule, MatFormFieldModule, MatInputModule, MatTableModule, ErrorBanner, LoadState],
  template: `
    <div class="ob-page" data-testid="ssh-keys-page">
      <div class="ob-page-header"><h1>SSH keys</h1></div>
      @if (canWrite()) {
        <form class="add" #addForm="ngForm" (ngSubmit)="add(addForm)" data-testid="ssh-key-form">
          <mat-form-field>
            <mat-label>Name</mat-label>
            <input matInput name="name" [ngModel]="name()" (ngModelChange)="name.set($event)" [maxlength]="nameMax" required data-testid="ssh-key-name" />
          </mat-form-field>
          <mat-form-field class="key">
            <mat-label>Public key</mat-label>
            <textarea matInput name="publicKey" rows="3" [ngModel]="publicKey()" (ngModelChange)="publicKey.set($event)" [maxlength]="keyMax"
              spellcheck="false" required placeholder="ssh-ed25519 AAAA… you@laptop" data-testid="ssh-key-value"></textarea>
            <mat-hint>One line from your ~/.ssh/id_ed25519.pub (ed25519, RSA 2048+ or ECDSA).</mat-hint>
          </mat-form-field>
          <div><button mat-flat-button type="submit" [disabled]="adding()" data-testid="ssh-key-add">Add key</button></div>
        </form>
        <ob-error-banner [message]="formError()" testId="ssh-key-error" />
      }
      <ob-load-state [loading]="loading()" [error]="error()" [empty]="!loading() && !error() && keys().length === 0" (retry)="load()">
        <p>No SSH keys yet. Keys you add here can be installed on new servers.</p>
      </ob-load-state>
      @if (!loading() && keys().length) {
        <div class="ob-table-wrap" tabindex="0" role="region" aria-label="SSH keys">
          <table mat-table class="ob-cards" [dataSource]="keys()" data-testid="ssh-keys-table">
            <ng-container matColumnDef="name"><th mat-header-cell *matHeaderCellDef scope="col">Name</th><td mat-cell *matCellDef="let k" data-label="Name"><span class="ob-name" [title]="k.name">{{ k.name }}</span></td></ng-container>
            <ng-container matColumnDef="fingerprint"><th mat-header-cell *matHeaderCellDef scope="col">Fingerprint</th><td mat-cell *matCellDef="let k" data-label="Fingerprint" class="ob-mono ob-wrap fp">{{ k.fingerprint }}</td></ng-container>
            <ng-container matColumnDef="createdAt"><th mat-header-cell *matHeaderCellDef scope="col">Added</th><td mat-cell *matCellDef="let k" data-label="Added">{{ fmt(k.createdAt) }}</td></ng-container>
            <ng-container matColumnDef="actions"><th mat-header-cell *matHeaderCellDef scope="col"><span class="ob-visually-hidden">Actions</span></th>
              <td mat-cell *matCellDef="let k">@if (canWrite()) {<button mat-button type="button" (click)="remove(k)" data-testid="ssh-key-delete" [attr.aria-label]="'Delete key ' + k.name">Delete</button>}</td></ng-container>
            <tr mat-header-row *matHeaderRowDef="columns"></tr>
            <tr mat-row *matRowDef="let k; columns: columns" data-testid="ssh-key-row" [attr.data-name]="k.name"></tr>
          </table>
        </div>
      }
    </div>`,
  styles: `.fp { max-width: 34ch; } .add { display: grid; grid-template-columns: minmax(160px, 240px) 1fr; gap: 12px; align-items: start; margin-bottom: 8px; }
    .add > div { grid-column: 1 / -1; }
    @media (max-width: 700px) { .add { grid-template-columns: 1fr; } }`,
})
export class SshKeysPage {
  private readonly api = inject(ApiService);
  private readonly auth = inject(AuthService);
  private readonly dialog = inject(MatDialog);
  readonly columns = ['name', 'fingerprint', 'createdAt', 'actions'];
  readonly nameMax = NAME_MAX_LENGTH;
  readonly keyMax = SSH_KEY_MAX_LENGTH;
  readonly keys = signal<SshKeyView[]>([]);
  readonly loading = signal(true);
  readonly error = signal<string | null>(null);
  readonly name = signal('');
  readonly publicKey = signal('');
  readonly adding = signal(false);
  readonly formError = signal<string | null>(null);
  readonly canWrite = computed(() => this.auth.permissions().has(Permission.SshKeysWrite));
  fmt = formatDateTime;

  constructor() {
    void this.load();
  }

  async load(): Promise<void> {
    this.loading.set(true);
    this.error.set(null);
    try {
      this.keys.set((await this.api.sshKeys()).items);
    } catch (e) {
      this.error.set(errorMessage(e));
    } finally {
      this.loading.set(false);
    }
  }

  async add(form?: NgForm): Promise<void> {
    const name = this.name().trim();
    const publicKey = this.publicKey().trim();
    if (!name || !publicKey) {
      this.formError.set('Give the key a name and paste its public half.');
      return;
    }
    this.adding.set(true);
    this.formError.set(null);
    try {
      const key = await this.api.addSshKey(name, publicKey);
      this.keys.update((k) => [...k, key]);
      // A fresh form: not the red of an empty required field just after a successful add.
      form?.resetForm({ name: '', publicKey: '' });
      this.name.set('');
      this.publicKey.set('');
    } catch (e) {
      this.formError.set(errorMessage(e));
    } finally {
      this.adding.set(false);
    }
  }

  async remove(k: SshKeyView): Promise<void> {
    const data: ConfirmData = { title: `Delete the key "${k.name}"?`, message: 'Servers that already have it keep it; new servers will not get it.', confirmLabel: 'Delete', danger: true };
    if (!(await firstValueFrom(this.dialog.open<ConfirmDialog, ConfirmData, boolean>(ConfirmDialog, { data }).afterClosed()))) return;
    try {
      await this.api.deleteSshKey(k.id);
      this.keys.update((list) => list.filter((x) => x.id !== k.id));
    } catch (e) {
      this.formError.set(errorMessage(e));
    }
  }
}
