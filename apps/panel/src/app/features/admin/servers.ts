import { RouterLink } from '@angular/router';
import { ChangeDetectionStrategy, Component, computed, inject, signal } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { MatButtonModule } from '@angular/material/button';
import { MatDialog } from '@angular/material/dialog';
import { MatFormFieldModule } from '@angular/material/form-field';
import { MatInputModule } from '@angular/material/input';
import { MatSelectModule } from '@angular/material/select';
import { MatTableModule } from '@angular/material/table';
import { Permission, SERVER_STATE_ORDER, type ServerState, type ServerView } from '@oblako/contracts';
import { firstValueFrom } from 'rxjs';
import { ApiService, type AdminServerView } from '../../core/api/api.service';
import { errorMessage } from '../../core/api/api-error';
import { AuthService } from '../../core/auth/auth.service';
import { ConfirmDialog, type ConfirmData } from '../../shared/confirm-dialog';
import { ErrorBanner } from '../../shared/error-banner';
import { LoadState } from '../../shared/load-state';
import { StateChip } from '../../shared/state-chip';
import { humanize } from '../../shared/format';
import { primaryAddress } from '../servers/servers-list';
import { adminLoadError } from './admin-load';

/** Staff: every tenant's servers (search, and filter by team and by state, e.g. error), with suspend and unsuspend. */
@Component({
  selector: 'ob-admin-servers',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [FormsModule, RouterLink, MatButtonModule, MatFormFieldModule, MatInputModule, MatSelectModule, MatTableModule, ErrorBanner, LoadState, StateChip],
  template: `
    <div class="ob-page" data-testid="admin-servers-page">
      <div class="ob-page-header">
        <h1>All servers</h1>
        <form class="filters" role="search" (submit)="$event.preventDefault(); load()" data-testid="admin-servers-filters">
        <mat-form-field subscriptSizing="dynamic">
          <mat-label>Search</mat-label>
          <input matInput type="search" name="q" [ngModel]="q()" (ngModelChange)="q.set($event)" (keydown.enter)="load()" (blur)="load()" maxlength="253"
            placeholder="Host name or address" autocomplete="off" data-testid="admin-servers-search" />
        </mat-form-field>
        <mat-form-field subscriptSizing="dynamic">
          <mat-label>Team</mat-label>
          <mat-select [ngModel]="tenantId()" (ngModelChange)="tenantId.set($event); load()" name="tenant" data-testid="admin-servers-tenant">
            <mat-option [value]="null">every team</mat-option>
            @for (t of tenants(); track t.id) {<mat-option [value]="t.id">{{ t.name }}</mat-option>}
          </mat-select>
        </mat-form-field>
        <mat-form-field subscriptSizing="dynamic">
          <mat-label>State</mat-label>
          <mat-select [ngModel]="state()" (ngModelChange)="filter($event)" data-testid="admin-servers-state">
            <mat-option [value]="null">all but deleted</mat-option>
            @for (s of states; track s) {<mat-option [value]="s">{{ humanize(s) }}</mat-option>}
          </mat-select>
        </mat-form-field>
        </form>
      </div>
      <ob-error-banner [message]="rowError()" testId="admin-server-error" />
      <ob-load-state [loading]="loading()" [error]="error()" [empty]="!loading() && !error() && items().length === 0" (retry)="load()">
        <p>No servers{{ state() ? ' in state ' + humanize(state()!) : '' }}{{ q().trim() ? ' matching “' + q().trim() + '”' : '' }}{{ tenantId() ? ' in this team' : '' }}.</p>
      </ob-load-state>
      @if (!loading() && items().length) {
        <div class="ob-table-wrap" tabindex="0" role="region" aria-label="Servers"><table mat-table class="ob-cards" [dataSource]="items()" data-testid="admin-servers-table">
          <ng-container matColumnDef="hostname"><th mat-header-cell *matHeaderCellDef scope="col">Server</th>
            <td mat-cell *matCellDef="let s" data-label="Server"><strong class="ob-name" [title]="s.hostname">{{ s.hostname }}</strong><br /><span class="ob-muted small ob-name" [title]="'Team ' + s.tenantName">{{ s.tenantName }}</span></td></ng-container>
          <ng-container matColumnDef="state"><th mat-header-cell *matHeaderCellDef scope="col">State</th>
            <td mat-cell *matCellDef="let s" data-label="State"><ob-state-chip [state]="s.state" />
              @if (s.currentTask?.error) {<div class="err small">{{ s.currentTask.error }}</div>}</td></ng-container>
          <ng-container matColumnDef="address"><th mat-header-cell *matHeaderCellDef scope="col">Address</th><td mat-cell *matCellDef="let s" data-label="Address" class="ob-mono">{{ address(s) }}</td></ng-container>
          <ng-container matColumnDef="where"><th mat-header-cell *matHeaderCellDef scope="col">Plan · location · node</th>
            <td mat-cell *matCellDef="let s" data-label="Plan · location · node">{{ s.plan.name }} · {{ s.location.name }}<br /><span class="ob-muted small">@if (s.nodeId) {<a [routerLink]="['/admin/nodes', s.nodeId]">{{ s.nodeName ?? 'a removed node' }}</a>} @else {not placed}</span></td></ng-container>
          <ng-container matColumnDef="actions"><th mat-header-cell *matHeaderCellDef scope="col"><span class="ob-visually-hidden">Actions</span></th>
            <td mat-cell *matCellDef="let s">
              @if (canHold()) {
                @if (s.state === 'suspended') {
                  <button mat-stroked-button type="button" (click)="hold(s, false)" [disabled]="busy() === s.id" data-testid="admin-server-unsuspend">Unsuspend</button>
                } @else if (s.state === 'running' || s.state === 'stopped') {
                  <button mat-stroked-button type="button" (click)="hold(s, true)" [disabled]="busy() === s.id" data-testid="admin-server-suspend">Suspend</button>
                }
              }
              @if (canConsole() && s.state === 'running') {
                <a mat-button [routerLink]="['/admin/servers', s.id, 'console', 'vnc']" data-testid="admin-server-console-vnc">VNC</a>
                <a mat-button [routerLink]="['/admin/servers', s.id, 'console', 'serial']" data-testid="admin-server-console-serial">Serial</a>
              }
            </td></ng-container>
          <tr mat-header-row *matHeaderRowDef="columns"></tr>
          <tr mat-row *matRowDef="let s; columns: columns" data-testid="admin-server-row" [attr.data-hostname]="s.hostname" [attr.data-state]="s.state"></tr>
        </table></div>
        @if (next()) {<div class="more"><button mat-stroked-button type="button" (click)="more()" data-testid="admin-servers-more">Load more</button></div>}
      }
    </div>`,
  styles: `.filters { display: flex; flex-wrap: wrap; gap: 8px; } .small { font: var(--mat-sys-body-small); } .err { color: var(--mat-sys-error); max-width: 40ch; }
    .more { display: flex; justify-content: center; padding: 16px; } td.mat-mdc-cell { padding-top: 6px; padding-bottom: 6px; }`,
})
export class AdminServersPage {
  private readonly api = inject(ApiService);
  private readonly auth = inject(AuthService);
  private readonly dialog = inject(MatDialog);
  /** In lifecycle order (the contract's SERVER_STATE_ORDER), as the lists sort by state. */
  readonly states = SERVER_STATE_ORDER;
  readonly columns = ['hostname', 'state', 'address', 'where', 'actions'];
  readonly items = signal<AdminServerView[]>([]);
  readonly next = signal<string | null>(null);
  readonly state = signal<ServerState | null>(null);
  readonly tenantId = signal<string | null>(null);
  readonly q = signal('');
  readonly tenants = signal<{ id: string; name: string }[]>([]);
  /** The filters the next page's cursor belongs to (the API refuses a cursor for others). */
  private nextFilter: { state: ServerState | null; tenantId: string | null; q: string } | null = null;
  readonly loading = signal(true);
  readonly error = signal<string | null>(null);
  readonly rowError = signal<string | null>(null);
  readonly busy = signal<string | null>(null);
  readonly canHold = computed(() => this.auth.permissions().has(Permission.TenantsManage));
  readonly canConsole = computed(() => this.auth.permissions().has(Permission.ConsolesOpen));
  humanize = humanize;
  address = primaryAddress;

  constructor() {
    void this.load();
    this.api.adminTenants().then((t) => this.tenants.set(t.map((x) => ({ id: x.id, name: x.name }))), () => {});
  }

  filter(state: ServerState | null): void {
    this.state.set(state);
    void this.load();
  }

  async load(): Promise<void> {
    this.loading.set(true);
    this.error.set(null);
    try {
      const filter = { state: this.state(), tenantId: this.tenantId(), q: this.q().trim() };
      const page = await this.api.adminServers(null, filter);
      this.items.set(page.items);
      this.next.set(page.nextCursor);
      this.nextFilter = filter;
    } catch (e) {
      this.error.set(adminLoadError(e, '/admin/servers'));
    } finally {
      this.loading.set(false);
    }
  }

  async more(): Promise<void> {
    try {
      const page = await this.api.adminServers(this.next(), this.nextFilter ?? {});
      const seen = new Set(this.items().map((s) => s.id));
      this.items.update((l) => [...l, ...page.items.filter((s) => !seen.has(s.id))]);
      this.next.set(page.nextCursor);
    } catch (e) {
      this.rowError.set(errorMessage(e));
    }
  }

  async hold(s: ServerView, suspend: boolean): Promise<void> {
    const data: ConfirmData = suspend
      ? { title: `Suspend ${s.hostname}?`, message: 'It is stopped and its owner cannot start it until staff unsuspend it. The reason goes to the audit log.', confirmLabel: 'Suspend', danger: true, reasonLabel: 'Reason' }
      : { title: `Unsuspend ${s.hostname}?`, message: 'Its owner may start it again. A billing suspension stays until the account is paid.', confirmLabel: 'Unsuspend', reasonLabel: 'Reason' };
    const reason = await firstValueFrom(this.dialog.open<ConfirmDialog, ConfirmData, boolean | string>(ConfirmDialog, { data, width: '460px', maxWidth: '95vw' }).afterClosed());
    if (typeof reason !== 'string') return;
    this.busy.set(s.id);
    this.rowError.set(null);
    try {
      if (suspend) await this.api.suspendServer(s.id, reason);
      else await this.api.unsuspendServer(s.id, reason);
      await this.load();
    } catch (e) {
      this.rowError.set(errorMessage(e));
    } finally {
      this.busy.set(null);
    }
  }
}
