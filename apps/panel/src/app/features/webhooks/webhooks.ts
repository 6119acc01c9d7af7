import { ChangeDetectionStrategy, Component, inject, signal } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { MatButtonModule } from '@angular/material/button';
import { MatCardModule } from '@angular/material/card';
import { MatCheckboxModule } from '@angular/material/checkbox';
import { MatFormFieldModule } from '@angular/material/form-field';
import { MatInputModule } from '@angular/material/input';
import { ApiService, type WebhookCategory, type WebhookDeliveryView, type WebhookEndpointView } from '../../core/api/api.service';
import { errorMessage } from '../../core/api/api-error';
import { ErrorBanner } from '../../shared/error-banner';
import { LoadState } from '../../shared/load-state';
import { formatDateTime } from '../../shared/format';

const CATEGORIES: { value: WebhookCategory; label: string }[] = [
  { value: 'server', label: 'Server state changes' },
  { value: 'task', label: 'Tasks (succeeded, failed)' },
  { value: 'billing', label: 'Billing (payments)' },
  { value: 'usage', label: 'Usage alerts' },
];

/** Signed outbound webhooks: endpoints, their secret (shown once), deliveries with status codes, resend. */
@Component({
  selector: 'ob-webhooks',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [FormsModule, MatButtonModule, MatCardModule, MatCheckboxModule, MatFormFieldModule, MatInputModule, ErrorBanner, LoadState],
  template: `
    <div class="ob-page" data-testid="webhooks-page">
      <div class="ob-page-header"><h1>Webhooks</h1></div>
      <p class="ob-muted">Each delivery is a POST signed with HMAC-SHA256 over its timestamp and raw body (header Oblako-Signature). How to verify it: docs/webhooks.md.</p>
      <mat-card appearance="outlined"><mat-card-content>
        <form (ngSubmit)="create()" data-testid="webhook-form">
          <mat-form-field class="url"><mat-label>Endpoint URL (https)</mat-label><input matInput name="url" [(ngModel)]="url" placeholder="https://example.com/hooks/oblako" data-testid="webhook-url" /></mat-form-field>
          <div class="ob-row">@for (c of categories; track c.value) {
            <mat-checkbox [checked]="chosen.has(c.value)" (change)="toggle(c.value, $event.checked)" data-testid="webhook-event" [attr.data-event]="c.value">{{ c.label }}</mat-checkbox>
          }</div>
          <button mat-flat-button type="submit" [disabled]="busy()" data-testid="webhook-add">Add endpoint</button>
        </form>
        <ob-error-banner [message]="formError()" testId="webhook-error" />
        @if (secret(); as s) {
          <p class="secret" role="status" data-testid="webhook-secret-shown">Signing secret (shown once; keep it in your receiver): <code data-testid="webhook-secret">{{ s }}</code>
            <button mat-button type="button" (click)="secret.set(null)">Done</button></p>
        }
      </mat-card-content></mat-card>
      <ob-load-state [loading]="loading()" [error]="error()" [empty]="!loading() && !error() && endpoints().length === 0" (retry)="load()"><p>No endpoints yet.</p></ob-load-state>
      @for (e of endpoints(); track e.id) {
        <mat-card appearance="outlined" data-testid="webhook-row" [attr.data-url]="e.url" [attr.data-enabled]="e.enabled"><mat-card-content>
          <p><strong>{{ e.url }}</strong> · {{ e.events.join(', ') }} · {{ e.enabled ? 'on' : 'off' }}
            @if (e.disabledReason) {<span class="ob-warn" data-testid="webhook-disabled-reason"> ({{ e.disabledReason }})</span>}
            @if (e.failingSince) {<span class="ob-warn"> · failing since {{ fmt(e.failingSince) }}</span>}
            @if (e.previousSecretExpiresAt) {<span class="ob-muted"> · previous secret valid until {{ fmt(e.previousSecretExpiresAt) }}</span>}</p>
          <div class="ob-row">
            <button mat-stroked-button type="button" (click)="test(e)" [disabled]="!e.enabled" data-testid="webhook-test">Send test event</button>
            <button mat-button type="button" (click)="rotate(e)" data-testid="webhook-rotate">Rotate secret</button>
            <button mat-button type="button" (click)="setEnabled(e, !e.enabled)" data-testid="webhook-toggle">{{ e.enabled ? 'Turn off' : 'Turn on' }}</button>
            <button mat-button type="button" (click)="remove(e)" data-testid="webhook-delete">Delete</button>
            <button mat-button type="button" (click)="showDeliveries(e)" data-testid="webhook-deliveries">Deliveries</button>
          </div>
          @if (open() === e.id) {
            <table class="deliveries" data-testid="delivery-table">
              <tr><th scope="col">Event</th><th scope="col">State</th><th scope="col">Attempts</th><th scope="col">Last code</th><th scope="col">When</th><th scope="col"></th></tr>
              @for (d of deliveries(); track d.id) {
                <tr data-testid="delivery-row" [attr.data-state]="d.state" [attr.data-status]="d.lastStatusCode">
                  <td>{{ d.eventType }}</td><td>{{ d.state }}</td><td>{{ d.attempts }}</td><td>{{ d.lastStatusCode ?? (d.lastError ? 'no answer' : '–') }}</td>
                  <td>{{ fmt(d.lastAttemptAt ?? d.createdAt) }}@if (d.nextAttemptAt) { · next {{ fmt(d.nextAttemptAt) }}}</td>
                  <td><button mat-button type="button" (click)="resend(e, d)" [disabled]="!e.enabled" data-testid="delivery-resend">Send again</button></td>
                </tr>
              }
            </table>
          }
        </mat-card-content></mat-card>
      }
    </div>`,
  styles: `mat-card { margin-bottom: 12px; } .url { width: min(640px, 100%); } .secret code { word-break: break-all; } .ob-warn { color: var(--mat-sys-error); }
    .deliveries { border-collapse: collapse; width: 100%; margin-top: 8px; } .deliveries td, .deliveries th { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--mat-sys-outline-variant); }`,
})
export class WebhooksPage {
  private readonly api = inject(ApiService);
  readonly categories = CATEGORIES;
  readonly chosen = new Set<WebhookCategory>(['server', 'task']);
  readonly endpoints = signal<WebhookEndpointView[]>([]);
  readonly deliveries = signal<WebhookDeliveryView[]>([]);
  readonly open = signal<string | null>(null);
  readonly secret = signal<string | null>(null);
  readonly loading = signal(true);
  readonly busy = signal(false);
  readonly error = signal<string | null>(null);
  readonly formError = signal<string | null>(null);
  url = '';
  fmt = formatDateTime;

  constructor() {
    void this.load();
  }

  toggle(c: WebhookCategory, on: boolean): void {
    if (on) this.chosen.add(c);
    else this.chosen.delete(c);
  }

  async load(): Promise<void> {
    this.loading.set(true);
    this.error.set(null);
    try {
      this.endpoints.set(await this.api.webhooks());
    } catch (e) {
      this.error.set(errorMessage(e));
    } finally {
      this.loading.set(false);
    }
  }

  private async act(fn: () => Promise<void>): Promise<void> {
    this.busy.set(true);
    this.formError.set(null);
    try {
      await fn();
    } catch (e) {
      this.formError.set(errorMessage(e));
    } finally {
      this.busy.set(false);
    }
  }

  create(): Promise<void> {
    return this.act(async () => {
      const created = await this.api.createWebhook(this.url.trim(), [...this.chosen]);
      this.secret.set(created.secret);
      this.url = '';
      await this.load();
    });
  }

  rotate(e: WebhookEndpointView): Promise<void> {
    return this.act(async () => {
      this.secret.set((await this.api.rotateWebhookSecret(e.id)).secret);
      await this.load();
    });
  }

  test(e: WebhookEndpointView): Promise<void> {
    return this.act(async () => {
      await this.api.testWebhook(e.id);
      await this.showDeliveries(e, true);
    });
  }

  setEnabled(e: WebhookEndpointView, enabled: boolean): Promise<void> {
    return this.act(async () => {
      await this.api.updateWebhook(e.id, { enabled });
      await this.load();
    });
  }

  remove(e: WebhookEndpointView): Promise<void> {
    return this.act(async () => {
      await this.api.deleteWebhook(e.id);
      this.endpoints.update((l) => l.filter((x) => x.id !== e.id));
    });
  }

  async showDeliveries(e: WebhookEndpointView, keepOpen = false): Promise<void> {
    if (this.open() === e.id && !keepOpen) {
      this.open.set(null);
      return;
    }
    this.open.set(e.id);
    try {
      this.deliveries.set(await this.api.webhookDeliveries(e.id));
    } catch (err) {
      this.formError.set(errorMessage(err));
    }
  }

  resend(e: WebhookEndpointView, d: WebhookDeliveryView): Promise<void> {
    return this.act(async () => {
      await this.api.resendDelivery(d.id);
      await this.showDeliveries(e, true);
    });
  }
}
