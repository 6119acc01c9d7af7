import { ChangeDetectionStrategy, Component, computed, inject, signal } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { RouterLink } from '@angular/router';
import { MatButtonModule } from '@angular/material/button';
import { MatDialog } from '@angular/material/dialog';
import { MatFormFieldModule } from '@angular/material/form-field';
import { MatSelectModule } from '@angular/material/select';
import { MatTableModule } from '@angular/material/table';
import { Permission, SERVER_ACTIONS, type NotStartedBackupView, type ServerAction, type TaskState } from '@oblako/contracts';
import { ApiService, type AdminTaskView } from '../../core/api/api.service';
import { errorMessage } from '../../core/api/api-error';
import { AuthService } from '../../core/auth/auth.service';
import { AnnouncerService } from '../../shared/announcer';
import { askReason } from '../../shared/confirm-dialog';
import { ErrorBanner } from '../../shared/error-banner';
import { LoadState } from '../../shared/load-state';
import { StateChip } from '../../shared/state-chip';
import { formatDateTime, humanize } from '../../shared/format';
import { PagedList } from './paged-list';

/**
 * Failed tasks, the active (stuck?) ones, or only the failed backups (issue 12: their failure is visible to staff), with
 * the scheduled backups that could not start at all above them (those have no task).
 */
type Shown = 'failed' | 'active' | 'backups';
const ACTIVE: readonly TaskState[] = ['queued', 'dispatched', 'running'];

/**
 * Staff: tasks that failed (or are still active, to find the stuck ones), with names instead of
 * ids, and what staff can do about them: retry a failed one, cancel an active one, force-delete
 * a server stuck in deleting. Each asks for a reason, which goes to the audit log.
 */
@Component({
  selector: 'ob-failed-tasks',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [FormsModule, RouterLink, MatButtonModule, MatFormFieldModule, MatSelectModule, MatTableModule, ErrorBanner, LoadState, StateChip],
  template: `
    <div class="ob-page" data-testid="failed-tasks-page">
      <div class="ob-page-header"><h1 tabindex="-1">{{ TITLE[shown()] }}</h1>
        <mat-form-field subscriptSizing="dynamic">
          <mat-label>Show</mat-label>
          <mat-select [ngModel]="shown()" (ngModelChange)="show($event)" data-testid="failed-tasks-state">
            <mat-option value="failed">failed</mat-option>
            <mat-option value="active">queued or running (stuck?)</mat-option>
            <mat-option value="backups">failed backups</mat-option>
          </mat-select>
        </mat-form-field>
      </div>
      <ob-error-banner [message]="rowError()" testId="task-action-error" />
      @if (shown() === 'backups') {
        <section class="not-started" data-testid="not-started-backups" aria-labelledby="not-started-title">
          <h2 id="not-started-title">Scheduled backups that did not start</h2>
          <p class="ob-muted">A window whose backup could not start at all has no task; its server is listed here until its next window is tried.</p>
          @if (notStartedError()) {
            <p class="ob-error" role="alert" data-testid="not-started-error">{{ notStartedError() }} <button mat-button type="button" (click)="loadNotStarted()">Try again</button></p>
          } @else if (notStarted() === null) {
            <p class="ob-muted" role="status">Loading…</p>
          } @else if (notStarted()!.length === 0) {
            <p class="ob-muted" data-testid="not-started-empty">Every scheduled backup started in its last window.</p>
          } @else {
            <div class="ob-table-wrap" tabindex="0" role="region" aria-label="Scheduled backups that did not start"><table class="ob-simple-table ob-cards" data-testid="not-started-table">
              <thead><tr><th scope="col">Window</th><th scope="col">Server · team</th><th scope="col">Node</th><th scope="col">Why it did not start</th><th scope="col">Tried again</th></tr></thead>
              <tbody>
                @for (n of notStarted(); track n.serverId) {
                  <tr data-testid="not-started-row" [attr.data-hostname]="n.hostname" [attr.data-server]="n.serverId">
                    <td data-label="Window">{{ fmt(n.windowAt) }}</td>
                    <td data-label="Server · team"><strong class="ob-name" [title]="n.hostname">{{ n.hostname }}</strong> <span class="ob-muted small">({{ humanize(n.serverState) }}, {{ n.locationName }})</span><br />
                      <span class="ob-muted small ob-name" [title]="n.tenantName">{{ n.tenantName }}</span></td>
                    <td data-label="Node">@if (n.nodeId) {<a [routerLink]="['/admin/nodes', n.nodeId]">{{ n.nodeName ?? 'a removed node' }}</a>} @else {—}</td>
                    <td data-label="Why it did not start" class="err ob-wrap" data-testid="not-started-reason">{{ n.reason }}</td>
                    <td data-label="Tried again">{{ fmt(n.nextWindowAt) }}</td>
                  </tr>
                }
              </tbody>
            </table></div>
          }
          <h2>Backups that started and failed</h2>
        </section>
      }
      <ob-load-state [loading]="loading()" [error]="error()" [empty]="!loading() && !error() && items().length === 0" (retry)="load()">
        <p>{{ EMPTY[shown()] }}</p>
      </ob-load-state>
      @if (!loading() && items().length) {
        <div class="ob-table-wrap" tabindex="0" role="region" aria-label="Failed tasks"><table mat-table class="ob-cards" [dataSource]="items()" data-testid="failed-tasks-table">
          <ng-container matColumnDef="when"><th mat-header-cell *matHeaderCellDef scope="col">When</th><td mat-cell *matCellDef="let t" data-label="When">{{ fmt(t.finishedAt ?? t.updatedAt) }}</td></ng-container>
          <ng-container matColumnDef="op"><th mat-header-cell *matHeaderCellDef scope="col">Operation</th>
            <td mat-cell *matCellDef="let t" data-label="Operation">{{ humanize(t.op) }} · attempt {{ t.attempts }}<br /><ob-state-chip [state]="t.state" /></td></ng-container>
          <ng-container matColumnDef="server"><th mat-header-cell *matHeaderCellDef scope="col">Server · team</th>
            <td mat-cell *matCellDef="let t" data-label="Server · team"><strong class="ob-name" [title]="t.hostname">{{ t.hostname }}</strong> <span class="ob-muted small">({{ humanize(t.serverState) }})</span><br />
              <span class="ob-muted small ob-name" [title]="t.tenantName">{{ t.tenantName }}</span></td></ng-container>
          <ng-container matColumnDef="node"><th mat-header-cell *matHeaderCellDef scope="col">Node</th>
            <td mat-cell *matCellDef="let t" data-label="Node">@if (t.nodeId) {<a [routerLink]="['/admin/nodes', t.nodeId]">{{ t.nodeName ?? 'a removed node' }}</a>} @else {—}</td></ng-container>
          <ng-container matColumnDef="error"><th mat-header-cell *matHeaderCellDef scope="col">Error</th><td mat-cell *matCellDef="let t" data-label="Error" class="err ob-wrap" data-testid="failed-task-error">{{ t.error }}</td></ng-container>
          <ng-container matColumnDef="actions"><th mat-header-cell *matHeaderCellDef scope="col"><span class="ob-visually-hidden">Actions</span></th>
            <td mat-cell *matCellDef="let t"><div class="acts">
              @if (canManage()) {
                @if (t.state === 'failed' && retryable(t)) {
                  <button mat-stroked-button type="button" (click)="retry(t)" [disabled]="busy() === t.id" data-testid="task-retry" [attr.aria-label]="'Retry ' + t.op + ' of ' + t.hostname">Retry</button>
                }
                @if (isActive(t)) {
                  <button mat-stroked-button type="button" (click)="cancel(t)" [disabled]="busy() === t.id" data-testid="task-cancel" [attr.aria-label]="'Cancel ' + t.op + ' of ' + t.hostname">Cancel</button>
                }
                @if (t.serverState === 'deleting' || t.serverState === 'error') {
                  <button mat-stroked-button type="button" class="danger" (click)="forceDelete(t)" [disabled]="busy() === t.id" data-testid="server-force-delete"
                    [attr.aria-label]="'Force-delete ' + t.hostname">Force-delete</button>
                }
              }
            </div></td></ng-container>
          <tr mat-header-row *matHeaderRowDef="columns"></tr>
          <tr mat-row *matRowDef="let t; columns: columns" data-testid="failed-task-row" [attr.data-op]="t.op" [attr.data-state]="t.state" [attr.data-hostname]="t.hostname"></tr>
        </table></div>
        @if (next()) {<div class="more"><button mat-stroked-button type="button" (click)="more()" data-testid="failed-tasks-more">Load more</button></div>}
        @if (moreError()) {<p class="ob-error" role="alert">{{ moreError() }}</p>}
      }
    </div>`,
  styles: `.err { color: var(--mat-sys-error); max-width: 40ch; } .more { display: flex; justify-content: center; padding: 16px; }
    .small { font: var(--mat-sys-body-small); } .acts { display: flex; flex-wrap: wrap; gap: 6px; }
    .danger { color: var(--mat-sys-error); } td.mat-mdc-cell { padding-top: 6px; padding-bottom: 6px; }
    .not-started { margin-bottom: 16px; } .ob-simple-table { border-collapse: collapse; width: 100%; }
    .ob-simple-table th, .ob-simple-table td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--mat-sys-outline-variant, #ddd); vertical-align: top; }`,
})
export class FailedTasksPage {
  private readonly api = inject(ApiService);
  private readonly auth = inject(AuthService);
  private readonly dialog = inject(MatDialog);
  private readonly announcer = inject(AnnouncerService);
  readonly columns = ['when', 'op', 'server', 'node', 'error', 'actions'];
  readonly shown = signal<Shown>('failed');
  private readonly list = new PagedList(async (cursor: string | null) => {
    const states: TaskState[] = this.shown() === 'active' ? [...ACTIVE] : ['failed'];
    const filter = this.shown() === 'backups' ? { op: 'backup_create' as const } : {};
    const pages = await Promise.all(states.map((s) => this.api.adminTasks(s, cursor, filter)));
    // One state shown (failed) pages by cursor; the active ones are few: all of them at once.
    const items = pages.flatMap((p) => p.items).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    return { items, next: states.length === 1 ? (pages[0]?.nextCursor ?? null) : null };
  }, '/admin/tasks');
  readonly items = this.list.items;
  readonly next = this.list.next;
  readonly loading = this.list.loading;
  readonly error = this.list.error;
  readonly moreError = this.list.moreError;
  readonly busy = signal<string | null>(null);
  readonly rowError = signal<string | null>(null);
  readonly canManage = computed(() => this.auth.permissions().has(Permission.TasksManage));
  fmt = formatDateTime;
  humanize = humanize;
  readonly TITLE: Record<Shown, string> = { failed: 'Failed tasks', active: 'Active tasks', backups: 'Failed backups' };
  readonly EMPTY: Record<Shown, string> = {
    failed: 'No failed tasks. Everything that was asked of the fleet succeeded.',
    active: 'Nothing is queued or running.',
    backups: 'No backup task failed.',
  };

  /** Scheduled windows whose backup never started (shown with the failed backups); null while loading. */
  readonly notStarted = signal<NotStartedBackupView[] | null>(null);
  readonly notStartedError = signal<string | null>(null);

  constructor() {
    void this.load();
  }
  load(): Promise<void> {
    if (this.shown() === 'backups') void this.loadNotStarted();
    return this.list.load();
  }
  async loadNotStarted(): Promise<void> {
    this.notStartedError.set(null);
    try {
      this.notStarted.set(await this.api.notStartedBackups());
    } catch (e) {
      this.notStartedError.set(errorMessage(e));
    }
  }
  more(): Promise<void> {
    return this.list.more();
  }
  show(s: Shown): void {
    this.shown.set(s);
    void this.load();
  }
  retryable(t: AdminTaskView): boolean {
    return SERVER_ACTIONS.includes(t.op as ServerAction);
  }
  isActive(t: AdminTaskView): boolean {
    return ACTIVE.includes(t.state);
  }

  async retry(t: AdminTaskView): Promise<void> {
    const reason = await askReason(this.dialog, {
      title: `Retry the ${humanize(t.op)} of ${t.hostname}?`,
      message: `The ${humanize(t.op)} runs again on ${t.nodeName ?? 'its node'} as a new task. Its owner sees it on the server page.`,
      confirmLabel: 'Retry',
    });
    if (reason === null) return;
    await this.act(t, () => this.api.retryTask(t.id, reason), `The ${humanize(t.op)} of ${t.hostname} runs again.`);
  }

  async cancel(t: AdminTaskView): Promise<void> {
    const reason = await askReason(this.dialog, {
      title: `Cancel the ${humanize(t.op)} of ${t.hostname}?`,
      message: 'The task fails now and the server goes back to where a failure takes it. If the node still runs it, its late answer is ignored.',
      confirmLabel: 'Cancel the task', danger: true,
    });
    if (reason === null) return;
    await this.act(t, () => this.api.cancelTask(t.id, reason), `The ${humanize(t.op)} of ${t.hostname} was cancelled.`);
  }

  async forceDelete(t: AdminTaskView): Promise<void> {
    const reason = await askReason(this.dialog, {
      title: `Force-delete ${t.hostname}?`,
      message: 'The server is marked deleted now: its tasks fail, its capacity and addresses are released. Anything left on the node is not touched. This cannot be undone.',
      confirmLabel: 'Force-delete', danger: true, typeToConfirm: t.hostname,
    });
    if (reason === null) return;
    await this.act(t, () => this.api.forceDeleteServer(t.serverId, reason), `${t.hostname} was force-deleted.`);
  }

  private async act(t: AdminTaskView, call: () => Promise<unknown>, done: string): Promise<void> {
    this.busy.set(t.id);
    this.rowError.set(null);
    try {
      await call();
      this.announcer.say(done);
      await this.load();
    } catch (e) {
      this.rowError.set(errorMessage(e));
    } finally {
      this.busy.set(null);
    }
  }
}
