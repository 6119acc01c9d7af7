import { ChangeDetectionStrategy, Component, inject, signal } from '@angular/core';
import { MatButtonModule } from '@angular/material/button';
import { MatTableModule } from '@angular/material/table';
import { ApiService, type AuditEntryView } from '../../core/api/api.service';
import { errorMessage } from '../../core/api/api-error';
import { LoadState } from '../../shared/load-state';
import { formatDateTime } from '../../shared/format';

/** The team's own audit log (owners): the entries provider staff see for it. */
@Component({
  selector: 'ob-tenant-audit',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [MatButtonModule, MatTableModule, LoadState],
  template: `
    <div class="ob-page" data-testid="tenant-audit-page">
      <div class="ob-page-header"><h1>Audit log</h1></div>
      <ob-load-state [loading]="loading() && !items().length" [error]="error()" [empty]="!loading() && !error() && items().length === 0" (retry)="load()"><p>No entries.</p></ob-load-state>
      @if (items().length) {
        <div class="ob-table-wrap" tabindex="0" role="region" aria-label="Audit log"><table mat-table class="ob-cards" [dataSource]="items()">
          <ng-container matColumnDef="at"><th mat-header-cell *matHeaderCellDef scope="col">When</th><td mat-cell *matCellDef="let e" data-label="When">{{ fmt(e.createdAt) }}</td></ng-container>
          <ng-container matColumnDef="action"><th mat-header-cell *matHeaderCellDef scope="col">What</th><td mat-cell *matCellDef="let e" data-label="What"><code>{{ e.action }}</code></td></ng-container>
          <ng-container matColumnDef="who"><th mat-header-cell *matHeaderCellDef scope="col">Who</th><td mat-cell *matCellDef="let e" data-label="Who">{{ e.actorKind }}</td></ng-container>
          <ng-container matColumnDef="target"><th mat-header-cell *matHeaderCellDef scope="col">On</th><td mat-cell *matCellDef="let e" data-label="On">{{ e.targetType }} {{ e.targetId ?? '' }}</td></ng-container>
          <ng-container matColumnDef="ip"><th mat-header-cell *matHeaderCellDef scope="col">From</th><td mat-cell *matCellDef="let e" data-label="From">{{ e.ip ?? '' }}</td></ng-container>
          <tr mat-header-row *matHeaderRowDef="columns"></tr>
          <tr mat-row *matRowDef="let e; columns: columns" data-testid="tenant-audit-row" [attr.data-action]="e.action"></tr>
        </table></div>
        @if (more()) {<button mat-button type="button" (click)="load(true)" [disabled]="loading()" data-testid="tenant-audit-more">Older entries</button>}
      }
    </div>`,
})
export class TenantAuditPage {
  private readonly api = inject(ApiService);
  readonly columns = ['at', 'action', 'who', 'target', 'ip'];
  readonly items = signal<AuditEntryView[]>([]);
  readonly loading = signal(true);
  readonly error = signal<string | null>(null);
  readonly more = signal(false);
  fmt = formatDateTime;

  constructor() {
    void this.load();
  }

  async load(older = false): Promise<void> {
    this.loading.set(true);
    this.error.set(null);
    try {
      const before = older ? this.items().at(-1)?.id : undefined;
      const page = await this.api.tenantAudit(before);
      this.items.update((l) => (older ? [...l, ...page] : page));
      this.more.set(page.length === 50);
    } catch (e) {
      this.error.set(errorMessage(e));
    } finally {
      this.loading.set(false);
    }
  }
}
