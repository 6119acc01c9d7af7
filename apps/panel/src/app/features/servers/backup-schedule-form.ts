import { ChangeDetectionStrategy, Component, effect, inject, input, signal, untracked } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { MatButtonModule } from '@angular/material/button';
import { type BackupScheduleView } from '@oblako/contracts';
import { ApiService } from '../../core/api/api.service';
import { errorMessage } from '../../core/api/api-error';
import { AnnouncerService } from '../../shared/announcer';
import { ErrorBanner } from '../../shared/error-banner';
import { formatDateTime } from '../../shared/format';
import { scheduleBody, scheduleDraftOf, windowText, WEEKDAYS, type ScheduleDraft } from './backup-schedule-draft';

/** A server's backup schedule (daily or weekly, a UTC window) and retention policy. */
@Component({
  selector: 'ob-backup-schedule-form',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [FormsModule, MatButtonModule, ErrorBanner],
  template: `
    <section class="schedule" data-testid="backup-schedule" aria-labelledby="backup-schedule-title">
      <h3 id="backup-schedule-title">Schedule and retention</h3>
      @if (view(); as v) {
        <p class="ob-muted" data-testid="backup-schedule-summary">
          @if (v.enabled) { {{ windowLabel(v) }}. Next backup {{ v.nextWindowAt ? fmt(v.nextWindowAt) : '' }}. }
          @else { No scheduled backups{{ v.isDefault ? ' (not set up yet)' : '' }}. }
          Retention keeps the last {{ v.retention.keepLast }}, {{ v.retention.keepDaily }} daily, {{ v.retention.keepWeekly }} weekly and {{ v.retention.keepMonthly }} monthly backups, manual ones included; older ones are removed.
        </p>
        @if (v.lastError) {<p class="bad" role="status" data-testid="backup-schedule-last-error">Last scheduled backup: {{ v.lastError }}</p>}
      }
      @if (canWrite()) {
        <form class="grid" (ngSubmit)="save()" data-testid="backup-schedule-form">
          <label class="check"><input type="checkbox" name="enabled" [(ngModel)]="d.enabled" data-testid="schedule-enabled" /> Back up on a schedule</label>
          <label>Every
            <select name="frequency" [(ngModel)]="d.frequency" data-testid="schedule-frequency"><option value="daily">day</option><option value="weekly">week</option></select></label>
          @if (d.frequency === 'weekly') {
            <label>On
              <select name="weekday" [(ngModel)]="d.weekday" data-testid="schedule-weekday">
                @for (w of weekdays; track $index) {<option [value]="'' + $index">{{ w }}</option>}
              </select></label>
          }
          <label>From (hour, UTC) <input name="windowStartHour" inputmode="numeric" size="3" [(ngModel)]="d.windowStartHour" data-testid="schedule-start" /></label>
          <label>For (hours) <input name="windowHours" inputmode="numeric" size="3" [(ngModel)]="d.windowHours" data-testid="schedule-hours" /></label>
          <label>Keep the last <input name="keepLast" inputmode="numeric" size="3" [(ngModel)]="d.keepLast" data-testid="retention-last" /></label>
          <label>Daily <input name="keepDaily" inputmode="numeric" size="3" [(ngModel)]="d.keepDaily" data-testid="retention-daily" /></label>
          <label>Weekly <input name="keepWeekly" inputmode="numeric" size="3" [(ngModel)]="d.keepWeekly" data-testid="retention-weekly" /></label>
          <label>Monthly <input name="keepMonthly" inputmode="numeric" size="3" [(ngModel)]="d.keepMonthly" data-testid="retention-monthly" /></label>
          <div class="actions"><button mat-stroked-button type="submit" [disabled]="busy()" data-testid="schedule-save">Save schedule</button></div>
        </form>
        @if (problems().length) {
          <ul class="bad" data-testid="schedule-problems">@for (p of problems(); track p) {<li>{{ p }}</li>}</ul>
        }
      }
      <ob-error-banner [message]="error()" testId="schedule-error" />
    </section>
  `,
  styles: `
    .grid { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: center; margin: 8px 0; }
    .grid label { display: inline-flex; gap: 6px; align-items: center; }
    .actions { flex-basis: 100%; }
    .bad { color: var(--mat-sys-error); }
  `,
})
export class BackupScheduleForm {
  private readonly api = inject(ApiService);
  private readonly announcer = inject(AnnouncerService);
  readonly serverId = input.required<string>();
  readonly canWrite = input(false);
  readonly view = signal<BackupScheduleView | null>(null);
  readonly busy = signal(false);
  readonly error = signal<string | null>(null);
  readonly problems = signal<string[]>([]);
  readonly weekdays = WEEKDAYS;
  d: ScheduleDraft = { enabled: false, frequency: 'daily', weekday: '0', windowStartHour: '2', windowHours: '4', keepLast: '3', keepDaily: '7', keepWeekly: '4', keepMonthly: '3' };
  fmt = formatDateTime;
  windowLabel = (v: BackupScheduleView) => windowText(v);

  constructor() {
    effect(() => {
      const id = this.serverId();
      untracked(() => void this.load(id));
    });
  }

  async load(id: string): Promise<void> {
    try {
      const v = await this.api.backupSchedule(id);
      this.view.set(v);
      this.d = scheduleDraftOf(v);
    } catch (e) {
      this.error.set(errorMessage(e));
    }
  }

  async save(): Promise<void> {
    const r = scheduleBody(this.d);
    if ('problems' in r) {
      this.problems.set(r.problems);
      return;
    }
    this.problems.set([]);
    this.busy.set(true);
    this.error.set(null);
    try {
      const v = await this.api.saveBackupSchedule(this.serverId(), r.body);
      this.view.set(v);
      this.d = scheduleDraftOf(v);
      this.announcer.say(v.enabled ? `Backups scheduled: ${windowText(v)}.` : 'Scheduled backups are off.');
    } catch (e) {
      this.error.set(errorMessage(e));
    } finally {
      this.busy.set(false);
    }
  }
}
