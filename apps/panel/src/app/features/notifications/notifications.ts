import { ChangeDetectionStrategy, Component, inject, signal } from '@angular/core';
import { RouterLink } from '@angular/router';
import { MatButtonModule } from '@angular/material/button';
import { MatCardModule } from '@angular/material/card';
import { MatSlideToggleModule } from '@angular/material/slide-toggle';
import { ApiService, type NotificationPreferenceView, type NotificationView } from '../../core/api/api.service';
import { errorMessage } from '../../core/api/api-error';
import { ErrorBanner } from '../../shared/error-banner';
import { LoadState } from '../../shared/load-state';
import { formatDateTime } from '../../shared/format';

/** What happened in this team (newest first), and which of it you get by email. */
@Component({
  selector: 'ob-notifications',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [RouterLink, MatButtonModule, MatCardModule, MatSlideToggleModule, ErrorBanner, LoadState],
  template: `
    <div class="ob-page" data-testid="notifications-page">
      <div class="ob-page-header"><h1>Notifications</h1></div>
      <ob-load-state [loading]="loading()" [error]="error()" [empty]="!loading() && !error() && items().length === 0" (retry)="load()"><p>Nothing yet. You are told here (and by email) when a server is ready, a task or payment fails, and more.</p></ob-load-state>
      @for (n of items(); track n.id) {
        <mat-card appearance="outlined" class="note" [class.unread]="!n.readAt" data-testid="notification-row" [attr.data-kind]="n.kind"><mat-card-content>
          <strong>{{ n.title }}</strong> <span class="ob-muted">{{ fmt(n.createdAt) }}</span>
          <p>{{ n.body }}</p>
          @if (n.link) {<a [routerLink]="n.link">Open</a>}
        </mat-card-content></mat-card>
      }
      <h2>Email</h2>
      <ob-error-banner [message]="prefError()" testId="prefs-error" />
      @for (p of prefs(); track p.kind) {
        <p><mat-slide-toggle [checked]="p.email" [disabled]="!p.optional" (change)="set(p, $event.checked)" data-testid="pref-toggle" [attr.data-kind]="p.kind">
          {{ p.label }}@if (!p.optional) { <span class="ob-muted">(always sent to you)</span>}
        </mat-slide-toggle></p>
      }
    </div>`,
  styles: `.note { margin-bottom: 8px; } .note.unread { border-left: 4px solid var(--mat-sys-primary); } h2 { font: var(--mat-sys-title-medium); margin: 24px 0 8px; }`,
})
export class NotificationsPage {
  private readonly api = inject(ApiService);
  readonly items = signal<NotificationView[]>([]);
  readonly prefs = signal<NotificationPreferenceView[]>([]);
  readonly loading = signal(true);
  readonly error = signal<string | null>(null);
  readonly prefError = signal<string | null>(null);
  fmt = formatDateTime;

  constructor() {
    void this.load();
  }

  async load(): Promise<void> {
    this.loading.set(true);
    this.error.set(null);
    try {
      const [list, prefs] = await Promise.all([this.api.notifications(), this.api.notificationPreferences()]);
      this.items.set(list.items);
      this.prefs.set(prefs);
      if (list.unread) await this.api.markNotificationsSeen();
    } catch (e) {
      this.error.set(errorMessage(e));
    } finally {
      this.loading.set(false);
    }
  }

  async set(p: NotificationPreferenceView, email: boolean): Promise<void> {
    this.prefError.set(null);
    try {
      this.prefs.set(await this.api.setNotificationPreferences([{ kind: p.kind, email }]));
    } catch (e) {
      this.prefError.set(errorMessage(e));
    }
  }
}
