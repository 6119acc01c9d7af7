import { ChangeDetectionStrategy, Component, computed, inject, signal } from '@angular/core';
import { RouterLink } from '@angular/router';
import { MatButtonModule } from '@angular/material/button';
import { MatDialog } from '@angular/material/dialog';
import { MatTableModule } from '@angular/material/table';
import { Permission } from '@oblako/contracts';
import { firstValueFrom } from 'rxjs';
import { ApiService, type InvoiceView, type SubscriptionView, type UpcomingInvoiceView } from '../../core/api/api.service';
import { errorMessage } from '../../core/api/api-error';
import { AuthService } from '../../core/auth/auth.service';
import { ConfirmDialog, type ConfirmData } from '../../shared/confirm-dialog';
import { ErrorBanner } from '../../shared/error-banner';
import { LoadState } from '../../shared/load-state';
import { StateChip } from '../../shared/state-chip';
import { formatDateTime, formatMoney } from '../../shared/format';

/** Customer billing: one subscription per server, invoices, and the Stripe portal for cards. */
@Component({
  selector: 'ob-billing',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [RouterLink, MatButtonModule, MatTableModule, ErrorBanner, LoadState, StateChip],
  template: `
    <div class="ob-page" data-testid="billing-page">
      <div class="ob-page-header">
        <h1>Billing</h1>
        @if (canManage()) {<button mat-flat-button type="button" (click)="portal()" [disabled]="busy() === 'portal'" data-testid="billing-portal">Cards and invoices (Stripe)</button>}
      </div>
      <ob-error-banner [message]="actionError()" testId="billing-error" />
      <h2>Subscriptions</h2>
      <ob-load-state [loading]="loading()" [error]="error()" [empty]="!loading() && !error() && subs().length === 0" (retry)="load()"><p>No subscriptions yet: each server you order gets one.</p></ob-load-state>
      @if (!loading() && subs().length) {
        <div class="ob-table-wrap" tabindex="0" role="region" aria-label="Subscriptions"><table mat-table class="ob-cards" [dataSource]="subs()" data-testid="subscriptions-table">
          <ng-container matColumnDef="server"><th mat-header-cell *matHeaderCellDef scope="col">Server</th>
            <td mat-cell *matCellDef="let s" data-label="Server"><a [routerLink]="['/servers', s.serverId]">{{ s.hostname }}</a></td></ng-container>
          <ng-container matColumnDef="status"><th mat-header-cell *matHeaderCellDef scope="col">Status</th>
            <td mat-cell *matCellDef="let s" data-label="Status"><ob-state-chip [state]="s.status ?? s.order" />
              @if (s.suspension) {<div class="ob-error small">suspended ({{ s.suspension }})</div>}
              @if (s.cancelAtPeriodEnd) {<div class="ob-muted small">ends at period end</div>}</td></ng-container>
          <ng-container matColumnDef="period"><th mat-header-cell *matHeaderCellDef scope="col">Paid until</th><td mat-cell *matCellDef="let s" data-label="Paid until">{{ fmt(s.currentPeriodEnd) }}</td></ng-container>
          <ng-container matColumnDef="actions"><th mat-header-cell *matHeaderCellDef scope="col"><span class="ob-visually-hidden">Actions</span></th>
            <td mat-cell *matCellDef="let s">
              @if (s.order === 'pending' && canManage()) {
                <button mat-flat-button type="button" (click)="pay(s)" [disabled]="busy() === s.serverId" data-testid="billing-pay">Pay now</button>
              } @else if (s.status === 'active' && !s.cancelAtPeriodEnd && canManage()) {
                <button mat-button type="button" (click)="cancel(s)" [disabled]="busy() === s.serverId" data-testid="billing-cancel">Cancel at period end</button>
              }
            </td></ng-container>
          <tr mat-header-row *matHeaderRowDef="subColumns"></tr>
          <tr mat-row *matRowDef="let s; columns: subColumns" data-testid="subscription-row" [attr.data-hostname]="s.hostname"></tr>
        </table></div>
      }
      <h2>Next invoice</h2>
      @if (!loading() && !error()) {
        @if (upcoming().length === 0) {<p class="ob-muted">Nothing is due yet.</p>}
        @else {
          <div class="ob-table-wrap" tabindex="0" role="region" aria-label="Next invoice"><table mat-table [dataSource]="upcomingLines()" data-testid="upcoming-table">
            <ng-container matColumnDef="server"><th mat-header-cell *matHeaderCellDef scope="col">Server</th>
              <td mat-cell *matCellDef="let l"><a [routerLink]="['/servers', l.serverId]">{{ l.hostname }}</a></td></ng-container>
            <ng-container matColumnDef="item"><th mat-header-cell *matHeaderCellDef scope="col">Item</th>
              <td mat-cell *matCellDef="let l">@if (l.billedPer === 'hour') {{{ l.quantity }} {{ l.quantity === 1 ? 'hour' : 'hours' }} of {{ l.planName }} at {{ money(l.unitAmount ?? 0, l.currency) }} per hour}
                @else {{{ l.description }}}</td></ng-container>
            <ng-container matColumnDef="period"><th mat-header-cell *matHeaderCellDef scope="col">Period</th><td mat-cell *matCellDef="let l">{{ fmt(l.periodStart) }} – {{ fmt(l.periodEnd) }}</td></ng-container>
            <ng-container matColumnDef="amount"><th mat-header-cell *matHeaderCellDef scope="col">Amount</th><td mat-cell *matCellDef="let l">{{ money(l.amount, l.currency) }}</td></ng-container>
            <tr mat-header-row *matHeaderRowDef="upColumns"></tr>
            <tr mat-row *matRowDef="let l; columns: upColumns" data-testid="upcoming-row" [attr.data-hostname]="l.hostname"></tr>
          </table></div>
        }
      }
      <h2>Invoices</h2>
      @if (!loading() && !error()) {
        @if (invoices().length === 0) {<p class="ob-muted">No invoices yet.</p>}
        @else {
          <div class="ob-table-wrap" tabindex="0" role="region" aria-label="Invoices"><table mat-table class="ob-cards" [dataSource]="invoices()" data-testid="invoices-table">
            <ng-container matColumnDef="number"><th mat-header-cell *matHeaderCellDef scope="col">Invoice</th><td mat-cell *matCellDef="let i" data-label="Invoice">{{ i.number ?? i.id }}</td></ng-container>
            <ng-container matColumnDef="date"><th mat-header-cell *matHeaderCellDef scope="col">Date</th><td mat-cell *matCellDef="let i" data-label="Date">{{ fmt(i.createdAt) }}</td></ng-container>
            <ng-container matColumnDef="amount"><th mat-header-cell *matHeaderCellDef scope="col">Amount</th><td mat-cell *matCellDef="let i" data-label="Amount">{{ money(i.amountDue, i.currency) }}</td></ng-container>
            <ng-container matColumnDef="status"><th mat-header-cell *matHeaderCellDef scope="col">Status</th><td mat-cell *matCellDef="let i" data-label="Status"><ob-state-chip [state]="i.status" /></td></ng-container>
            <ng-container matColumnDef="link"><th mat-header-cell *matHeaderCellDef scope="col"><span class="ob-visually-hidden">Link</span></th>
              <td mat-cell *matCellDef="let i">@if (i.hostedInvoiceUrl) {<a [href]="i.hostedInvoiceUrl" target="_blank" rel="noopener">View</a>}</td></ng-container>
            <tr mat-header-row *matHeaderRowDef="invColumns"></tr>
            <tr mat-row *matRowDef="let i; columns: invColumns" data-testid="invoice-row"></tr>
          </table></div>
        }
      }
    </div>`,
  styles: `h2 { font: var(--mat-sys-title-medium); margin: 24px 0 8px; } .small { font: var(--mat-sys-body-small); }`,
})
export class BillingPage {
  private readonly api = inject(ApiService);
  private readonly auth = inject(AuthService);
  private readonly dialog = inject(MatDialog);
  readonly subColumns = ['server', 'status', 'period', 'actions'];
  readonly invColumns = ['number', 'date', 'amount', 'status', 'link'];
  readonly subs = signal<SubscriptionView[]>([]);
  readonly invoices = signal<InvoiceView[]>([]);
  readonly upcoming = signal<UpcomingInvoiceView[]>([]);
  readonly upColumns = ['server', 'item', 'period', 'amount'];
  /** One row per line of each server's next invoice (an hourly server: its hours this period). */
  readonly upcomingLines = computed(() =>
    this.upcoming().flatMap((u) => u.lines.map((l) => ({ ...l, serverId: u.serverId, hostname: u.hostname, planName: u.planName, billedPer: u.billedPer, currency: u.currency }))),
  );
  readonly loading = signal(true);
  readonly error = signal<string | null>(null);
  readonly actionError = signal<string | null>(null);
  readonly busy = signal<string | null>(null);
  readonly canManage = computed(() => this.auth.permissions().has(Permission.BillingManage));
  fmt = formatDateTime;
  money = formatMoney;

  constructor() {
    void this.load();
  }

  async load(): Promise<void> {
    this.loading.set(true);
    this.error.set(null);
    try {
      const [subs, invoices, upcoming] = await Promise.all([this.api.subscriptions(), this.api.invoices(), this.api.upcomingInvoices()]);
      this.subs.set(subs);
      this.invoices.set(invoices);
      this.upcoming.set(upcoming);
    } catch (e) {
      this.error.set(errorMessage(e));
    } finally {
      this.loading.set(false);
    }
  }

  private async go(key: string, url: () => Promise<string | null>): Promise<void> {
    this.busy.set(key);
    this.actionError.set(null);
    try {
      const to = await url();
      // no URL: nothing to pay (an hourly server joined the team's hourly subscription): show the new state
      if (to) window.location.assign(to);
      else await this.load();
    } catch (e) {
      this.actionError.set(errorMessage(e));
    } finally {
      this.busy.set(null);
    }
  }

  portal(): Promise<void> {
    return this.go('portal', () => this.api.portalUrl());
  }

  pay(s: SubscriptionView): Promise<void> {
    // joined (no URL): the hourly server was added to the team's hourly subscription; the reload shows it placed
    return this.go(s.serverId, async () => s.checkoutUrl ?? (await this.api.checkout(s.serverId)).checkoutUrl);
  }

  async cancel(s: SubscriptionView): Promise<void> {
    const data: ConfirmData = {
      title: `Cancel the subscription of ${s.hostname}?`,
      message: 'It runs until the end of the paid period; after that the server is suspended and later deleted.',
      confirmLabel: 'Cancel subscription',
      danger: true,
      typeToConfirm: s.hostname,
    };
    if (!(await firstValueFrom(this.dialog.open<ConfirmDialog, ConfirmData, boolean | string>(ConfirmDialog, { data }).afterClosed()))) return;
    this.busy.set(s.serverId);
    this.actionError.set(null);
    try {
      const updated = await this.api.cancelSubscription(s.serverId);
      this.subs.update((l) => l.map((x) => (x.serverId === updated.serverId ? updated : x)));
    } catch (e) {
      this.actionError.set(errorMessage(e));
    } finally {
      this.busy.set(null);
    }
  }
}
