import { Clipboard } from '@angular/cdk/clipboard';
import { ChangeDetectionStrategy, Component, inject, signal } from '@angular/core';
import { FormsModule, NgForm } from '@angular/forms';
import { MatButtonModule } from '@angular/material/button';
import { MatDialog } from '@angular/material/dialog';
import { MatFormFieldModule } from '@angular/material/form-field';
import { MatInputModule } from '@angular/material/input';
import { MatTableModule } from '@angular/material/table';
import { NAME_MAX_LENGTH, type ApiTokenCreatedView, type ApiTokenView } from '@oblako/contracts';
import { firstValueFrom } from 'rxjs';
import { ApiService } from '../../core/api/api.service';
import { errorMessage } from '../../core/api/api-error';
import { ConfirmDialog, type ConfirmData } from '../../shared/confirm-dialog';
import { ErrorBanner } from '../../shared/error-banner';
import { LoadState } from '../../shared/load-state';
import { formatDateTime } from '../../shared/format';

@Component({
  selector: 'ob-api-tokens',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [FormsModule, MatButtonModule, MatFormFieldModule, MatInputModule, MatTableModule, ErrorBanner, LoadState],
  template: `
    <div class="ob-page" data-testid="api-tokens-page">
      <div class="ob-page-header"><h1>API tokens</h1></div>
      <p class="ob-muted">Tokens act for this team through the API: send <code>Authorization: Bearer &lt;token&gt;</code>.</p>
      <form class="ob-row" #createForm="ngForm" (ngSubmit)="create(createForm)" data-testid="api-token-form">
        <mat-form-field>
          <mat-label>Token name</mat-label>
          <input matInput name="name" [ngModel]="name()" (ngModelChange)="name.set($event)" [maxlength]="nameMax" required placeholder="ci-deploy" data-testid="api-token-name" />
        </mat-form-field>
        <button mat-flat-button type="submit" [disabled]="creating()" data-testid="api-token-create">Create token</button>
      </form>
      <ob-error-banner [message]="formError()" testId="api-token-error" />
      @if (created(); as c) {
        <div class="secret" role="status" data-testid="api-token-created">
          <p><strong>Copy the token "{{ c.name }}" now.</strong> It is shown only this once.</p>
          <code class="ob-mono" data-testid="api-token-secret">{{ c.token }}</code>
          <div class="ob-row">
            <button mat-stroked-button type="button" (click)="copy(c.token)" data-testid="api-token-copy">{{ copied() ? 'Copied' : 'Copy' }}</button>
            <button mat-button type="button" (click)="created.set(null)" data-testid="api-token-dismiss">I have stored it</button>
          </div>
        </div>
      }
      <ob-load-state [loading]="loading()" [error]="error()" [empty]="!loading() && !error() && tokens().length === 0" (retry)="load()">
        <p>No API tokens yet.</p>
      </ob-load-state>
      @if (!loading() && tokens().length) {
        <div class="ob-table-wrap" tabindex="0" role="region" aria-label="API tokens">
          <table mat-table class="ob-cards" [dataSource]="tokens()" data-testid="api-tokens-table">
            <ng-container matColumnDef="name"><th mat-header-cell *matHeaderCellDef scope="col">Name</th><td mat-cell *matCellDef="let t" data-label="Name"><span class="ob-name" [title]="t.name">{{ t.name }}</span></td></ng-container>
            <ng-container matColumnDef="prefix"><th mat-header-cell *matHeaderCellDef scope="col">Starts with</th><td mat-cell *matCellDef="let t" data-label="Starts with" class="ob-mono">{{ t.prefix }}…</td></ng-container>
            <ng-container matColumnDef="createdAt"><th mat-header-cell *matHeaderCellDef scope="col">Created</th><td mat-cell *matCellDef="let t" data-label="Created">{{ fmt(t.createdAt) }}</td></ng-container>
            <ng-container matColumnDef="lastUsedAt"><th mat-header-cell *matHeaderCellDef scope="col">Last used</th><td mat-cell *matCellDef="let t" data-label="Last used">{{ t.lastUsedAt ? fmt(t.lastUsedAt) : 'never' }}</td></ng-container>
            <ng-container matColumnDef="actions"><th mat-header-cell *matHeaderCellDef scope="col"><span class="ob-visually-hidden">Actions</span></th>
              <td mat-cell *matCellDef="let t"><button mat-button type="button" (click)="revoke(t)" data-testid="api-token-revoke" [attr.aria-label]="'Revoke token ' + t.name">Revoke</button></td></ng-container>
            <tr mat-header-row *matHeaderRowDef="columns"></tr>
            <tr mat-row *matRowDef="let t; columns: columns" data-testid="api-token-row" [attr.data-name]="t.name"></tr>
          </table>
        </div>
      }
    </div>`,
  styles: `.secret { padding: 16px; margin: 8px 0 16px; border-radius: 12px; background: var(--mat-sys-tertiary-container); color: var(--mat-sys-on-tertiary-container); }
    .secret code { display: block; padding: 8px; margin: 8px 0; word-break: break-all; background: var(--mat-sys-surface); border-radius: 6px; color: var(--mat-sys-on-surface); }`,
})
export class ApiTokensPage {
  private readonly api = inject(ApiService);
  private readonly dialog = inject(MatDialog);
  private readonly clipboard = inject(Clipboard);
  readonly columns = ['name', 'prefix', 'createdAt', 'lastUsedAt', 'actions'];
  readonly nameMax = NAME_MAX_LENGTH;
  readonly tokens = signal<ApiTokenView[]>([]);
  readonly loading = signal(true);
  readonly error = signal<string | null>(null);
  readonly name = signal('');
  readonly creating = signal(false);
  readonly formError = signal<string | null>(null);
  readonly created = signal<ApiTokenCreatedView | null>(null);
  readonly copied = signal(false);
  fmt = formatDateTime;

  constructor() {
    void this.load();
  }

  async load(): Promise<void> {
    this.loading.set(true);
    this.error.set(null);
    try {
      this.tokens.set((await this.api.apiTokens()).items);
    } catch (e) {
      this.error.set(errorMessage(e));
    } finally {
      this.loading.set(false);
    }
  }

  async create(form?: NgForm): Promise<void> {
    const name = this.name().trim();
    if (!name) {
      this.formError.set('Name the token after what will use it, e.g. "ci-deploy".');
      return;
    }
    this.creating.set(true);
    this.formError.set(null);
    try {
      const created = await this.api.createApiToken(name);
      this.created.set(created);
      this.copied.set(false);
      const { token: _secret, ...view } = created;
      this.tokens.update((list) => [view, ...list]);
      form?.resetForm({ name: '' });
      this.name.set('');
    } catch (e) {
      this.formError.set(errorMessage(e));
    } finally {
      this.creating.set(false);
    }
  }

  copy(token: string): void {
    this.copied.set(this.clipboard.copy(token));
  }

  async revoke(t: ApiTokenView): Promise<void> {
    const data: ConfirmData = { title: `Revoke "${t.name}"?`, message: 'Programs using it are refused from now on.', confirmLabel: 'Revoke', danger: true };
    if (!(await firstValueFrom(this.dialog.open<ConfirmDialog, ConfirmData, boolean>(ConfirmDialog, { data }).afterClosed()))) return;
    try {
      await this.api.revokeApiToken(t.id);
      this.tokens.update((list) => list.filter((x) => x.id !== t.id));
      if (this.created()?.id === t.id) this.created.set(null);
    } catch (e) {
      this.formError.set(errorMessage(e));
    }
  }
}
