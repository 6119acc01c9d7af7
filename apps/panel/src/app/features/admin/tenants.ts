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

/** Staff: every tenant with its servers, members and server limit (editable). */
@Component({
  selector: 'ob-tenants',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [FormsModule, MatButtonModule, MatFormFieldModule, MatInputModule, MatTableModule, ErrorBanner, LoadState],
  template: `
    <div class="ob-page" data-testid="tenants-page">
      <div class="ob-page-header"><h1>Tenants</h1></div>
      <ob-error-banner [message]="rowError()" testId="tenant-error" />
      <ob-load-state [loading]="loading()" [error]="error()" [empty]="!loading() && !error() && items().length === 0" (retry)="load()"><p>No tenants yet.</p></ob-load-state>
      @if (!loading() && items().length) {
        <div class="ob-table-wrap"><table mat-table [dataSource]="items()" data-testid="tenants-table">
          <ng-container matColumnDef="name"><th mat-header-cell *matHeaderCellDef scope="col">Tenant</th>
            <td mat-cell *matCellDef="let t"><strong>{{ t.name }}</strong><br /><span class="ob-mono ob-muted small">{{ t.id }}</span></td></ng-container>
          <ng-container matColumnDef="servers"><th mat-header-cell *matHeaderCellDef scope="col">Servers</th><td mat-cell *matCellDef="let t">{{ t.servers }}</td></ng-container>
          <ng-container matColumnDef="members"><th mat-header-cell *matHeaderCellDef scope="col">Members</th><td mat-cell *matCellDef="let t">{{ t.members }}</td></ng-container>
          <ng-container matColumnDef="limit"><th mat-header-cell *matHeaderCellDef scope="col">Server limit</th>
            <td mat-cell *matCellDef="let t">
              <form class="limit" (ngSubmit)="save(t)">
                <mat-form-field subscriptSizing="dynamic">
                  <mat-label>Limit</mat-label>
                  <input matInput type="number" min="0" [name]="'limit-' + t.id" [ngModel]="draft(t)" (ngModelChange)="setDraft(t.id, $event)"
                    placeholder="no cap" data-testid="tenant-limit-input" [attr.aria-label]="'Server limit of ' + t.name" />
                </mat-form-field>
                <button mat-stroked-button type="submit" [disabled]="busy() === t.id" data-testid="tenant-limit-save">Save</button>
              </form>
            </td></ng-container>
          <ng-container matColumnDef="created"><th mat-header-cell *matHeaderCellDef scope="col">Since</th><td mat-cell *matCellDef="let t">{{ fmt(t.createdAt) }}</td></ng-container>
          <tr mat-header-row *matHeaderRowDef="columns"></tr>
          <tr mat-row *matRowDef="let t; columns: columns" data-testid="tenant-row" [attr.data-name]="t.name"></tr>
        </table></div>
        <p class="ob-muted small">An empty limit means no cap on live servers.</p>
      }
    </div>`,
  styles: `.limit { display: flex; gap: 8px; align-items: center; } .limit mat-form-field { width: 110px; } .small { font: var(--mat-sys-body-small); }
    td.mat-mdc-cell { padding-top: 6px; padding-bottom: 6px; }`,
})
export class TenantsPage {
  private readonly api = inject(ApiService);
  readonly columns = ['name', 'servers', 'members', 'limit', 'created'];
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
