import { ChangeDetectionStrategy, Component, inject, signal } from '@angular/core';
import { MatButtonModule } from '@angular/material/button';
import { MatSlideToggleModule } from '@angular/material/slide-toggle';
import { MatTableModule } from '@angular/material/table';
import { type AdminOrderView, ApiService, type BillingEventView } from '../../core/api/api.service';
import { LoadState } from '../../shared/load-state';
import { StateChip } from '../../shared/state-chip';
import { formatDateTime } from '../../shared/format';
import { adminLoadError } from '../admin/admin-load';

/** Staff: orders across tenants (failed ones need a refund by hand) and the Stripe webhook inbox. */
@Component({
  selector: 'ob-admin-billing',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [MatButtonModule, MatSlideToggleModule, MatTableModule, LoadState, StateChip],
  template: `
    <div class="ob-page" data-testid="admin-billing-page">
      <div class="ob-page-header"><h1>Billing orders</h1>
        <mat-slide-toggle [checked]="failedOnly()" (change)="failedOnly.set($event.checked); load()" data-testid="admin-orders-failed">Only paid orders that could not be placed</mat-slide-toggle>
      </div>
      <ob-load-state [loading]="loading()" [error]="error()" [empty]="!loading() && !error() && orders().length === 0" (retry)="load()"><p>No orders.</p></ob-load-state>
      @if (!loading() && orders().length) {
        <div class="ob-table-wrap" tabindex="0" role="region" aria-label="Orders"><table mat-table class="ob-cards" [dataSource]="orders()" data-testid="admin-orders-table">
          <ng-container matColumnDef="server"><th mat-header-cell *matHeaderCellDef scope="col">Server</th><td mat-cell *matCellDef="let o" data-label="Server">{{ o.hostname }}<br /><span class="ob-muted small">{{ o.serverState }}</span></td></ng-container>
          <ng-container matColumnDef="order"><th mat-header-cell *matHeaderCellDef scope="col">Order</th><td mat-cell *matCellDef="let o" data-label="Order"><ob-state-chip [state]="o.order" /></td></ng-container>
          <ng-container matColumnDef="status"><th mat-header-cell *matHeaderCellDef scope="col">Subscription</th><td mat-cell *matCellDef="let o" data-label="Subscription">{{ o.status ?? '—' }}@if (o.suspension) { · suspended ({{ o.suspension }})}</td></ng-container>
          <ng-container matColumnDef="period"><th mat-header-cell *matHeaderCellDef scope="col">Paid until</th><td mat-cell *matCellDef="let o" data-label="Paid until">{{ fmt(o.currentPeriodEnd) }}</td></ng-container>
          <tr mat-header-row *matHeaderRowDef="orderColumns"></tr>
          <tr mat-row *matRowDef="let o; columns: orderColumns" data-testid="admin-order-row" [attr.data-order]="o.order"></tr>
        </table></div>
      }
      <h2>Stripe webhook inbox</h2>
      @if (eventsError()) {<p class="ob-error" role="alert">{{ eventsError() }}</p>}
      @else if (events().length === 0) {<p class="ob-muted">No events waiting: every webhook has been applied.</p>}
      @else {
        <div class="ob-table-wrap" tabindex="0" role="region" aria-label="Billing events"><table mat-table class="ob-cards" [dataSource]="events()" data-testid="billing-events-table">
          <ng-container matColumnDef="type"><th mat-header-cell *matHeaderCellDef scope="col">Event</th><td mat-cell *matCellDef="let e" data-label="Event" class="ob-mono">{{ e.type }}<br /><span class="ob-muted small">{{ e.id }}</span></td></ng-container>
          <ng-container matColumnDef="received"><th mat-header-cell *matHeaderCellDef scope="col">Received</th><td mat-cell *matCellDef="let e" data-label="Received">{{ fmt(e.receivedAt) }}</td></ng-container>
          <ng-container matColumnDef="outcome"><th mat-header-cell *matHeaderCellDef scope="col">Outcome</th><td mat-cell *matCellDef="let e" data-label="Outcome">{{ e.outcome ?? 'waiting' }} · {{ e.attempts }} attempt(s)</td></ng-container>
          <ng-container matColumnDef="error"><th mat-header-cell *matHeaderCellDef scope="col">Last error</th><td mat-cell *matCellDef="let e" data-label="Last error" class="ob-error">{{ e.lastError ?? '' }}</td></ng-container>
          <tr mat-header-row *matHeaderRowDef="eventColumns"></tr>
          <tr mat-row *matRowDef="let e; columns: eventColumns" data-testid="billing-event-row"></tr>
        </table></div>
      }
    </div>`,
  styles: `h2 { font: var(--mat-sys-title-medium); margin: 24px 0 8px; } .small { font: var(--mat-sys-body-small); }`,
})
export class AdminBillingPage {
  private readonly api = inject(ApiService);
  readonly orderColumns = ['server', 'order', 'status', 'period'];
  readonly eventColumns = ['type', 'received', 'outcome', 'error'];
  readonly orders = signal<AdminOrderView[]>([]);
  readonly events = signal<BillingEventView[]>([]);
  readonly failedOnly = signal(false);
  readonly loading = signal(true);
  readonly error = signal<string | null>(null);
  readonly eventsError = signal<string | null>(null);
  fmt = formatDateTime;

  constructor() {
    void this.load();
  }

  async load(): Promise<void> {
    this.loading.set(true);
    this.error.set(null);
    this.eventsError.set(null);
    const [orders, events] = await Promise.allSettled([this.api.adminOrders(this.failedOnly()), this.api.billingEvents(false)]);
    if (orders.status === 'fulfilled') this.orders.set(orders.value);
    else this.error.set(adminLoadError(orders.reason, '/admin/billing/orders'));
    if (events.status === 'fulfilled') this.events.set(events.value);
    else this.eventsError.set(adminLoadError(events.reason, '/admin/billing/events'));
    this.loading.set(false);
  }
}
