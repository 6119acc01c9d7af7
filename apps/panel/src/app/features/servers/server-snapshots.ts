import { ChangeDetectionStrategy, Component, computed, inject, input, output, signal } from '@angular/core';
import { MatButtonModule } from '@angular/material/button';
import { MatTooltipModule } from '@angular/material/tooltip';
import { planOperation, type ServerView, type SnapshotView } from '@oblako/contracts';
import { ApiService } from '../../core/api/api.service';
import { ErrorBanner } from '../../shared/error-banner';
import { formatDateTime } from '../../shared/format';
import { ServerTaskList } from './server-task-list';

/** The Snapshots tab of a server: its snapshots, take one (named, optional expiry), revert to one, delete one. */
@Component({
  selector: 'ob-server-snapshots',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [MatButtonModule, MatTooltipModule, ErrorBanner],
  template: `
    <section class="snapshots" data-testid="server-snapshots" aria-labelledby="snapshots-title">
      <h2 id="snapshots-title">Snapshots</h2>
      <p class="ob-muted">A snapshot keeps the disk (and the memory of a running server) as it is now; a revert puts the server back to that moment.
        This plan keeps up to {{ server().plan.maxSnapshots }}.</p>
      @if (canWrite()) {
        <form class="take" (submit)="$event.preventDefault(); take()" data-testid="snapshot-form">
          <label for="snapshot-name">Name</label>
          <input id="snapshot-name" data-testid="snapshot-name" maxlength="120" required [value]="name()" (input)="name.set($any($event.target).value)" />
          <label for="snapshot-expiry">Delete after</label>
          <select id="snapshot-expiry" data-testid="snapshot-expiry" [value]="expiry()" (change)="expiry.set($any($event.target).value)">
            <option value="">never</option><option value="24">1 day</option><option value="168">1 week</option><option value="720">30 days</option>
          </select>
          <span [matTooltip]="why()" [matTooltipDisabled]="!why()">
            <button mat-stroked-button type="submit" [disabled]="!!why() || !name().trim() || busy()" data-testid="snapshot-take">{{ busy() ? 'Working…' : 'Take snapshot' }}</button>
          </span>
        </form>
      }
      <ob-error-banner [message]="error()" testId="snapshot-error" />
      @if (snapshots().length === 0) {
        <p class="ob-muted" data-testid="snapshots-empty">No snapshots.</p>
      } @else {
        <div class="ob-table-wrap" tabindex="0" role="region" aria-label="Snapshot list">
          <table class="ob-simple-table" data-testid="snapshot-list">
            <thead><tr><th scope="col">Name</th><th scope="col">Taken</th><th scope="col">Kind</th><th scope="col">Size</th><th scope="col">Expires</th><th scope="col">State</th><th scope="col"><span class="ob-visually-hidden">Actions</span></th></tr></thead>
            <tbody>
              @for (s of snapshots(); track s.id) {
                <tr data-testid="snapshot-row" [attr.data-state]="s.state" [attr.data-name]="s.name">
                  <td>{{ s.name }}</td>
                  <td>{{ formatDateTime(s.createdAt) }}</td>
                  <td>{{ s.withMemory ? 'disk + memory' : 'disk' }}</td>
                  <td>{{ size(s.sizeBytes) }}</td>
                  <td>{{ s.expiresAt ? formatDateTime(s.expiresAt) : 'never' }}</td>
                  <td>{{ s.state }}</td>
                  <td class="row-actions">
                    @if (canWrite()) {
                      <button mat-stroked-button type="button" [disabled]="!!why() || s.state !== 'ready' || busy()" (click)="revert(s)" data-testid="snapshot-revert">Revert</button>
                      <button mat-stroked-button type="button" class="danger" [disabled]="!!why() || s.state !== 'ready' || busy()" (click)="remove(s)" data-testid="snapshot-delete">Delete</button>
                    }
                  </td>
                </tr>
              }
            </tbody>
          </table>
        </div>
      }
    </section>
  `,
  styles: `
    .take { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin: 8px 0 12px; }
    .ob-simple-table { border-collapse: collapse; width: 100%; }
    .ob-simple-table th, .ob-simple-table td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--mat-sys-outline-variant, #ddd); }
    .row-actions { white-space: nowrap; display: flex; gap: 6px; }
  `,
})
export class ServerSnapshots {
  private readonly api = inject(ApiService);
  readonly server = input.required<ServerView>();
  readonly canWrite = input(false);
  /** Another task holds the server. */
  readonly taskActive = input(false);
  /** A snapshot task was started: the page follows the server's state. */
  readonly changed = output<ServerView | null>();

  private readonly list = new ServerTaskList<SnapshotView>({
    server: this.server, load: (id) => this.api.snapshots(id), changed: (s) => this.changed.emit(s),
  });
  readonly snapshots = this.list.items;
  readonly busy = this.list.busy;
  readonly error = this.list.error;
  readonly name = signal('');
  readonly expiry = signal('');
  /** Why snapshot operations cannot start now ('' when they can). */
  readonly why = computed(() => {
    const plan = planOperation(this.server().state, 'snapshot_create', this.taskActive());
    return plan.ok ? '' : plan.reason;
  });
  readonly formatDateTime = formatDateTime;

  reload(): Promise<void> {
    return this.list.reload();
  }

  size(bytes: number): string {
    if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
    return `${Math.round(bytes / 1024 ** 2)} MiB`;
  }

  async take(): Promise<void> {
    const name = this.name().trim();
    if (!name) return;
    await this.list.run(async () => {
      await this.api.createSnapshot(this.server().id, name, this.expiry() ? Number(this.expiry()) : undefined);
      this.name.set('');
      return null;
    });
  }

  revert(s: SnapshotView): Promise<void> {
    return this.list.run(() => this.api.revertSnapshot(this.server().id, s.id), {
      title: `Revert to “${s.name}”?`,
      message: s.withMemory
        ? 'The server goes back to the moment of the snapshot, memory included: everything written since is lost.'
        : 'The disk goes back to the moment of the snapshot: everything written since is lost.',
      confirmLabel: 'Revert', danger: true,
    });
  }

  remove(s: SnapshotView): Promise<void> {
    return this.list.run(() => this.api.deleteSnapshot(this.server().id, s.id),
      { title: `Delete “${s.name}”?`, message: 'The server keeps its disk as it is now; the snapshot cannot be reverted to any more.', confirmLabel: 'Delete', danger: true });
  }
}
