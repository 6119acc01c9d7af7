import { ChangeDetectionStrategy, Component, DestroyRef, computed, inject, signal } from '@angular/core';
import { ActivatedRoute, Router, RouterLink } from '@angular/router';
import { MatButtonModule } from '@angular/material/button';
import { MatDialog } from '@angular/material/dialog';
import { MatTableModule } from '@angular/material/table';
import { FINISHED_TASK_STATES, Permission, isTransient, type ServerView } from '@oblako/contracts';
import { ApiService, type ServerListView, type ServerSort, type SortOrder } from '../../core/api/api.service';
import { errorMessage } from '../../core/api/api-error';
import { AuthService } from '../../core/auth/auth.service';
import { LiveService, type LiveEvent } from '../../core/live/live.service';
import { ErrorBanner } from '../../shared/error-banner';
import { LoadState } from '../../shared/load-state';
import { StateChip } from '../../shared/state-chip';
import { coalesce } from '../../shared/coalesce';
import { formatPlanPrice } from '../../shared/format';
import { ROW_ACTIONS, actionStates, confirmAction, type ActionState } from './server-actions';
import { inStateOrder } from './list-order';
import { groupReasons } from './action-reasons';

/** How long typing pauses before the search runs (and enters the URL). */
const SEARCH_DEBOUNCE_MS = 300;

/** The orders the list offers: value "sort:order". */
export const LIST_ORDERS: readonly { value: string; label: string; sort: ServerSort; order: SortOrder }[] = [
  { value: 'created:desc', label: 'Newest first', sort: 'created', order: 'desc' },
  { value: 'created:asc', label: 'Oldest first', sort: 'created', order: 'asc' },
  { value: 'name:asc', label: 'Host name A–Z', sort: 'name', order: 'asc' },
  { value: 'name:desc', label: 'Host name Z–A', sort: 'name', order: 'desc' },
  { value: 'state:asc', label: 'State', sort: 'state', order: 'asc' },
];

/** The list's view from the URL (?q=&sort=&order=); anything unknown falls back to newest first. */
export function viewFromQuery(q: string | null, sort: string | null, order: string | null): { q: string; order: (typeof LIST_ORDERS)[number] } {
  const wanted = `${sort ?? 'created'}:${order ?? (sort && sort !== 'created' ? 'asc' : 'desc')}`;
  return { q: (q ?? '').slice(0, 253), order: LIST_ORDERS.find((o) => o.value === wanted) ?? LIST_ORDERS[0]! };
}

const PAGE_SIZE = 25;

export function primaryAddress(s: ServerView): string {
  const v4 = s.addresses.find((a) => a.family === 4);
  return (v4 ?? s.addresses[0])?.address ?? '—';
}

@Component({
  selector: 'ob-servers-list',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [RouterLink, MatButtonModule, MatTableModule, ErrorBanner, LoadState, StateChip],
  template: `
    <div class="ob-page" data-testid="servers-page">
      <div class="ob-page-header">
        <h1>Servers</h1>
        @if (canOrder()) {<a mat-flat-button routerLink="/order" data-testid="order-server">Order a server</a>}
      </div>
      @if (hasAny()) {
        <div class="toolbar" role="search">
          <label class="field">
            <span>Search</span>
            <input type="search" [value]="searchText()" (input)="onSearchInput($any($event.target).value)" (keydown.enter)="commitSearch()"
              placeholder="Host name or address" maxlength="253" autocomplete="off" data-testid="servers-search" aria-describedby="servers-search-hint" />
            <small id="servers-search-hint" class="ob-muted">Part of a host name, or the start of an address</small>
          </label>
          <label class="field">
            <span>Sort</span>
            <select [value]="view().order.value" (change)="setOrder($any($event.target).value)" data-testid="servers-sort">
              @for (o of orders; track o.value) {<option [value]="o.value" [selected]="o.value === view().order.value">{{ o.label }}</option>}
            </select>
          </label>
        </div>
      }
      <ob-error-banner [message]="rowError()" testId="row-action-error" />
      @if (!loading() && !error() && servers().length === 0 && view().q) {
        <div class="no-match" role="status" data-testid="servers-no-match">
          <p><strong>No servers match “{{ view().q }}”.</strong> Search looks at host names and the start of addresses.</p>
          <button mat-stroked-button type="button" (click)="clearSearch()" data-testid="servers-clear-search">Clear the search</button>
        </div>
      }
      <ob-load-state [loading]="loading()" [error]="error()" [empty]="!loading() && !error() && servers().length === 0 && !view().q" (retry)="reload()">
        <p><strong>No servers yet.</strong></p>
        @if (canOrder()) {<p>Order your first server: choose a location, a plan and an image, and it runs in seconds.</p>
          <a mat-flat-button routerLink="/order" data-testid="order-first-server">Order a server</a>}
      </ob-load-state>
      @if (!loading() && servers().length > 0) {
        <div class="ob-table-wrap" tabindex="0" role="region" aria-label="Servers">
          <table mat-table class="ob-cards" [dataSource]="servers()" [trackBy]="trackById" data-testid="servers-table">
            <caption class="ob-visually-hidden">Your servers</caption>
            <ng-container matColumnDef="hostname">
              <th mat-header-cell *matHeaderCellDef scope="col">Host name</th>
              <td mat-cell *matCellDef="let s" class="ob-card-title"><a class="ob-name" [routerLink]="['/servers', s.id]" [title]="s.hostname" data-testid="server-link">{{ s.hostname }}</a></td>
            </ng-container>
            <ng-container matColumnDef="state">
              <th mat-header-cell *matHeaderCellDef scope="col">State</th>
              <td mat-cell *matCellDef="let s" data-label="State" data-testid="server-state" [attr.data-state]="s.state"><ob-state-chip [state]="s.state" />@if (s.nodeReachable === false) { <ob-state-chip state="node_unreachable" data-testid="node-unreachable" />}</td>
            </ng-container>
            <ng-container matColumnDef="address">
              <th mat-header-cell *matHeaderCellDef scope="col">Address</th>
              <td mat-cell *matCellDef="let s" data-label="Address" class="ob-mono" data-testid="server-address">{{ address(s) }}</td>
            </ng-container>
            <ng-container matColumnDef="plan">
              <th mat-header-cell *matHeaderCellDef scope="col">Plan</th>
              <td mat-cell *matCellDef="let s" data-label="Plan">{{ s.plan.name }} <span class="ob-muted">· {{ price(s) }}</span></td>
            </ng-container>
            <ng-container matColumnDef="location">
              <th mat-header-cell *matHeaderCellDef scope="col">Location</th>
              <td mat-cell *matCellDef="let s" data-label="Location">{{ s.location.name }}</td>
            </ng-container>
            <ng-container matColumnDef="actions">
              <th mat-header-cell *matHeaderCellDef scope="col">Actions</th>
              <td mat-cell *matCellDef="let s" data-label="Actions" class="row-actions">
                @let acts = rowActions(s);
                @let why = reasons(acts, s.id);
                <div role="group" [attr.aria-label]="'Power actions for ' + s.hostname">
                  @for (a of acts; track a.action) {
                    <!-- disabledInteractive: a disabled action stays in the tab order (aria-disabled, not disabled), so a
                         keyboard user reaches it and hears its reason; runRow does nothing for it. -->
                    <button mat-stroked-button type="button" [disabled]="!a.enabled" disabledInteractive (click)="runRow(a, s)"
                      [attr.data-testid]="'row-action-' + a.action" [attr.aria-describedby]="why.describedBy[a.action] ?? null">
                      {{ busyRow() === s.id + a.action ? a.label + '…' : a.label }}</button>
                  }
                </div>
                @if (why.groups.length) {
                  <!-- One line per distinct reason, cut at two lines; the whole text is the title (hover) and, through
                       aria-describedby, what a screen reader reads for each button. -->
                  <ul class="ob-why row-why" data-testid="row-action-reasons">
                    @for (g of why.groups; track g.id) {
                      <li [id]="g.id" data-testid="row-why" [attr.data-actions]="g.actions.join(' ')" [title]="g.labels + ': ' + g.reason"><strong>{{ g.labels }}:</strong> {{ g.reason }}</li>
                    }
                  </ul>
                }
              </td>
            </ng-container>
            <tr mat-header-row *matHeaderRowDef="columns"></tr>
            <tr mat-row *matRowDef="let s; columns: columns" data-testid="server-row" [attr.data-server-id]="s.id"
              [attr.data-hostname]="s.hostname" [attr.data-state]="s.state"></tr>
          </table>
        </div>
        @if (nextCursor()) {
          <div class="more">
            <button mat-stroked-button type="button" (click)="loadMore()" [disabled]="loadingMore()" data-testid="servers-load-more">
              {{ loadingMore() ? 'Loading…' : 'Load more' }}
            </button>
          </div>
        }
        @if (moreError()) {<p class="ob-error" role="alert">{{ moreError() }}</p>}
      }
    </div>`,
  styles: `.more { display: flex; justify-content: center; padding: 16px; } td a { font-weight: 500; }
    .toolbar { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-end; margin-bottom: 12px; }
    .field { display: flex; flex-direction: column; gap: 4px; }
    .field input { min-width: min(320px, 80vw); }
    .field input, .field select { font: inherit; padding: 6px 8px; }
    .no-match { padding: 16px 0; }
    /* Buttons keep their width and wrap as a whole; the reasons below take the cell's width and at most two lines each. */
    td.row-actions { max-width: 24rem; }
    .row-actions [role=group] { display: flex; flex-wrap: nowrap; gap: 4px; }
    .row-actions [role=group] button { flex: none; white-space: nowrap; min-width: 0; padding: 0 14px; }
    td .ob-name { max-width: min(24ch, 28vw); }
    .row-why li { display: -webkit-box; -webkit-box-orient: vertical; -webkit-line-clamp: 2; line-clamp: 2; overflow: hidden; }
    @media (max-width: 600px) {
      td.row-actions { max-width: none; flex-wrap: wrap; }
      .row-actions [role=group] { flex: 1 1 0; min-width: 0; flex-wrap: wrap; }
      .row-actions .row-why { flex: 1 1 100%; margin: 0; }
      /* A card has the width, and a phone has no hover: up to four lines, and the host name takes the card's width. */
      .row-why li { -webkit-line-clamp: 4; line-clamp: 4; }
      td .ob-name { max-width: 100%; }
    }`,
})
export class ServersListPage {
  private readonly api = inject(ApiService);
  private readonly auth = inject(AuthService);
  private readonly router = inject(Router);
  private readonly route = inject(ActivatedRoute);
  private readonly dialog = inject(MatDialog);
  readonly columns = ['hostname', 'state', 'address', 'plan', 'location', 'actions'];
  readonly orders = LIST_ORDERS;
  /** The search and order shown, from the URL (so reload and back keep them). */
  readonly view = signal(viewFromQuery(null, null, null));
  /** What is typed in the search box (it reaches the URL once typing pauses). */
  readonly searchText = signal('');
  /** The team has servers at all (the search and sort show only then); a search with no match keeps them. */
  readonly hasAny = signal(false);
  readonly busyRow = signal<string | null>(null);
  readonly rowError = signal<string | null>(null);
  readonly canWrite = computed(() => this.auth.permissions().has(Permission.ServersWrite));
  private searchTimer: ReturnType<typeof setTimeout> | null = null;
  private seq = 0;
  readonly servers = signal<ServerView[]>([]);
  readonly nextCursor = signal<string | null>(null);
  private cursorView: ServerListView | null = null;
  readonly loading = signal(true);
  readonly loadingMore = signal(false);
  readonly error = signal<string | null>(null);
  readonly moreError = signal<string | null>(null);
  /** A suspended team orders nothing: the button goes (the banner above says why), not a refusal at the last step. */
  readonly canOrder = computed(() => this.auth.permissions().has(Permission.ServersWrite) && !this.auth.membership()?.suspendedAt);
  /** Reload what is shown; bursts of live events cause one more reload, never a lost one. */
  private readonly refreshSoon = coalesce(() => this.refreshShown());
  /** A live event or tick came while a full load was in flight: reload once it is done. */
  private missedWhileLoading = false;

  constructor() {
    const destroyRefForUrl = inject(DestroyRef);
    const sub = this.route.queryParamMap.subscribe((p) => {
      const v = viewFromQuery(p.get('q'), p.get('sort'), p.get('order'));
      const changed = v.q !== this.view().q || v.order.value !== this.view().order.value;
      this.view.set(v);
      // Back/forward bring the URL's search into the box; what is being typed stays.
      if (!this.searchTimer) this.searchText.set(v.q);
      if (changed || this.loading()) void this.reload();
    });
    destroyRefForUrl.onDestroy(() => {
      sub.unsubscribe();
      if (this.searchTimer) clearTimeout(this.searchTimer);
    });
    const live = inject(LiveService);
    const destroyRef = inject(DestroyRef);
    live.watch(destroyRef, (e) => void this.onLive(e));
    live.settle(destroyRef, () => this.servers().some((s) => isTransient(s.state) || (s.currentTask !== null && !FINISHED_TASK_STATES.includes(s.currentTask.state))), () => void this.refreshSoon());
  }

  readonly trackById = (_: number, s: ServerView) => s.id;

  private listView(): ServerListView {
    const v = this.view();
    return { ...(v.q.trim() ? { q: v.q.trim() } : {}), sort: v.order.sort, order: v.order.order };
  }

  onSearchInput(text: string): void {
    this.searchText.set(text);
    if (this.searchTimer) clearTimeout(this.searchTimer);
    this.searchTimer = setTimeout(() => this.commitSearch(), SEARCH_DEBOUNCE_MS);
  }

  commitSearch(): void {
    if (this.searchTimer) clearTimeout(this.searchTimer);
    this.searchTimer = null;
    const q = this.searchText().trim();
    if (q === this.view().q) return;
    void this.router.navigate([], { relativeTo: this.route, queryParams: { q: q || null }, queryParamsHandling: 'merge' });
  }

  clearSearch(): void {
    this.searchText.set('');
    this.commitSearch();
  }

  setOrder(value: string): void {
    const o = LIST_ORDERS.find((x) => x.value === value) ?? LIST_ORDERS[0]!;
    const isDefault = o === LIST_ORDERS[0];
    void this.router.navigate([], { relativeTo: this.route, queryParams: { sort: isDefault ? null : o.sort, order: isDefault ? null : o.order }, queryParamsHandling: 'merge' });
  }

  reasons(acts: ActionState[], serverId: string): ReturnType<typeof groupReasons> {
    return groupReasons(acts, `why-${serverId}-`);
  }

  rowActions(s: ServerView): ActionState[] {
    return actionStates(s, ROW_ACTIONS, { canWrite: this.canWrite(), busy: this.busyRow()?.startsWith(s.id) ?? false });
  }

  /** Start, stop or reboot from the row, with the server page's confirmation. */
  async runRow(a: ActionState, s: ServerView): Promise<void> {
    if (!a.enabled) return; // a disabled action is focusable (to read why), never activatable
    if (!(await confirmAction(this.dialog, a, s))) return;
    if (a.action === 'delete') return;
    this.busyRow.set(s.id + a.action);
    this.rowError.set(null);
    try {
      const accepted = await this.api.serverAction(s.id, a.action);
      this.servers.update((list) => list.map((x) => (x.id === accepted.id ? accepted : x)));
    } catch (e) {
      this.rowError.set(`${a.label} ${s.hostname}: ${errorMessage(e)}`);
    } finally {
      this.busyRow.set(null);
    }
  }
  address(s: ServerView): string {
    return primaryAddress(s);
  }
  price(s: ServerView): string {
    return formatPlanPrice(s.plan);
  }

  async reload(): Promise<void> {
    const seq = ++this.seq;
    this.loading.set(true);
    this.error.set(null);
    this.moreError.set(null);
    const view = this.listView();
    try {
      const page = await this.api.servers(null, PAGE_SIZE, view);
      if (seq !== this.seq) return;
      this.servers.set(page.items.filter((s) => s.state !== 'deleted'));
      this.setCursor(page.nextCursor, view);
      this.hasAny.set(page.items.length > 0 || !!view.q);
    } catch (e) {
      if (seq !== this.seq) return;
      this.error.set(errorMessage(e));
    } finally {
      if (seq === this.seq) this.loading.set(false);
    }
    if (seq !== this.seq) return;
    if (this.missedWhileLoading) {
      this.missedWhileLoading = false;
      await this.refreshSoon();
    }
  }

  async loadMore(): Promise<void> {
    const cursor = this.nextCursor();
    const view = this.cursorView;
    if (!cursor || !view) return;
    this.loadingMore.set(true);
    this.moreError.set(null);
    try {
      const seq = this.seq;
      // The cursor's own search and order (the API refuses it for any other), not what the URL says by now.
      const page = await this.api.servers(cursor, PAGE_SIZE, view);
      if (seq !== this.seq) return;
      const seen = new Set(this.servers().map((s) => s.id));
      this.servers.update((list) => [...list, ...page.items.filter((s) => !seen.has(s.id) && s.state !== 'deleted')]);
      this.setCursor(page.nextCursor, view);
    } catch (e) {
      this.moreError.set(errorMessage(e));
    } finally {
      this.loadingMore.set(false);
    }
  }

  /** The next page's cursor and the search and order it was issued for. */
  private setCursor(cursor: string | null, view: ServerListView): void {
    this.nextCursor.set(cursor);
    this.cursorView = cursor ? view : null;
  }

  /** Quietly reload what is shown (polling, after reconnecting, after events). */
  private async refreshShown(): Promise<void> {
    if (this.loading()) {
      this.missedWhileLoading = true;
      return;
    }
    const seq = this.seq;
    const view = this.listView();
    const page = await this.api.servers(null, Math.min(100, Math.max(PAGE_SIZE, this.servers().length)), view);
    if (seq !== this.seq) return;
    if (page.items.length) this.hasAny.set(true);
    this.servers.set(page.items.filter((s) => s.state !== 'deleted'));
    this.setCursor(page.nextCursor, view);
    this.error.set(null);
  }

  private async onLive(e: LiveEvent): Promise<void> {
    if (this.loading()) this.missedWhileLoading = true;
    if (e.kind === 'tick') return this.refreshSoon();
    if (e.deleted) {
      this.servers.update((list) => list.filter((s) => s.id !== e.serverId));
      return;
    }
    const { server, state, task } = e;
    this.servers.update((list) => {
      const i = list.findIndex((s) => s.id === e.serverId);
      // A new server goes on top of the default order; a search or another order asks the API where it belongs.
      if (i === -1) return server && !this.view().q && this.view().order === LIST_ORDERS[0] ? [server, ...list] : list;
      const current = list[i] as ServerView;
      const copy = [...list];
      copy[i] = server ?? { ...current, state: state ?? current.state, currentTask: task ?? current.currentTask };
      // In state order a new state moves the row now (the lifecycle order the API sorts by); the reload below confirms it.
      return this.view().order.sort === 'state' ? inStateOrder(copy, this.view().order.order) : copy;
    });
    // New servers, addresses and anything the event did not carry; in another order a state change can move the row.
    if (!server || this.view().q || this.view().order !== LIST_ORDERS[0]) await this.refreshSoon();
  }
}
