import { ChangeDetectionStrategy, Component, computed, inject, signal } from '@angular/core';
import { FormsModule } from '@angular/forms';
import type { Router } from '@angular/router';
import { MatButtonModule } from '@angular/material/button';
import { MAT_DIALOG_DATA, type MatDialog, MatDialogModule, MatDialogRef } from '@angular/material/dialog';
import { hostnameProblem, type BackupView, type PlanView, type SshKeyView } from '@oblako/contracts';
import { firstValueFrom } from 'rxjs';
import type { ApiService, RestoreToNewBody } from '../../core/api/api.service';
import { formatBytes, formatDateTime, formatGiB, formatPlanPrice, randomId } from '../../shared/format';
import { RootPasswordField } from '../../shared/root-password-field';
import { rootPasswordProblem } from '../../shared/root-password';

/**
 * The backup a new server is restored from: a live server's (its page) or a deleted one's. `locationId` is sent when
 * known (a deleted server's backup names its store's); left out, the API places the server in the store's location.
 */
export type RestorableBackup = Pick<BackupView, 'id' | 'serverName' | 'createdAt' | 'virtualSizeBytes'> & { locationId?: string; locationName?: string };

export interface RestoreNewData {
  backup: RestorableBackup;
  plans: PlanView[];
  sshKeys: SshKeyView[];
}

/**
 * "Restore into a new server", wherever it is offered: load the plans and keys, ask (the dialog), post the order with
 * one Idempotency-Key per confirmed dialog, then follow the checkout (billing on) or open the new server's page.
 * Resolves false when the person cancelled; throws the API's refusal (the caller shows it).
 */
export async function restoreIntoNewServer(api: ApiService, dialog: MatDialog, router: Router, backup: RestorableBackup, started?: () => void): Promise<boolean> {
  const [plans, keys] = await Promise.all([api.plans(), api.sshKeys()]);
  const data: RestoreNewData = { backup, plans: plans.items, sshKeys: keys.items };
  const body = await firstValueFrom(dialog.open<RestoreNewDialog, RestoreNewData, RestoreToNewBody>(RestoreNewDialog, { data, width: '560px', maxWidth: '95vw' }).afterClosed());
  if (!body) return false;
  started?.();
  // one key per confirmed dialog: a retried request makes one server at most
  const server = await api.restoreBackupToNew(backup.id, body, randomId());
  if (server.billing?.mode === 'checkout' && server.billing.checkoutUrl) window.location.assign(server.billing.checkoutUrl);
  else await router.navigate(['/servers', server.id], { state: { orderBilling: server.billing ?? null } });
  return true;
}

/** Why a plan cannot take the backup ('' when it can): its disk must hold the disk the backup was taken of. */
export function planTooSmall(plan: Pick<PlanView, 'diskGiB'>, backup: Pick<BackupView, 'virtualSizeBytes'>): string {
  return plan.diskGiB * 1024 ** 3 < backup.virtualSizeBytes ? `its ${formatGiB(plan.diskGiB)} disk is smaller than the backup's ${formatBytes(backup.virtualSizeBytes)}` : '';
}

/** Restore into a new server: a host name, a plan big enough for the backup's disk, and how to log in. */
@Component({
  selector: 'ob-restore-new-dialog',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [FormsModule, MatButtonModule, MatDialogModule, RootPasswordField],
  template: `
    <h2 mat-dialog-title>Restore into a new server</h2>
    <form (ngSubmit)="submit()" data-testid="restore-new-form">
      <mat-dialog-content>
        <p>A new server is ordered whose disk is the backup of <strong>{{ data.backup.serverName }}</strong> from {{ fmt(data.backup.createdAt) }}
          ({{ size(data.backup.virtualSizeBytes) }} disk)@if (data.backup.locationName) {, in {{ data.backup.locationName }}, where the backup is kept}. It gets new addresses; its price is the plan's.</p>
        <p><label>Host name <input name="hostname" [ngModel]="hostname()" (ngModelChange)="hostname.set($event)" maxlength="253" required data-testid="restore-new-hostname" /></label></p>
        <fieldset>
          <legend>Plan</legend>
          @for (p of data.plans; track p.id) {
            <label class="opt" [class.off]="!!tooSmall(p)">
              <input type="radio" name="plan" [value]="p.id" [checked]="planId() === p.id" [disabled]="!!tooSmall(p)" (change)="planId.set(p.id)" [attr.data-testid]="'restore-new-plan-' + p.name" />
              {{ p.name }} · {{ p.vcpus }} vCPU · {{ gib(p.diskGiB) }} disk · {{ price(p) }}
              @if (tooSmall(p)) {<span class="ob-muted"> — not possible: {{ tooSmall(p) }}</span>}
            </label>
          }
        </fieldset>
        @if (data.sshKeys.length) {
          <fieldset>
            <legend>SSH keys for root</legend>
            @for (k of data.sshKeys; track k.id) {
              <label class="opt"><input type="checkbox" [checked]="keys().has(k.id)" (change)="toggle(k.id)" [attr.data-testid]="'restore-new-key-' + k.name" /> {{ k.name }}</label>
            }
          </fieldset>
        }
        <ob-root-password testId="restore-new-root-password" [label]="data.sshKeys.length ? 'Root password (optional with a key)' : 'Root password'" [(password)]="password" [(again)]="again" />
        @if (problem(); as p) {<p class="bad" role="alert" data-testid="restore-new-problem">{{ p }}</p>}
      </mat-dialog-content>
      <mat-dialog-actions align="end">
        <button mat-button type="button" mat-dialog-close data-testid="confirm-cancel">Cancel</button>
        <button mat-flat-button type="submit" data-testid="restore-new-submit">Restore into a new server</button>
      </mat-dialog-actions>
    </form>`,
  styles: `fieldset { border: 1px solid var(--mat-sys-outline-variant); border-radius: 8px; margin: 8px 0; padding: 4px 12px 8px; }
    .opt { display: block; padding: 3px 0; } .off { color: var(--mat-sys-on-surface-variant); } .bad { color: var(--mat-sys-error); }`,
})
export class RestoreNewDialog {
  readonly data = inject<RestoreNewData>(MAT_DIALOG_DATA);
  private readonly ref = inject<MatDialogRef<RestoreNewDialog, RestoreToNewBody>>(MatDialogRef);
  readonly hostname = signal(`${this.data.backup.serverName}-restored`.slice(0, 63));
  readonly planId = signal(this.data.plans.find((p) => !planTooSmall(p, this.data.backup))?.id ?? '');
  readonly keys = signal(new Set(this.data.sshKeys.map((k) => k.id)));
  readonly password = signal('');
  readonly again = signal('');
  readonly shown = signal(false);
  readonly problem = computed(() => {
    if (!this.shown()) return null;
    const h = hostnameProblem(this.hostname().trim());
    if (h) return `Host name: ${h}`;
    if (!this.planId()) return 'Choose a plan whose disk holds the backup.';
    const pw = rootPasswordProblem(this.password(), this.again());
    if (pw) return pw;
    if (this.keys().size === 0 && !this.password()) return 'Choose an SSH key or set a root password, so you can log in.';
    return null;
  });
  readonly fmt = formatDateTime;
  readonly size = formatBytes;
  readonly gib = formatGiB;
  readonly price = formatPlanPrice;
  tooSmall = (p: PlanView) => planTooSmall(p, this.data.backup);

  toggle(id: string): void {
    const next = new Set(this.keys());
    if (next.has(id)) next.delete(id);
    else next.add(id);
    this.keys.set(next);
  }

  submit(): void {
    this.shown.set(true);
    if (this.problem()) return;
    const body: RestoreToNewBody = { hostname: this.hostname().trim(), planId: this.planId(), sshKeyIds: [...this.keys()] };
    if (this.data.backup.locationId) body.locationId = this.data.backup.locationId;
    if (this.password()) body.rootPassword = this.password();
    this.ref.close(body);
  }
}
