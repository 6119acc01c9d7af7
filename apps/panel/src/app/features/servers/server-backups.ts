import { ChangeDetectionStrategy, Component, computed, inject, input, output } from '@angular/core';
import { MatButtonModule } from '@angular/material/button';
import { MatDialog } from '@angular/material/dialog';
import { Router } from '@angular/router';
import { MatTooltipModule } from '@angular/material/tooltip';
import { planOperation, type BackupView, type ServerView } from '@oblako/contracts';
import { ApiService } from '../../core/api/api.service';
import { ApiRequestError, errorMessage } from '../../core/api/api-error';
import { AnnouncerService } from '../../shared/announcer';
import { ErrorBanner } from '../../shared/error-banner';
import { StateChip } from '../../shared/state-chip';
import { formatBytes, formatDateTime, formatDuration } from '../../shared/format';
import { restoreIntoNewServer } from '../backups/restore-new-dialog';
import { BackupScheduleForm } from './backup-schedule-form';
import { ServerTaskList } from './server-task-list';

/** What a refused "Back up now" means for the person who pressed it. */
export function backupErrorText(e: unknown, location: string): string {
  if (e instanceof ApiRequestError && e.code === 'no_backup_store') {
    return `Backups cannot be taken in ${location} yet: your provider has not set up a backup store there. Nothing was changed; contact support if you need backups now.`;
  }
  return errorMessage(e);
}

/**
 * The Backups section of a server: its backups (newest first) with size, duration, checksum and why a failed one
 * failed; "Back up now", restore in place, restore into a new server and delete, each a task the page follows like any other (the server is
 * backing_up or restoring meanwhile); and the schedule and retention policy.
 */
@Component({
  selector: 'ob-server-backups',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [MatButtonModule, MatTooltipModule, BackupScheduleForm, ErrorBanner, StateChip],
  template: `
    <section class="backups" data-testid="server-backups" aria-labelledby="backups-title">
      <h2 id="backups-title">Backups</h2>
      <p class="ob-muted">A backup is a full copy of the disk on a backup store away from the server's host; it is kept after the server is deleted, for a while.</p>
      @if (canWrite()) {
        <div class="take">
          <span [matTooltip]="why()" [matTooltipDisabled]="!why()">
            <button mat-stroked-button type="button" [disabled]="!!why() || busy()" (click)="backUpNow()" data-testid="backup-now"
              [attr.aria-describedby]="why() ? 'why-backup' : null">{{ busy() ? 'Working…' : 'Back up now' }}</button>
          </span>
          @if (why()) {<span id="why-backup" class="ob-muted small" data-testid="why-backup">{{ why() }}</span>}
        </div>
      }
      <ob-error-banner [message]="error()" testId="backup-error" />
      @if (loaded() && backups().length === 0) {
        <p class="ob-muted" data-testid="backups-empty">No backups yet.</p>
      } @else if (backups().length) {
        <div class="ob-table-wrap" tabindex="0" role="region" aria-label="Backup list">
          <table class="ob-simple-table" data-testid="backup-list">
            <thead><tr><th scope="col">Created</th><th scope="col">Trigger</th><th scope="col">Kind</th><th scope="col">State</th><th scope="col">Size</th><th scope="col">Took</th><th scope="col">SHA-256</th><th scope="col"><span class="ob-visually-hidden">Actions</span></th></tr></thead>
            <tbody>
              @for (b of backups(); track b.id) {
                <tr data-testid="backup-row" [attr.data-id]="b.id" [attr.data-state]="b.state" [attr.data-trigger]="b.trigger" [attr.data-kind]="b.kind">
                  <td data-label="Created">{{ fmt(b.createdAt) }}</td>
                  <td data-label="Trigger">{{ b.trigger }}</td>
                  <td data-label="Kind" data-testid="backup-kind">{{ b.kind }}</td>
                  <td data-label="State"><ob-state-chip [state]="b.state" />
                    @if (b.state === 'failed') {<div class="bad" data-testid="backup-failure">{{ b.error ?? 'No reason was recorded.' }}@if (b.trigger === 'scheduled') { It is tried again at the next window.}</div>}</td>
                  <td data-label="Size" class="nowrap" data-testid="backup-size">{{ b.state === 'ready' ? bytes(b.sizeBytes) : '—' }}</td>
                  <td data-label="Took" class="nowrap" data-testid="backup-duration">{{ duration(b.durationMs) }}</td>
                  <td data-label="SHA-256" class="nowrap">@if (b.sha256) {<span class="ob-mono" [title]="b.sha256" [attr.aria-label]="'SHA-256 ' + b.sha256" data-testid="backup-sha">{{ b.sha256.slice(0, 12) }}…</span>} @else {—}</td>
                  <td><div class="row-actions">
                    @if (canWrite()) {
                      <span [matTooltip]="restoreWhy(b)" [matTooltipDisabled]="!restoreWhy(b)">
                        <button mat-stroked-button type="button" [disabled]="!!restoreWhy(b) || busy()" (click)="restore(b)" data-testid="backup-restore">Restore</button>
                      </span>
                      <span [matTooltip]="restoreNewWhy(b)" [matTooltipDisabled]="!restoreNewWhy(b)">
                        <button mat-stroked-button type="button" [disabled]="!!restoreNewWhy(b) || busy()" (click)="restoreToNew(b)" data-testid="backup-restore-new">Restore into a new server</button>
                      </span>
                      <span [matTooltip]="deleteWhy(b)" [matTooltipDisabled]="!deleteWhy(b)">
                        <button mat-stroked-button type="button" class="danger" [disabled]="!!deleteWhy(b) || busy()" (click)="remove(b)" data-testid="backup-delete">Delete</button>
                      </span>
                    }
                  </div></td>
                </tr>
              }
            </tbody>
          </table>
        </div>
      }
      <ob-backup-schedule-form [serverId]="server().id" [canWrite]="canWrite()" />
    </section>
  `,
  styles: `
    .take { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin: 8px 0 12px; }
    .small { font: var(--mat-sys-body-small); }
    .bad { color: var(--mat-sys-error); max-width: 48ch; margin-top: 4px; }
    .ob-simple-table { border-collapse: collapse; width: 100%; }
    .ob-simple-table th, .ob-simple-table td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--mat-sys-outline-variant, #ddd); vertical-align: top; }
    /* four actions wrap in the row rather than push the table sideways */
    .row-actions { white-space: nowrap; display: flex; flex-wrap: wrap; gap: 6px; }
    .nowrap { white-space: nowrap; }
  `,
})
export class ServerBackups {
  private readonly api = inject(ApiService);
  private readonly dialog = inject(MatDialog);
  private readonly announcer = inject(AnnouncerService);
  private readonly router = inject(Router);
  readonly server = input.required<ServerView>();
  readonly canWrite = input(false);
  /** Another task holds the server. */
  readonly taskActive = input(false);
  /** A backup task was started (with the server the API answered, when it gave one): the page follows it. */
  readonly changed = output<ServerView | null>();

  private readonly list = new ServerTaskList<BackupView>({
    server: this.server, load: (id) => this.api.backups(id), changed: (s) => this.changed.emit(s),
    errorText: (e) => backupErrorText(e, this.server().location.name),
  });
  readonly backups = this.list.items;
  readonly loaded = this.list.loaded;
  readonly busy = this.list.busy;
  readonly error = this.list.error;
  /** Why "Back up now" cannot start now ('' when it can). */
  readonly why = computed(() => this.planWhy('backup_create'));
  readonly fmt = formatDateTime;
  readonly bytes = formatBytes;
  readonly duration = formatDuration;

  private planWhy(op: 'backup_create' | 'backup_restore' | 'backup_delete'): string {
    const plan = planOperation(this.server().state, op, this.taskActive());
    return plan.ok ? '' : plan.reason;
  }

  /** In place: a finished backup, and the server able to take the restore now. */
  restoreWhy(b: BackupView): string {
    return this.restoreNewWhy(b) || this.planWhy('backup_restore');
  }

  /** Into a new server: any finished backup, whatever this server is doing (it is not touched). */
  restoreNewWhy(b: BackupView): string {
    if (b.state === 'ready') return '';
    return b.state === 'failed' ? 'A failed backup cannot be restored.' : 'Only a finished backup can be restored.';
  }

  deleteWhy(b: BackupView): string {
    if (b.state !== 'ready' && b.state !== 'failed') return 'The backup is still being made or deleted.';
    return this.planWhy('backup_delete');
  }

  reload(): Promise<void> {
    return this.list.reload();
  }

  backUpNow(): Promise<void> {
    return this.list.run(async () => {
      await this.api.createBackup(this.server().id);
      this.announcer.say(`A backup of ${this.server().hostname} has started.`);
      return null;
    });
  }

  restore(b: BackupView): Promise<void> {
    const s = this.server();
    return this.list.run(() => this.api.restoreBackup(s.id, b.id), {
      title: `Restore ${s.hostname} from the backup of ${this.fmt(b.createdAt)}?`,
      message: `${s.hostname} is stopped and its disk is replaced by this backup: everything written since ${this.fmt(b.createdAt)} is lost. `
        + 'Its addresses, name and settings stay; the backup\'s checksum is checked before anything is replaced'
        + (s.state === 'running' ? ', and the server is started again afterwards.' : '. It stays stopped afterwards.'),
      confirmLabel: 'Stop and restore', danger: true,
    });
  }

  /** An order of a new server whose disk is this backup, in this server's location; this server is not changed. */
  async restoreToNew(b: BackupView): Promise<void> {
    const s = this.server();
    this.error.set(null);
    try {
      await restoreIntoNewServer(this.api, this.dialog, this.router, { ...b, locationName: s.location.name }, () => this.busy.set(true));
    } catch (e) {
      this.error.set(backupErrorText(e, s.location.name));
    } finally {
      this.busy.set(false);
    }
  }

  remove(b: BackupView): Promise<void> {
    return this.list.run(() => this.api.deleteBackup(this.server().id, b.id), {
      title: `Delete the backup of ${this.fmt(b.createdAt)}?`,
      message: b.state === 'failed' ? 'The failed backup is removed from the list (and whatever it left on the store).' : 'The backup is removed from the backup store; it cannot be restored any more. The server is not changed.',
      confirmLabel: 'Delete backup', danger: true,
    });
  }
}
