import { ChangeDetectionStrategy, Component, DestroyRef, computed, inject, signal } from '@angular/core';
import { Router } from '@angular/router';
import { MatButtonModule } from '@angular/material/button';
import { MatDialog } from '@angular/material/dialog';
import { MatTooltipModule } from '@angular/material/tooltip';
import { Permission, type TenantBackupView } from '@oblako/contracts';
import { ApiService } from '../../core/api/api.service';
import { errorMessage } from '../../core/api/api-error';
import { AuthService } from '../../core/auth/auth.service';
import { askConfirm } from '../../shared/confirm-dialog';
import { ErrorBanner } from '../../shared/error-banner';
import { LoadState } from '../../shared/load-state';
import { StateChip } from '../../shared/state-chip';
import { formatBytes, formatDateTime } from '../../shared/format';
import { restoreIntoNewServer } from './restore-new-dialog';

/**
 * Backups of the team's deleted servers, kept for the provider's grace days (issue 12): which server, when, until
 * when; restore one into a new server, or delete it.
 */
@Component({
  selector: 'ob-deleted-server-backups',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [MatButtonModule, MatTooltipModule, ErrorBanner, LoadState, StateChip],
  template: `
    <div class="ob-page" data-testid="deleted-backups-page">
      <div class="ob-page-header"><h1 tabindex="-1">Backups of deleted servers</h1></div>
      <p class="ob-muted">A deleted server's backups are kept for a while, then removed for good. Until then you can restore one into a new server
        (new addresses, a plan whose disk holds the backup).</p>
      <ob-error-banner [message]="actionError()" testId="deleted-backups-error" />
      <ob-load-state [loading]="loading()" [error]="error()" [empty]="!loading() && !error() && items().length === 0" (retry)="load()">
        <p data-testid="deleted-backups-empty">No backups of deleted servers. Backups of your servers are on each server's page.</p>
      </ob-load-state>
      @if (!loading() && items().length) {
        <div class="ob-table-wrap" tabindex="0" role="region" aria-label="Backups of deleted servers">
          <table class="ob-simple-table" data-testid="deleted-backups-table">
            <thead><tr><th scope="col">Server</th><th scope="col">Backed up</th><th scope="col">Size</th><th scope="col">State</th><th scope="col">Kept until</th><th scope="col"><span class="ob-visually-hidden">Actions</span></th></tr></thead>
            <tbody>
              @for (b of items(); track b.id) {
                <tr data-testid="deleted-backup-row" [attr.data-id]="b.id" [attr.data-server]="b.serverName" [attr.data-state]="b.state">
                  <td><strong class="ob-name">{{ b.serverName }}</strong></td>
                  <td>{{ fmt(b.createdAt) }}</td>
                  <td class="nowrap">{{ b.state === 'ready' ? bytes(b.sizeBytes) : '—' }}</td>
                  <td><ob-state-chip [state]="b.state" />@if (b.error) {<div class="bad">{{ b.error }}</div>}</td>
                  <td data-testid="deleted-backup-expires">{{ fmt(b.graceExpiresAt) }}</td>
                  <td><div class="row-actions">
                    @if (canWrite()) {
                      @let why = b.state === 'ready' ? '' : 'Only a finished backup can be restored.';
                      <span [matTooltip]="why" [matTooltipDisabled]="!why">
                        <button mat-stroked-button type="button" [disabled]="!!why || busy() === b.id" (click)="restore(b)" data-testid="deleted-backup-restore">Restore into a new server</button>
                      </span>
                      @let whyNot = b.state === 'ready' || b.state === 'failed' ? '' : 'The backup is still being made or deleted.';
                      <span [matTooltip]="whyNot" [matTooltipDisabled]="!whyNot">
                        <button mat-stroked-button type="button" class="danger" [disabled]="!!whyNot || busy() === b.id" (click)="remove(b)" data-testid="deleted-backup-delete">Delete</button>
                      </span>
                    }
                  </div></td>
                </tr>
              }
            </tbody>
          </table>
        </div>
      }
    </div>`,
  styles: `
    .ob-simple-table { border-collapse: collapse; width: 100%; }
    .ob-simple-table th, .ob-simple-table td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--mat-sys-outline-variant, #ddd); vertical-align: top; }
    .row-actions { white-space: nowrap; display: flex; gap: 6px; } .nowrap { white-space: nowrap; }
    .bad { color: var(--mat-sys-error); max-width: 40ch; } .danger { color: var(--mat-sys-error); }
  `,
})
export class DeletedServerBackupsPage {
  private readonly api = inject(ApiService);
  private readonly auth = inject(AuthService);
  private readonly dialog = inject(MatDialog);
  private readonly router = inject(Router);
  readonly items = signal<TenantBackupView[]>([]);
  readonly loading = signal(true);
  readonly error = signal<string | null>(null);
  readonly actionError = signal<string | null>(null);
  readonly busy = signal<string | null>(null);
  readonly canWrite = computed(() => this.auth.permissions().has(Permission.ServersWrite));
  readonly fmt = formatDateTime;
  readonly bytes = formatBytes;

  constructor() {
    void this.load();
    // a delete is confirmed by a node: look again while one is in flight
    const timer = setInterval(() => {
      if (this.items().some((b) => b.state === 'deleting')) void this.quietReload();
    }, 3000);
    inject(DestroyRef).onDestroy(() => clearInterval(timer));
  }

  private async quietReload(): Promise<void> {
    try {
      this.items.set(await this.api.tenantBackups(true));
    } catch {
      // the next tick tries again
    }
  }

  async remove(b: TenantBackupView): Promise<void> {
    const ok = await askConfirm(this.dialog, {
      title: `Delete the backup of ${b.serverName}?`,
      message: `The backup of ${this.fmt(b.createdAt)} is removed from the backup store for good; ${b.serverName} cannot be restored from it any more.`,
      confirmLabel: 'Delete backup', danger: true,
    });
    if (!ok) return;
    this.busy.set(b.id);
    this.actionError.set(null);
    try {
      const deleting = await this.api.deleteTenantBackup(b.id);
      this.items.update((list) => list.map((x) => (x.id === b.id ? deleting : x)));
    } catch (e) {
      this.actionError.set(errorMessage(e));
    } finally {
      this.busy.set(null);
    }
  }

  async load(): Promise<void> {
    this.loading.set(true);
    this.error.set(null);
    try {
      this.items.set(await this.api.tenantBackups(true));
    } catch (e) {
      this.error.set(errorMessage(e));
    } finally {
      this.loading.set(false);
    }
  }

  async restore(b: TenantBackupView): Promise<void> {
    this.actionError.set(null);
    try {
      await restoreIntoNewServer(this.api, this.dialog, this.router, b, () => this.busy.set(b.id));
    } catch (e) {
      this.actionError.set(errorMessage(e));
    } finally {
      this.busy.set(null);
    }
  }
}
