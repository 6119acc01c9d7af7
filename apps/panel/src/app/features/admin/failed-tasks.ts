import { ChangeDetectionStrategy, Component, inject } from '@angular/core';
import { MatButtonModule } from '@angular/material/button';
import { MatTableModule } from '@angular/material/table';
import { ApiService } from '../../core/api/api.service';
import { LoadState } from '../../shared/load-state';
import { formatDateTime, humanize } from '../../shared/format';
import { PagedList } from './paged-list';

@Component({
  selector: 'ob-failed-tasks',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [MatButtonModule, MatTableModule, LoadState],
  template: `
    <div class="ob-page" data-testid="failed-tasks-page">
      <div class="ob-page-header"><h1>Failed tasks</h1></div>
      <ob-load-state [loading]="loading()" [error]="error()" [empty]="!loading() && !error() && items().length === 0" (retry)="load()">
        <p>No failed tasks. Everything that was asked of the fleet succeeded.</p>
      </ob-load-state>
      @if (!loading() && items().length) {
        <div class="ob-table-wrap"><table mat-table [dataSource]="items()" data-testid="failed-tasks-table">
          <ng-container matColumnDef="when"><th mat-header-cell *matHeaderCellDef scope="col">When</th><td mat-cell *matCellDef="let t">{{ fmt(t.finishedAt ?? t.updatedAt) }}</td></ng-container>
          <ng-container matColumnDef="op"><th mat-header-cell *matHeaderCellDef scope="col">Operation</th><td mat-cell *matCellDef="let t">{{ humanize(t.op) }} · attempt {{ t.attempts }}</td></ng-container>
          <ng-container matColumnDef="server"><th mat-header-cell *matHeaderCellDef scope="col">Server</th><td mat-cell *matCellDef="let t" class="ob-mono">{{ t.hostname ?? t.serverId }}</td></ng-container>
          <ng-container matColumnDef="node"><th mat-header-cell *matHeaderCellDef scope="col">Node</th><td mat-cell *matCellDef="let t" class="ob-mono">{{ t.nodeId ?? '—' }}</td></ng-container>
          <ng-container matColumnDef="error"><th mat-header-cell *matHeaderCellDef scope="col">Error</th><td mat-cell *matCellDef="let t" class="err">{{ t.error }}</td></ng-container>
          <tr mat-header-row *matHeaderRowDef="columns"></tr>
          <tr mat-row *matRowDef="let t; columns: columns" data-testid="failed-task-row"></tr>
        </table></div>
        @if (next()) {<div class="more"><button mat-stroked-button type="button" (click)="more()" data-testid="failed-tasks-more">Load more</button></div>}
        @if (moreError()) {<p class="ob-error" role="alert">{{ moreError() }}</p>}
      }
    </div>`,
  styles: `.err { color: var(--mat-sys-error); max-width: 48ch; } .more { display: flex; justify-content: center; padding: 16px; }`,
})
export class FailedTasksPage {
  private readonly api = inject(ApiService);
  readonly columns = ['when', 'op', 'server', 'node', 'error'];
  private readonly list = new PagedList(async (cursor: string | null) => { const p = await this.api.failedTasks(cursor); return { items: p.items, next: p.nextCursor }; }, '/admin/tasks?state=failed');
  readonly items = this.list.items;
  readonly next = this.list.next;
  readonly loading = this.list.loading;
  readonly error = this.list.error;
  readonly moreError = this.list.moreError;
  fmt = formatDateTime;
  humanize = humanize;
  constructor() {
    void this.load();
  }
  load(): Promise<void> {
    return this.list.load();
  }
  more(): Promise<void> {
    return this.list.more();
  }
}
