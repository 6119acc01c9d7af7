import { ActivatedRoute, Router, RouterLink } from '@angular/router';
import { ChangeDetectionStrategy, Component, DestroyRef, computed, inject, signal } from '@angular/core';
import { MatButtonModule } from '@angular/material/button';
import { MatDialog } from '@angular/material/dialog';
import { MatFormFieldModule } from '@angular/material/form-field';
import { MatInputModule } from '@angular/material/input';
import { MatSelectModule } from '@angular/material/select';
import { MatTableModule } from '@angular/material/table';
import { Permission, SERVER_STATE_ORDER, type ServerState, type ServerView } from '@oblako/contracts';
import { firstValueFrom } from 'rxjs';
import { ApiService, type AdminServerFilter, type AdminServerView } from '../../core/api/api.service';
import { errorMessage } from '../../core/api/api-error';
import { AuthService } from '../../core/auth/auth.service';
import { ConfirmDialog, type ConfirmData } from '../../shared/confirm-dialog';
import { ErrorBanner } from '../../shared/error-banner';
import { LoadState } from '../../shared/load-state';
import { StateChip } from '../../shared/state-chip';
import { humanize } from '../../shared/format';
import { primaryAddress } from '../servers/servers-list';
import { adminLoadError } from './admin-load';

/** How long typing pauses before the search runs (and enters the URL), as in the customer's list. */
const SEARCH_DEBOUNCE_MS = 300;

/** What the list shows, as the URL says it (`q`, `tenant`, `node`, `state`), so a reload or a shared link keeps it. */
interface AdminServersView { q: string; tenantId: string | null; nodeId: string | null; state: ServerState | null }

export function adminServersViewFromQuery(p: { get(k: string): string | null }): AdminServersView {
  const state = p.get('state');
  return {
    q: (p.get('q') ?? '').trim().slice(0, 253),
    tenantId: p.get('tenant') || null,
    nodeId: p.get('node') || null,
    state: state && (SERVER_STATE_ORDER as readonly string[]).includes(state) ? (state as ServerState) : null,
  };
}

const sameView = (a: AdminServersView, b: AdminServersView) => a.q === b.q && a.tenantId === b.tenantId && a.nodeId === b.nodeId && a.state === b.state;

/**
 * Staff: every tenant's servers (a search that runs as one types, and filters by team, node and state, e.g. error),
 * with suspend and unsuspend. The search and filters live in the URL; a newer search aborts the older request.
 */
@Component({
  selector: 'ob-admin-servers',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [RouterLink, MatButtonModule, MatFormFieldModule, MatInputModule, MatSelectModule, MatTableModule, ErrorBanner, LoadState, StateChip],
  template: `
    <div class="ob-page" data-testid="admin-servers-page">
      <div class="ob-page-header">
        <h1>All servers</h1>
        <form class="filters" role="search" (submit)="$event.preventDefault(); commitSearch()" data-testid="admin-servers-filters">
        <mat-form-field subscriptSizing="dynamic">
          <mat-label>Search</mat-label>
          <input matInput type="search" name="q" [value]="q()" (input)="onSearchInput($any($event.target).value)" (keydown.enter)="commitSearch()" maxlength="253"
            placeholder="Host name or address" autocomplete="off" data-testid="admin-servers-search" />
        </mat-form-field>
        <mat-form-field subscriptSizing="dynamic">
          <mat-label>Team</mat-label>
          <mat-select [value]="view().tenantId" (selectionChange)="setFilter({ tenantId: $event.value })" data-testid="admin-servers-tenant">
            <mat-option [value]="null">every team</mat-option>
            @for (t of tenants(); track t.id) {<mat-option [value]="t.id">{{ t.name }}</mat-option>}
          </mat-select>
        </mat-form-field>
        @if (nodes().length) {
          <mat-form-field subscriptSizing="dynamic">
            <mat-label>Node</mat-label>
            <mat-select [value]="view().nodeId" (selectionChange)="setFilter({ nodeId: $event.value })" data-testid="admin-servers-node">
              <mat-option [value]="null">every node</mat-option>
              @for (n of nodes(); track n.id) {<mat-option [value]="n.id">{{ n.name }}</mat-option>}
            </mat-select>
          </mat-form-field>
        }
        <mat-form-field subscriptSizing="dynamic">
          <mat-label>State</mat-label>
          <mat-select [value]="view().state" (selectionChange)="setFilter({ state: $event.value })" data-testid="admin-servers-state">
            <mat-option [value]="null">all but deleted</mat-option>
            @for (s of states; track s) {<mat-option [value]="s">{{ humanize(s) }}</mat-option>}
          </mat-select>
        </mat-form-field>
        </form>
      </div>
      <ob-error-banner [message]="rowError()" testId="admin-server-error" />
      <ob-load-state [loading]="loading()" [error]="error()" [empty]="!loading() && !error() && items().length === 0" (retry)="load()">
        <p data-testid="admin-servers-empty">No servers{{ view().state ? ' in state ' + humanize(view().state!) : '' }}{{ view().q ? ' matching “' + view().q + '”' : '' }}{{ view().tenantId ? ' in ' + (tenantName(view().tenantId!) ?? 'this team') : '' }}{{ view().nodeId ? ' on ' + (nodeName(view().nodeId!) ?? 'this node') : '' }}.</p>
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
  private readonly router = inject(Router);
  private readonly route = inject(ActivatedRoute);
  /** In lifecycle order (the contract's SERVER_STATE_ORDER), as the lists sort by state. */
  readonly states = SERVER_STATE_ORDER;
  readonly columns = ['hostname', 'state', 'address', 'where', 'actions'];
  readonly items = signal<AdminServerView[]>([]);
  readonly next = signal<string | null>(null);
  /** The search and filters shown, from the URL. */
  readonly view = signal<AdminServersView>({ q: '', tenantId: null, nodeId: null, state: null });
  /** What is typed in the search box (it reaches the URL, and the API, once typing pauses). */
  readonly q = signal('');
  readonly tenants = signal<{ id: string; name: string }[]>([]);
  readonly nodes = signal<{ id: string; name: string }[]>([]);
  /** The filters the next page's cursor belongs to (the API refuses a cursor for others, 400 invalid_cursor). */
  private nextFilter: AdminServerFilter | null = null;
  readonly loading = signal(true);
  readonly error = signal<string | null>(null);
  readonly rowError = signal<string | null>(null);
  readonly busy = signal<string | null>(null);
  readonly canHold = computed(() => this.auth.permissions().has(Permission.TenantsManage));
  readonly canConsole = computed(() => this.auth.permissions().has(Permission.ConsolesOpen));
  humanize = humanize;
  address = primaryAddress;
  private searchTimer: ReturnType<typeof setTimeout> | null = null;
  /** Bumped by every load: an older answer (or "load more" of an older view) is dropped. */
  private seq = 0;
  private inflight: AbortController | null = null;
  private loaded = false;

  constructor() {
    const sub = this.route.queryParamMap.subscribe((p) => {
      const v = adminServersViewFromQuery(p);
      const changed = !sameView(v, this.view());
      this.view.set(v);
      // Back/forward bring the URL's search into the box; what is being typed stays.
      if (!this.searchTimer) this.q.set(v.q);
      if (changed || !this.loaded) void this.load();
    });
    inject(DestroyRef).onDestroy(() => {
      sub.unsubscribe();
      if (this.searchTimer) clearTimeout(this.searchTimer);
      this.inflight?.abort();
    });
    this.api.adminTenants().then((t) => this.tenants.set(t.map((x) => ({ id: x.id, name: x.name }))), () => {});
    // The node filter shows for staff who may list nodes; the rows name nodes either way.
    this.api.adminNodes().then((p) => this.nodes.set(p.items.map((n) => ({ id: n.id, name: n.name })).sort((a, b) => a.name.localeCompare(b.name))), () => {});
  }

  tenantName(id: string): string | undefined {
    return this.tenants().find((t) => t.id === id)?.name;
  }
  nodeName(id: string): string | undefined {
    return this.nodes().find((n) => n.id === id)?.name;
  }

  onSearchInput(text: string): void {
    this.q.set(text);
    if (this.searchTimer) clearTimeout(this.searchTimer);
    this.searchTimer = setTimeout(() => this.commitSearch(), SEARCH_DEBOUNCE_MS);
  }

  /** The typed search into the URL (replacing the entry: one history step per search, not per pause). */
  commitSearch(): void {
    if (this.searchTimer) clearTimeout(this.searchTimer);
    this.searchTimer = null;
    const q = this.q().trim();
    if (q === this.view().q) return;
    void this.router.navigate([], { relativeTo: this.route, queryParams: { q: q || null }, queryParamsHandling: 'merge', replaceUrl: true });
  }

  setFilter(f: Partial<Pick<AdminServersView, 'tenantId' | 'nodeId' | 'state'>>): void {
    const queryParams: Record<string, string | null> = {};
    if ('tenantId' in f) queryParams['tenant'] = f.tenantId ?? null;
    if ('nodeId' in f) queryParams['node'] = f.nodeId ?? null;
    if ('state' in f) queryParams['state'] = f.state ?? null;
    // A search still being typed goes with the filter, so the two never disagree.
    if (this.searchTimer) {
      clearTimeout(this.searchTimer);
      this.searchTimer = null;
      queryParams['q'] = this.q().trim() || null;
    }
    void this.router.navigate([], { relativeTo: this.route, queryParams, queryParamsHandling: 'merge' });
  }

  async load(): Promise<void> {
    const seq = ++this.seq;
    this.loaded = true;
    this.inflight?.abort();
    const inflight = (this.inflight = new AbortController());
    this.loading.set(true);
    this.error.set(null);
    const v = this.view();
    const filter: AdminServerFilter = { state: v.state, tenantId: v.tenantId, nodeId: v.nodeId, q: v.q };
    try {
      const page = await this.api.adminServers(null, filter, 25, inflight.signal);
      if (seq !== this.seq) return;
      this.items.set(page.items);
      this.next.set(page.nextCursor);
      this.nextFilter = page.nextCursor ? filter : null;
    } catch (e) {
      if (seq !== this.seq) return; // aborted or overtaken by a newer search
      this.error.set(adminLoadError(e, '/admin/servers'));
    } finally {
      if (seq === this.seq) {
        this.loading.set(false);
        this.inflight = null;
      }
    }
  }

  async more(): Promise<void> {
    const cursor = this.next();
    const filter = this.nextFilter;
    if (!cursor || !filter) return;
    const seq = this.seq;
    try {
      // The cursor's own filters and search, not what is typed by now.
      const page = await this.api.adminServers(cursor, filter);
      if (seq !== this.seq) return;
      const seen = new Set(this.items().map((s) => s.id));
      this.items.update((l) => [...l, ...page.items.filter((s) => !seen.has(s.id))]);
      this.next.set(page.nextCursor);
      this.nextFilter = page.nextCursor ? filter : null;
    } catch (e) {
      if (seq === this.seq) this.rowError.set(errorMessage(e));
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
