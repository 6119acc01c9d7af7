import { ChangeDetectionStrategy, Component, DestroyRef, computed, inject, signal } from '@angular/core';
import { RouterLink } from '@angular/router';
import { MatButtonModule } from '@angular/material/button';
import { MatTableModule } from '@angular/material/table';
import { FINISHED_TASK_STATES, Permission, isTransient, type ServerView } from '@oblako/contracts';
import { ApiService } from '../../core/api/api.service';
import { errorMessage } from '../../core/api/api-error';
import { AuthService } from '../../core/auth/auth.service';
import { LiveService, type LiveEvent } from '../../core/live/live.service';
import { LoadState } from '../../shared/load-state';
import { StateChip } from '../../shared/state-chip';
import { coalesce } from '../../shared/coalesce';
import { formatMoney } from '../../shared/format';

const PAGE_SIZE = 25;

export function primaryAddress(s: ServerView): string {
  const v4 = s.addresses.find((a) => a.family === 4);
  return (v4 ?? s.addresses[0])?.address ?? '—';
}

@Component({
  selector: 'ob-servers-list',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [RouterLink, MatButtonModule, MatTableModule, LoadState, StateChip],
  template: `
    <div class="ob-page" data-testid="servers-page">
      <div class="ob-page-header">
        <h1>Servers</h1>
        @if (canOrder()) {<a mat-flat-button routerLink="/order" data-testid="order-server">Order a server</a>}
      </div>
      <ob-load-state [loading]="loading()" [error]="error()" [empty]="!loading() && !error() && servers().length === 0" (retry)="reload()">
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
              <td mat-cell *matCellDef="let s" class="ob-card-title"><a [routerLink]="['/servers', s.id]" data-testid="server-link">{{ s.hostname }}</a></td>
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
              <td mat-cell *matCellDef="let s" data-label="Plan">{{ s.plan.name }} <span class="ob-muted">· {{ price(s) }}/mo</span></td>
            </ng-container>
            <ng-container matColumnDef="location">
              <th mat-header-cell *matHeaderCellDef scope="col">Location</th>
              <td mat-cell *matCellDef="let s" data-label="Location">{{ s.location.name }}</td>
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
  styles: `.more { display: flex; justify-content: center; padding: 16px; } td a { font-weight: 500; }`,
})
export class ServersListPage {
  private readonly api = inject(ApiService);
  private readonly auth = inject(AuthService);
  readonly columns = ['hostname', 'state', 'address', 'plan', 'location'];
  readonly servers = signal<ServerView[]>([]);
  readonly nextCursor = signal<string | null>(null);
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
    void this.reload();
    const live = inject(LiveService);
    const destroyRef = inject(DestroyRef);
    live.watch(destroyRef, (e) => void this.onLive(e));
    live.settle(destroyRef, () => this.servers().some((s) => isTransient(s.state) || (s.currentTask !== null && !FINISHED_TASK_STATES.includes(s.currentTask.state))), () => void this.refreshSoon());
  }

  readonly trackById = (_: number, s: ServerView) => s.id;
  address(s: ServerView): string {
    return primaryAddress(s);
  }
  price(s: ServerView): string {
    return formatMoney(s.plan.priceMonthlyCents, s.plan.currency);
  }

  async reload(): Promise<void> {
    this.loading.set(true);
    this.error.set(null);
    try {
      const page = await this.api.servers(null, PAGE_SIZE);
      this.servers.set(page.items.filter((s) => s.state !== 'deleted'));
      this.nextCursor.set(page.nextCursor);
    } catch (e) {
      this.error.set(errorMessage(e));
    } finally {
      this.loading.set(false);
    }
    if (this.missedWhileLoading) {
      this.missedWhileLoading = false;
      await this.refreshSoon();
    }
  }

  async loadMore(): Promise<void> {
    const cursor = this.nextCursor();
    if (!cursor) return;
    this.loadingMore.set(true);
    this.moreError.set(null);
    try {
      const page = await this.api.servers(cursor, PAGE_SIZE);
      const seen = new Set(this.servers().map((s) => s.id));
      this.servers.update((list) => [...list, ...page.items.filter((s) => !seen.has(s.id) && s.state !== 'deleted')]);
      this.nextCursor.set(page.nextCursor);
    } catch (e) {
      this.moreError.set(errorMessage(e));
    } finally {
      this.loadingMore.set(false);
    }
  }

  /** Quietly reload what is shown (polling, after reconnecting, after events). */
  private async refreshShown(): Promise<void> {
    if (this.loading()) {
      this.missedWhileLoading = true;
      return;
    }
    const page = await this.api.servers(null, Math.max(PAGE_SIZE, this.servers().length));
    this.servers.set(page.items.filter((s) => s.state !== 'deleted'));
    this.nextCursor.set(page.nextCursor);
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
      if (i === -1) return server ? [server, ...list] : list;
      const current = list[i] as ServerView;
      const copy = [...list];
      copy[i] = server ?? { ...current, state: state ?? current.state, currentTask: task ?? current.currentTask };
      return copy;
    });
    // New servers, addresses and anything the event did not carry.
    if (!server) await this.refreshSoon();
  }
}
