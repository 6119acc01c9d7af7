import { ChangeDetectionStrategy, Component, inject } from '@angular/core';
import { MatButtonModule } from '@angular/material/button';
import { MatTableModule } from '@angular/material/table';
import { ApiService } from '../../core/api/api.service';
import { LoadState } from '../../shared/load-state';
import { formatDateTime } from '../../shared/format';
import { PagedList } from './paged-list';

@Component({
  selector: 'ob-audit',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [MatButtonModule, MatTableModule, LoadState],
  template: `
    <div class="ob-page" data-testid="audit-page">
      <div class="ob-page-header"><h1>Audit log</h1></div>
      <ob-load-state [loading]="loading()" [error]="error()" [empty]="!loading() && !error() && items().length === 0" (retry)="load()"><p>Nothing recorded yet.</p></ob-load-state>
      @if (!loading() && items().length) {
        <div class="ob-table-wrap"><table mat-table [dataSource]="items()" data-testid="audit-table">
          <ng-container matColumnDef="at"><th mat-header-cell *matHeaderCellDef scope="col">When</th><td mat-cell *matCellDef="let a">{{ fmt(a.createdAt) }}</td></ng-container>
          <ng-container matColumnDef="actor"><th mat-header-cell *matHeaderCellDef scope="col">Who</th><td mat-cell *matCellDef="let a">{{ a.actorKind }}<br /><span class="ob-mono ob-muted small">{{ a.actorUserId ?? '' }}</span></td></ng-container>
          <ng-container matColumnDef="tenant"><th mat-header-cell *matHeaderCellDef scope="col">Tenant</th><td mat-cell *matCellDef="let a" class="ob-mono small">{{ a.tenantId ?? '—' }}</td></ng-container>
          <ng-container matColumnDef="action"><th mat-header-cell *matHeaderCellDef scope="col">Did</th><td mat-cell *matCellDef="let a" class="ob-mono">{{ a.action }}</td></ng-container>
          <ng-container matColumnDef="target"><th mat-header-cell *matHeaderCellDef scope="col">To</th><td mat-cell *matCellDef="let a" class="ob-mono small">{{ a.targetType }} {{ a.targetId ?? '' }}</td></ng-container>
          <ng-container matColumnDef="ip"><th mat-header-cell *matHeaderCellDef scope="col">From</th><td mat-cell *matCellDef="let a" class="ob-mono">{{ a.ip ?? '' }}</td></ng-container>
          <tr mat-header-row *matHeaderRowDef="columns"></tr>
          <tr mat-row *matRowDef="let a; columns: columns" data-testid="audit-row" [attr.data-action]="a.action"></tr>
        </table></div>
        @if (next()) {<div class="more"><button mat-stroked-button type="button" (click)="more()" data-testid="audit-more">Load more</button></div>}
        @if (moreError()) {<p class="ob-error" role="alert">{{ moreError() }}</p>}
      }
    </div>`,
  styles: `.more { display: flex; justify-content: center; padding: 16px; } .small { font: var(--mat-sys-body-small); }`,
})
export class AuditPage {
  private readonly api = inject(ApiService);
  readonly columns = ['at', 'actor', 'action', 'target', 'tenant', 'ip'];
  private readonly list = new PagedList(async (before: number | null) => { const p = await this.api.audit(before); return { items: p.items, next: p.before }; }, '/admin/audit');
  readonly items = this.list.items;
  readonly next = this.list.next;
  readonly loading = this.list.loading;
  readonly error = this.list.error;
  readonly moreError = this.list.moreError;
  fmt = formatDateTime;
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
