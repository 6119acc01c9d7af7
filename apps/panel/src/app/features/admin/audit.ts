import { ChangeDetectionStrategy, Component, inject, signal } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { MatFormFieldModule } from '@angular/material/form-field';
import { MatSelectModule } from '@angular/material/select';
import { MatButtonModule } from '@angular/material/button';
import { MatTableModule } from '@angular/material/table';
import { ApiService } from '../../core/api/api.service';
import { LoadState } from '../../shared/load-state';
import { formatDateTime, humanize } from '../../shared/format';
import { PagedList } from './paged-list';

@Component({
  selector: 'ob-audit',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [FormsModule, MatButtonModule, MatFormFieldModule, MatSelectModule, MatTableModule, LoadState],
  template: `
    <div class="ob-page" data-testid="audit-page">
      <div class="ob-page-header"><h1>Audit log</h1>
        <form class="filters" (submit)="$event.preventDefault(); load()" data-testid="audit-filters">
          <mat-form-field subscriptSizing="dynamic"><mat-label>What</mat-label>
            <mat-select [ngModel]="action()" (ngModelChange)="action.set($event); load()" name="action" data-testid="audit-filter-action">
              <mat-option [value]="''">everything</mat-option>
              @for (a of actionPrefixes; track a.value) {<mat-option [value]="a.value">{{ a.label }}</mat-option>}
            </mat-select></mat-form-field>
          <mat-form-field subscriptSizing="dynamic"><mat-label>Team</mat-label>
            <mat-select [ngModel]="tenantId()" (ngModelChange)="tenantId.set($event); load()" name="tenant" data-testid="audit-filter-tenant">
              <mat-option [value]="''">every team</mat-option>
              @for (t of tenants(); track t.id) {<mat-option [value]="t.id">{{ t.name }}</mat-option>}
            </mat-select></mat-form-field>
        </form>
      </div>
      <ob-load-state [loading]="loading()" [error]="error()" [empty]="!loading() && !error() && items().length === 0" (retry)="load()"><p>Nothing recorded yet.</p></ob-load-state>
      @if (!loading() && items().length) {
        <div class="ob-table-wrap" tabindex="0" role="region" aria-label="Audit log"><table mat-table class="ob-cards" [dataSource]="items()" data-testid="audit-table">
          <ng-container matColumnDef="at"><th mat-header-cell *matHeaderCellDef scope="col">When</th><td mat-cell *matCellDef="let a" data-label="When">{{ fmt(a.createdAt) }}</td></ng-container>
          <ng-container matColumnDef="actor"><th mat-header-cell *matHeaderCellDef scope="col">Who</th><td mat-cell *matCellDef="let a" data-label="Who"><span class="ob-name" [title]="a.actorEmail ?? ''">{{ a.actorEmail ?? a.actorKind }}</span><br /><span class="ob-muted small">{{ a.actorKind }}</span></td></ng-container>
          <ng-container matColumnDef="tenant"><th mat-header-cell *matHeaderCellDef scope="col">Team</th><td mat-cell *matCellDef="let a" data-label="Team" class="small"><span class="ob-name" [title]="a.tenantName ?? ''">{{ a.tenantName ?? '—' }}</span></td></ng-container>
          <ng-container matColumnDef="action"><th mat-header-cell *matHeaderCellDef scope="col">Did</th><td mat-cell *matCellDef="let a" data-label="Did" class="ob-mono">{{ a.action }}</td></ng-container>
          <ng-container matColumnDef="target"><th mat-header-cell *matHeaderCellDef scope="col">To</th><td mat-cell *matCellDef="let a" data-label="To" class="small">{{ humanize(a.targetType) }} <strong class="ob-name" [title]="a.targetId ?? ''">{{ a.targetName ?? a.targetId ?? '' }}</strong>
            @if (a.details?.['reason']) {<div class="ob-muted ob-wrap reason">“{{ a.details['reason'] }}”</div>}</td></ng-container>
          <ng-container matColumnDef="ip"><th mat-header-cell *matHeaderCellDef scope="col">From</th><td mat-cell *matCellDef="let a" data-label="From" class="ob-mono">{{ a.ip ?? '' }}</td></ng-container>
          <tr mat-header-row *matHeaderRowDef="columns"></tr>
          <tr mat-row *matRowDef="let a; columns: columns" data-testid="audit-row" [attr.data-action]="a.action"></tr>
        </table></div>
        @if (next()) {<div class="more"><button mat-stroked-button type="button" (click)="more()" data-testid="audit-more">Load more</button></div>}
        @if (moreError()) {<p class="ob-error" role="alert">{{ moreError() }}</p>}
      }
    </div>`,
  styles: `.more { display: flex; justify-content: center; padding: 16px; } .small { font: var(--mat-sys-body-small); }
    .filters { display: flex; flex-wrap: wrap; gap: 8px; } .reason { max-width: 36ch; }`,
})
export class AuditPage {
  private readonly api = inject(ApiService);
  readonly columns = ['at', 'actor', 'action', 'target', 'tenant', 'ip'];
  readonly action = signal('');
  readonly tenantId = signal('');
  readonly tenants = signal<{ id: string; name: string }[]>([]);
  readonly actionPrefixes = [
    { value: 'server.', label: 'servers' }, { value: 'task.', label: 'tasks (retry, cancel, failed)' }, { value: 'tenant.', label: 'teams' },
    { value: 'node.', label: 'nodes' }, { value: 'ip_pool.', label: 'IP pools' }, { value: 'plan.', label: 'plans' }, { value: 'image.', label: 'images' },
    { value: 'location.', label: 'locations' }, { value: 'user.', label: 'users and logins' },
  ];
  humanize = humanize;
  private readonly list = new PagedList(async (before: number | null) => {
    const p = await this.api.audit(before, 50, { action: this.action(), tenantId: this.tenantId() });
    return { items: p.items, next: p.before };
  }, '/admin/audit');
  readonly items = this.list.items;
  readonly next = this.list.next;
  readonly loading = this.list.loading;
  readonly error = this.list.error;
  readonly moreError = this.list.moreError;
  fmt = formatDateTime;
  constructor() {
    void this.load();
    this.api.adminTenants().then((t) => this.tenants.set(t.map((x) => ({ id: x.id, name: x.name }))), () => {});
  }
  load(): Promise<void> {
    return this.list.load();
  }
  more(): Promise<void> {
    return this.list.more();
  }
}
