import { ChangeDetectionStrategy, Component, inject, signal } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { MatButtonModule } from '@angular/material/button';
import { MatFormFieldModule } from '@angular/material/form-field';
import { MatInputModule } from '@angular/material/input';
import { MatTableModule } from '@angular/material/table';
import { type AdminTenantView, ApiService } from '../../core/api/api.service';
import { errorMessage } from '../../core/api/api-error';
import { ErrorBanner } from '../../shared/error-banner';
import { LoadState } from '../../shared/load-state';
import { formatDateTime } from '../../shared/format';
import { adminLoadError } from './admin-load';
import { MatDialog } from '@angular/material/dialog';
import { AnnouncerService } from '../../shared/announcer';
import { askReason } from '../../shared/confirm-dialog';
import { StateChip } from '../../shared/state-chip';

/** Staff: every tenant with its servers, members and server limit (editable). */
@Component({
  selector: 'ob-tenants',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [FormsModule, MatButtonModule, MatFormFieldModule, MatInputModule, MatTableModule, ErrorBanner, LoadState, StateChip],
  template: `
    <div class="ob-page" data-testid="tenants-page">
      <div class="ob-page-header"><h1>Tenants</h1></div>
      <ob-error-banner [message]="rowError()" testId="tenant-error" />
      <ob-load-state [loading]="loading()" [error]="error()" [empty]="!loading() && !error() && items().length === 0" (retry)="load()"><p>No tenants yet.</p></ob-load-state>
      @if (!loading() && items().length) {
        <div class="ob-table-wrap" tabindex="0" role="region" aria-label="Tenants"><table mat-table class="ob-cards" [dataSource]="items()" data-testid="tenants-table">
          <ng-container matColumnDef="name"><th mat-header-cell *matHeaderCellDef scope="col">Tenant</th>
            <td mat-cell *matCellDef="let t" data-label="Tenant"><strong>{{ t.name }}</strong><br /><span class="ob-mono ob-muted small">{{ t.id }}</span></td></ng-container>
          <ng-container matColumnDef="servers"><th mat-header-cell *matHeaderCellDef scope="col">Servers</th><td mat-cell *matCellDef="let t" data-label="Servers">{{ t.servers }}</td></ng-container>
          <ng-container matColumnDef="members"><th mat-header-cell *matHeaderCellDef scope="col">Members</th><td mat-cell *matCellDef="let t" data-label="Members">{{ t.members }}</td></ng-container>
          <ng-container matColumnDef="limit"><th mat-header-cell *matHeaderCellDef scope="col">Server limit</th>
            <td mat-cell *matCellDef="let t" data-label="Server limit">
              <form class="limit" (ngSubmit)="save(t)">
                <mat-form-field subscriptSizing="dynamic">
                  <mat-label>Limit</mat-label>
                  <input matInput type="number" min="0" [name]="'limit-' + t.id" [ngModel]="draft(t)" (ngModelChange)="setDraft(t.id, $event)"
                    placeholder="no cap" data-testid="tenant-limit-input" [attr.aria-label]="'Server limit of ' + t.name" />
                </mat-form-field>
                <button mat-stroked-button type="submit" [disabled]="busy() === t.id" data-testid="tenant-limit-save">Save</button>
              </form>
            </td></ng-container>
          <ng-container matColumnDef="state"><th mat-header-cell *matHeaderCellDef scope="col">State</th>
            <td mat-cell *matCellDef="let t" data-label="State" data-testid="tenant-state" [attr.data-state]="t.suspendedAt ? 'suspended' : 'active'">
              <ob-state-chip [state]="t.suspendedAt ? 'suspended' : 'active'" />
              @if (t.suspendedAt) {<div class="small ob-muted ob-wrap reason">since {{ fmt(t.suspendedAt) }}: {{ t.suspendedReason }}</div>}
              <div>@if (t.suspendedAt) {
                <button mat-stroked-button type="button" (click)="unsuspend(t)" [disabled]="busy() === t.id" data-testid="tenant-unsuspend">Unsuspend</button>
              } @else {
                <button mat-stroked-button type="button" class="danger" (click)="suspend(t)" [disabled]="busy() === t.id" data-testid="tenant-suspend">Suspend</button>
              }</div>
            </td></ng-container>
          <ng-container matColumnDef="created"><th mat-header-cell *matHeaderCellDef scope="col">Since</th><td mat-cell *matCellDef="let t" data-label="Since">{{ fmt(t.createdAt) }}</td></ng-container>
          <tr mat-header-row *matHeaderRowDef="columns"></tr>
          <tr mat-row *matRowDef="let t; columns: columns" data-testid="tenant-row" [attr.data-name]="t.name"></tr>
        </table></div>
        <p class="ob-muted small">An empty limit means no cap on live servers.</p>
      }
    </div>`,
  styles: `.limit { display: flex; gap: 8px; align-items: center; } .limit mat-form-field { width: 110px; } .small { font: var(--mat-sys-body-small); }
    td.mat-mdc-cell { padding-top: 6px; padding-bottom: 6px; } .danger { color: var(--mat-sys-error); } .reason { max-width: 30ch; margin: 2px 0 4px; }`,
})
export class TenantsPage {
  private readonly api = inject(ApiService);
  readonly columns = ['name', 'state', 'servers', 'members', 'limit', 'created'];
  private readonly dialog = inject(MatDialog);
  private readonly announcer = inject(AnnouncerService);
  readonly items = signal<AdminTenantView[]>([]);
  readonly loading = signal(true);
  readonly error = signal<string | null>(null);
  readonly rowError = signal<string | null>(null);
  readonly busy = signal<string | null>(null);
  private readonly drafts = signal<Record<string, number | null | ''>>({});
  fmt = formatDateTime;

  constructor() {
    void this.load();
  }

  draft(t: AdminTenantView): number | null | '' {
    const d = this.drafts()[t.id];
    return d === undefined ? t.serverLimit : d;
  }

  setDraft(id: string, v: number | null | ''): void {
    this.drafts.update((d) => ({ ...d, [id]: v }));
  }

  async load(): Promise<void> {
    this.loading.set(true);
    this.error.set(null);
    try {
      this.items.set(await this.api.adminTenants());
    } catch (e) {
      this.error.set(adminLoadError(e, '/admin/tenants'));
    } finally {
      this.loading.set(false);
    }
  }

  async suspend(t: AdminTenantView): Promise<void> {
    const reason = await askReason(this.dialog, {
      title: `Suspend ${t.name}?`,
      message: 'Its members can no longer order, and its servers are stopped and held until you unsuspend it. They see the reason you give here.',
      confirmLabel: 'Suspend', danger: true,
    });
    if (reason !== null) await this.hold(t, () => this.api.suspendTenant(t.id, reason), `${t.name} is suspended.`);
  }

  async unsuspend(t: AdminTenantView): Promise<void> {
    const reason = await askReason(this.dialog, {
      title: `Unsuspend ${t.name}?`, message: 'Its members may order again, and the servers the suspension stopped start again.', confirmLabel: 'Unsuspend',
    });
    if (reason !== null) await this.hold(t, () => this.api.unsuspendTenant(t.id, reason), `${t.name} is no longer suspended.`);
  }

  private async hold(t: AdminTenantView, call: () => Promise<{ tenant: AdminTenantView }>, said: string): Promise<void> {
    this.busy.set(t.id);
    this.rowError.set(null);
    try {
      const { tenant } = await call();
      this.items.update((list) => list.map((x) => (x.id === tenant.id ? tenant : x)));
      this.announcer.say(said);
    } catch (e) {
      this.rowError.set(errorMessage(e));
    } finally {
      this.busy.set(null);
    }
  }

  async save(t: AdminTenantView): Promise<void> {
    const raw = this.draft(t);
    const limit = raw === '' || raw === null ? null : Number(raw);
    if (limit !== null && (!Number.isInteger(limit) || limit < 0)) {
      this.rowError.set('A server limit is a whole number from 0 up, or empty for no cap.');
      return;
    }
    this.busy.set(t.id);
    this.rowError.set(null);
    try {
      const updated = await this.api.setTenantServerLimit(t.id, limit);
      this.items.update((list) => list.map((x) => (x.id === updated.id ? updated : x)));
      this.drafts.update((d) => {
        const { [t.id]: _gone, ...rest } = d;
        return rest;
      });
    } catch (e) {
      this.rowError.set(errorMessage(e));
    } finally {
      this.busy.set(null);
    }
  }
}
