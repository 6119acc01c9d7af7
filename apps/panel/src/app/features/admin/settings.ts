import { ChangeDetectionStrategy, Component, inject, signal } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { MatButtonModule } from '@angular/material/button';
import { MatCardModule } from '@angular/material/card';
import { MatCheckboxModule } from '@angular/material/checkbox';
import { MatFormFieldModule } from '@angular/material/form-field';
import { MatInputModule } from '@angular/material/input';
import { MatSelectModule } from '@angular/material/select';
import { MatSlideToggleModule } from '@angular/material/slide-toggle';
import { BACKUP_GRACE_DAYS_MAX } from '@oblako/contracts';
import { ApiService, type MailSettingsView, type MailTestResultView } from '../../core/api/api.service';
import { errorMessage } from '../../core/api/api-error';
import { AuthService } from '../../core/auth/auth.service';
import { AnnouncerService } from '../../shared/announcer';
import { ErrorBanner } from '../../shared/error-banner';
import { LoadState } from '../../shared/load-state';
import { formatDateTime } from '../../shared/format';
import { adminLoadError } from './admin-load';
import { DEFAULT_PORT, draftOf, mailBody, type MailDraft } from './mail-form';

/** Staff: the SMTP server and the brand every mail names, a test mail, and whether staff must use two-factor sign-in. */
@Component({
  selector: 'ob-admin-settings',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [FormsModule, MatButtonModule, MatCardModule, MatCheckboxModule, MatFormFieldModule, MatInputModule, MatSelectModule, MatSlideToggleModule, ErrorBanner, LoadState],
  template: `
    <div class="ob-page" data-testid="settings-page">
      <div class="ob-page-header"><h1>Settings</h1></div>
      <ob-load-state [loading]="loading()" [error]="error()" [empty]="false" (retry)="load()" />
      @if (saved(); as s) {
        <mat-card appearance="outlined" data-testid="mail-settings"><mat-card-content>
          <h2>Mail</h2>
          <p class="ob-muted" data-testid="mail-source">
            @if (s.source === 'environment') { Nothing saved yet: the API's environment applies. }
            @else { Saved {{ fmt(s.updatedAt) }}@if (s.updatedBy) { by {{ s.updatedBy }}} (version {{ s.version }}). Every API replica uses it within a second. }
          </p>
          <ob-error-banner [message]="mailError()" testId="mail-error" />
          <form (ngSubmit)="save()" class="grid" data-testid="mail-form">
            <mat-form-field><mat-label>SMTP server</mat-label>
              <input matInput name="host" [(ngModel)]="d.host" placeholder="smtp.example.com" autocomplete="off" data-testid="mail-host" />
              <mat-hint>Empty: no server; mail waits in the queue until one is set.</mat-hint></mat-form-field>
            <mat-form-field><mat-label>Security</mat-label>
              <mat-select name="security" [(ngModel)]="d.security" (selectionChange)="securityChanged()" data-testid="mail-security">
                <mat-option value="starttls">STARTTLS (usually port 587)</mat-option>
                <mat-option value="tls">TLS from the start (usually port 465)</mat-option>
                <mat-option value="none">None (a local relay only)</mat-option>
              </mat-select></mat-form-field>
            <mat-form-field><mat-label>Port</mat-label>
              <input matInput name="port" inputmode="numeric" [(ngModel)]="d.port" data-testid="mail-port" /></mat-form-field>
            <mat-form-field><mat-label>Login</mat-label>
              <input matInput name="user" [(ngModel)]="d.user" autocomplete="off" data-testid="mail-user" />
              <mat-hint>Empty: the server takes mail without a login.</mat-hint></mat-form-field>
            <mat-form-field><mat-label>{{ s.passwordSet ? 'New password' : 'Password' }}</mat-label>
              <input matInput name="password" type="password" [(ngModel)]="d.password" autocomplete="new-password" data-testid="mail-password" />
              <mat-hint data-testid="mail-password-hint">{{ s.passwordSet ? 'A password is set. Leave this empty to keep it; clear the login to remove it.' : 'No password is set.' }}</mat-hint></mat-form-field>
            <mat-checkbox name="tlsVerify" [(ngModel)]="d.tlsVerify" data-testid="mail-tls-verify">Refuse a server whose certificate does not verify</mat-checkbox>
            <mat-form-field><mat-label>Sender</mat-label>
              <input matInput name="from" [(ngModel)]="d.from" placeholder="Example Cloud <no-reply@example.com>" data-testid="mail-from" /></mat-form-field>
            <mat-form-field><mat-label>Brand name</mat-label>
              <input matInput name="brandName" [(ngModel)]="d.brandName" maxlength="100" data-testid="mail-brand" />
              <mat-hint>Named in every mail.</mat-hint></mat-form-field>
            <mat-form-field><mat-label>Support address</mat-label>
              <input matInput name="supportEmail" type="email" [(ngModel)]="d.supportEmail" data-testid="mail-support" /></mat-form-field>
            <mat-form-field><mat-label>Panel address</mat-label>
              <input matInput name="panelUrl" type="url" [(ngModel)]="d.panelUrl" placeholder="https://panel.example.com" data-testid="mail-panel-url" />
              <mat-hint>Links in mail point here.</mat-hint></mat-form-field>
            <div class="actions">
              <button mat-flat-button type="submit" [disabled]="busy()" data-testid="mail-save">Save</button>
              @if (s.source === 'saved') {
                <button mat-stroked-button type="button" (click)="reset()" [disabled]="busy()" data-testid="mail-reset">Use the environment's settings</button>
              }
            </div>
          </form>

          <h3>Send a test mail</h3>
          <p class="ob-muted">Sent at once with the settings in force (save first), not through the queue; the answer is what the SMTP server said.</p>
          <form (ngSubmit)="test()" class="test">
            <mat-form-field subscriptSizing="dynamic"><mat-label>To</mat-label>
              <input matInput name="testTo" type="email" [(ngModel)]="testTo" data-testid="mail-test-to" /></mat-form-field>
            <button mat-stroked-button type="submit" [disabled]="busy() || !testTo.trim()" data-testid="mail-test-send">Send test mail</button>
          </form>
          @if (testResult(); as r) {
            <p role="status" data-testid="mail-test-result" [attr.data-sent]="r.sent" [class.bad]="!r.sent">
              {{ r.sent ? 'Sent.' : 'Not sent.' }} {{ r.message }}@if (r.response) { · <span class="ob-mono">{{ r.response }}</span>}
            </p>
          }
        </mat-card-content></mat-card>

        <mat-card appearance="outlined" data-testid="staff-security"><mat-card-content>
          <h2>Staff sign-in</h2>
          <ob-error-banner [message]="securityError()" testId="staff-security-error" />
          <mat-slide-toggle [checked]="staffRequires()" (change)="setStaffRequires($event.checked, $event.source)" [disabled]="busy()" data-testid="staff-require-2fa">
            Every staff account must use two-factor sign-in
          </mat-slide-toggle>
          <p class="ob-muted">Staff without it are refused on staff pages until they turn it on under Account. Turn it on for your own account first.</p>
          @if (!auth.user()?.twoFactorEnabled) {<p class="ob-muted" data-testid="staff-security-hint">Your account does not use two-factor sign-in yet.</p>}
        </mat-card-content></mat-card>

        <mat-card appearance="outlined" data-testid="backup-settings"><mat-card-content>
          <h2>Backups</h2>
          <ob-error-banner [message]="backupError()" testId="backup-settings-error" />
          <form (ngSubmit)="saveGrace()" class="test">
            <mat-form-field subscriptSizing="dynamic"><mat-label>Keep a deleted server's backups (days)</mat-label>
              <input matInput name="graceDays" inputmode="numeric" [(ngModel)]="graceDays" data-testid="backup-grace-days" /></mat-form-field>
            <button mat-stroked-button type="submit" [disabled]="busy()" data-testid="backup-grace-save">Save</button>
          </form>
          <p class="ob-muted">Meanwhile the customer can restore them into a new server; then they are removed from the store. 0 removes them with the server. A change applies to servers deleted from then on.</p>
        </mat-card-content></mat-card>
      }
    </div>`,
  styles: `mat-card { margin-bottom: 16px; } .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 4px 16px; align-items: start; }
    .grid mat-checkbox { align-self: center; } .actions { grid-column: 1 / -1; display: flex; gap: 8px; flex-wrap: wrap; }
    .test { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; } .test mat-form-field { min-width: 260px; }
    .bad { color: var(--mat-sys-error); } h3 { margin-top: 24px; }`,
})
export class SettingsPage {
  private readonly api = inject(ApiService);
  private readonly announcer = inject(AnnouncerService);
  readonly auth = inject(AuthService);
  readonly loading = signal(true);
  readonly error = signal<string | null>(null);
  readonly saved = signal<MailSettingsView | null>(null);
  readonly mailError = signal<string | null>(null);
  readonly securityError = signal<string | null>(null);
  readonly backupError = signal<string | null>(null);
  graceDays = '';
  readonly testResult = signal<MailTestResultView | null>(null);
  readonly staffRequires = signal(false);
  readonly busy = signal(false);
  d: MailDraft = draftOf({ host: null, port: 587, security: 'starttls', user: null, passwordSet: false, tlsVerify: true, from: '', brandName: '', supportEmail: '', panelUrl: '', source: 'environment', version: 0, updatedAt: null, updatedBy: null });
  testTo = '';
  fmt = (v: string | null | undefined) => (v ? formatDateTime(v) : '');

  constructor() {
    void this.load();
  }

  async load(): Promise<void> {
    this.loading.set(true);
    this.error.set(null);
    try {
      const [mail, staff, backups] = await Promise.all([this.api.mailSettings(), this.api.staffRequiresTwoFactor(), this.api.backupSettings()]);
      this.show(mail);
      this.graceDays = String(backups.deletedServerGraceDays);
      this.staffRequires.set(staff);
      this.testTo ||= this.auth.user()?.email ?? '';
    } catch (e) {
      this.error.set(adminLoadError(e, '/admin/settings/mail'));
    } finally {
      this.loading.set(false);
    }
  }

  private show(s: MailSettingsView): void {
    this.saved.set(s);
    this.d = draftOf(s);
  }

  /** A port still at the old security's usual number follows the new one's. */
  securityChanged(): void {
    if (Object.values(DEFAULT_PORT).map(String).includes(this.d.port.trim())) this.d.port = String(DEFAULT_PORT[this.d.security]);
  }

  async save(): Promise<void> {
    const r = mailBody(this.d);
    if ('error' in r) {
      this.mailError.set(r.error);
      return;
    }
    await this.run(this.mailError, async () => {
      this.show(await this.api.saveMailSettings(r.body));
      this.announcer.say('Mail settings saved.');
    });
  }

  async reset(): Promise<void> {
    await this.run(this.mailError, async () => {
      this.show(await this.api.resetMailSettings());
      this.announcer.say("The environment's mail settings apply again.");
    });
  }

  async test(): Promise<void> {
    this.testResult.set(null);
    await this.run(this.mailError, async () => {
      const r = await this.api.sendTestMail(this.testTo.trim());
      this.testResult.set(r);
      this.announcer.say(r.sent ? 'Test mail sent.' : `Test mail not sent: ${r.message}`);
    });
  }

  async saveGrace(): Promise<void> {
    const days = Number(this.graceDays.trim());
    if (!this.graceDays.trim() || !Number.isInteger(days) || days < 0 || days > BACKUP_GRACE_DAYS_MAX) {
      this.backupError.set(`Enter a whole number of days from 0 to ${BACKUP_GRACE_DAYS_MAX}.`);
      return;
    }
    await this.run(this.backupError, async () => {
      this.graceDays = String((await this.api.saveBackupSettings({ deletedServerGraceDays: days })).deletedServerGraceDays);
      this.announcer.say(`Deleted servers' backups are kept ${this.graceDays} days.`);
    });
  }

  async setStaffRequires(on: boolean, toggle: { checked: boolean }): Promise<void> {
    const ok = await this.run(this.securityError, async () => {
      this.staffRequires.set(await this.api.setStaffRequiresTwoFactor(on));
      this.announcer.say(on ? 'Staff must now use two-factor sign-in.' : 'Staff two-factor sign-in is optional again.');
    });
    // Refused: the toggle goes back to what is in force.
    if (!ok) toggle.checked = this.staffRequires();
  }

  private async run(errorSignal: { set(v: string | null): void }, call: () => Promise<void>): Promise<boolean> {
    this.busy.set(true);
    errorSignal.set(null);
    try {
      await call();
      return true;
    } catch (e) {
      errorSignal.set(errorMessage(e));
      return false;
    } finally {
      this.busy.set(false);
    }
  }
}
