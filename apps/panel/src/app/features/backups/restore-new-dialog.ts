import { ChangeDetectionStrategy, Component, computed, inject, signal } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { MatButtonModule } from '@angular/material/button';
import { MAT_DIALOG_DATA, MatDialogModule, MatDialogRef } from '@angular/material/dialog';
import { hostnameProblem, type PlanView, type SshKeyView, type TenantBackupView } from '@oblako/contracts';
import type { RestoreToNewBody } from '../../core/api/api.service';
import { formatBytes, formatDateTime, formatGiB, formatPlanPrice } from '../../shared/format';
import { RootPasswordField } from '../../shared/root-password-field';
import { rootPasswordProblem } from '../../shared/root-password';

export interface RestoreNewData {
  backup: TenantBackupView;
  plans: PlanView[];
  sshKeys: SshKeyView[];
}

/** Why a plan cannot take the backup ('' when it can): its disk must hold the disk the backup was taken of. */
export function planTooSmall(plan: Pick<PlanView, 'diskGiB'>, backup: Pick<TenantBackupView, 'virtualSizeBytes'>): string {
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
          ({{ size(data.backup.virtualSizeBytes) }} disk). It gets new addresses; its price is the plan's.</p>
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
    const body: RestoreToNewBody = { hostname: this.hostname().trim(), planId: this.planId(), locationId: this.data.backup.locationId, sshKeyIds: [...this.keys()] };
    if (this.password()) body.rootPassword = this.password();
    this.ref.close(body);
  }
}
