import { ChangeDetectionStrategy, Component, inject, signal } from '@angular/core';
import { FormsModule, NgForm } from '@angular/forms';
import { MatButtonModule } from '@angular/material/button';
import { MatDialog } from '@angular/material/dialog';
import { MatFormFieldModule } from '@angular/material/form-field';
import { MatInputModule } from '@angular/material/input';
import { MatSelectModule } from '@angular/material/select';
import { MatTableModule } from '@angular/material/table';
import { TENANT_ROLES, type TenantRole } from '@oblako/contracts';
import { firstValueFrom } from 'rxjs';
import { ApiService, type InviteView, type MemberView } from '../../core/api/api.service';
import { errorMessage } from '../../core/api/api-error';
import { AuthService } from '../../core/auth/auth.service';
import { ConfirmDialog, type ConfirmData } from '../../shared/confirm-dialog';
import { ErrorBanner } from '../../shared/error-banner';
import { LoadState } from '../../shared/load-state';
import { formatDateTime } from '../../shared/format';

const ROLE_HELP: Record<TenantRole, string> = {
  owner: 'everything, including billing',
  admin: 'servers, keys, tokens and members',
  member: 'servers and SSH keys',
  billing: 'billing, and read servers',
};

@Component({
  selector: 'ob-members',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [FormsModule, MatButtonModule, MatFormFieldModule, MatInputModule, MatSelectModule, MatTableModule, ErrorBanner, LoadState],
  template: `
    <div class="ob-page" data-testid="team-page">
      <div class="ob-page-header"><h1>Team</h1></div>
      <form class="ob-row add" #inviteForm="ngForm" (ngSubmit)="add(inviteForm)" data-testid="member-form">
        <mat-form-field>
          <mat-label>Email address to invite</mat-label>
          <input matInput type="email" name="email" [ngModel]="email()" (ngModelChange)="email.set($event)" required data-testid="member-email" />
        </mat-form-field>
        <mat-form-field>
          <mat-label>Role</mat-label>
          <mat-select name="role" [ngModel]="role()" (ngModelChange)="role.set($event)" data-testid="member-role">
            @for (r of roles; track r) {<mat-option [value]="r">{{ r }} · {{ help[r] }}</mat-option>}
          </mat-select>
        </mat-form-field>
        <button mat-flat-button type="submit" [disabled]="saving()" data-testid="member-add">Send invitation</button>
      </form>
      <ob-error-banner [message]="formError()" testId="member-error" />
      @if (sent(); as s) {<p class="ob-muted" role="status" data-testid="invite-sent">Invitation sent to {{ s }}. They join when they accept it from the mail (the link lasts 7 days).</p>}
      @if (pending().length) {
        <h2>Pending invitations</h2>
        @for (i of pending(); track i.id) {
          <p class="ob-row" data-testid="invite-row" [attr.data-email]="i.email">{{ i.email }} · {{ i.role }} <span class="ob-muted">until {{ fmt(i.expiresAt) }}</span>
            <button mat-button type="button" (click)="revoke(i.id)" data-testid="invite-revoke" [attr.aria-label]="'Withdraw the invitation of ' + i.email">Withdraw</button></p>
        }
        <h2>Members</h2>
      }
      <ob-load-state [loading]="loading()" [error]="error()" [empty]="!loading() && !error() && items().length === 0" (retry)="load()"><p>No members.</p></ob-load-state>
      @if (!loading() && items().length) {
        <div class="ob-table-wrap" tabindex="0" role="region" aria-label="Members"><table mat-table class="ob-cards" [dataSource]="items()" data-testid="members-table">
          <ng-container matColumnDef="email"><th mat-header-cell *matHeaderCellDef scope="col">Member</th>
            <td mat-cell *matCellDef="let m" data-label="Member">{{ m.email }}@if (m.userId === auth.user()?.id) { <span class="ob-muted">(you)</span>}</td></ng-container>
          <ng-container matColumnDef="role"><th mat-header-cell *matHeaderCellDef scope="col">Role</th>
            <td mat-cell *matCellDef="let m" data-label="Role">
              <mat-form-field subscriptSizing="dynamic" class="role">
                <mat-select [value]="m.role" (selectionChange)="changeRole(m, $event.value)" [disabled]="busy() === m.userId"
                  [attr.aria-label]="'Role of ' + m.email" data-testid="member-role-select">
                  @for (r of roles; track r) {<mat-option [value]="r">{{ r }}</mat-option>}
                </mat-select>
              </mat-form-field>
            </td></ng-container>
          <ng-container matColumnDef="since"><th mat-header-cell *matHeaderCellDef scope="col">Since</th><td mat-cell *matCellDef="let m" data-label="Since">{{ fmt(m.createdAt) }}</td></ng-container>
          <ng-container matColumnDef="actions"><th mat-header-cell *matHeaderCellDef scope="col"><span class="ob-visually-hidden">Actions</span></th>
            <td mat-cell *matCellDef="let m"><button mat-button type="button" (click)="remove(m)" [disabled]="busy() === m.userId" data-testid="member-remove"
              [attr.aria-label]="'Remove ' + m.email">Remove</button></td></ng-container>
          <tr mat-header-row *matHeaderRowDef="columns"></tr>
          <tr mat-row *matRowDef="let m; columns: columns" data-testid="member-row" [attr.data-email]="m.email" [attr.data-role]="m.role"></tr>
        </table></div>
      }
    </div>`,
  styles: `.add mat-form-field { min-width: 240px; } .role { width: 140px; } td.mat-mdc-cell { padding-top: 6px; padding-bottom: 6px; }`,
})
export class MembersPage {
  private readonly api = inject(ApiService);
  private readonly dialog = inject(MatDialog);
  readonly auth = inject(AuthService);
  readonly roles = TENANT_ROLES;
  readonly help = ROLE_HELP;
  readonly columns = ['email', 'role', 'since', 'actions'];
  readonly items = signal<MemberView[]>([]);
  readonly loading = signal(true);
  readonly error = signal<string | null>(null);
  readonly formError = signal<string | null>(null);
  readonly saving = signal(false);
  readonly busy = signal<string | null>(null);
  readonly email = signal('');
  readonly role = signal<TenantRole>('member');
  readonly sent = signal<string | null>(null);
  readonly pending = signal<InviteView[]>([]);
  fmt = formatDateTime;

  constructor() {
    void this.load();
  }

  async load(): Promise<void> {
    this.loading.set(true);
    this.error.set(null);
    try {
      this.items.set(await this.api.members());
      this.pending.set((await this.api.invites()).filter((i) => i.state === 'pending'));
    } catch (e) {
      this.error.set(errorMessage(e));
    } finally {
      this.loading.set(false);
    }
  }

  async add(form?: NgForm): Promise<void> {
    const email = this.email().trim();
    if (!email) {
      this.formError.set('Enter the email address to invite.');
      return;
    }
    this.saving.set(true);
    this.formError.set(null);
    this.sent.set(null);
    try {
      const invite = await this.api.invite(email, this.role());
      this.pending.update((l) => [invite, ...l.filter((x) => x.email !== invite.email)]);
      this.sent.set(invite.email);
      form?.resetForm({ email: '', role: this.role() });
      this.email.set('');
    } catch (e) {
      this.formError.set(errorMessage(e));
    } finally {
      this.saving.set(false);
    }
  }

  async revoke(id: string): Promise<void> {
    this.formError.set(null);
    try {
      await this.api.revokeInvite(id);
      this.pending.update((l) => l.filter((x) => x.id !== id));
    } catch (e) {
      this.formError.set(errorMessage(e));
    }
  }

  async changeRole(m: MemberView, role: TenantRole): Promise<void> {
    this.busy.set(m.userId);
    this.formError.set(null);
    try {
      const updated = await this.api.changeMemberRole(m.userId, role);
      this.items.update((l) => l.map((x) => (x.userId === updated.userId ? updated : x)));
    } catch (e) {
      this.formError.set(errorMessage(e));
      // Show the role the API kept.
      this.items.update((l) => l.map((x) => ({ ...x })));
    } finally {
      this.busy.set(null);
    }
  }

  async remove(m: MemberView): Promise<void> {
    const data: ConfirmData = { title: `Remove ${m.email}?`, message: 'They lose access to this team\'s servers, keys and tokens.', confirmLabel: 'Remove', danger: true };
    if (!(await firstValueFrom(this.dialog.open<ConfirmDialog, ConfirmData, boolean>(ConfirmDialog, { data }).afterClosed()))) return;
    this.busy.set(m.userId);
    this.formError.set(null);
    try {
      await this.api.removeMember(m.userId);
      this.items.update((l) => l.filter((x) => x.userId !== m.userId));
    } catch (e) {
      this.formError.set(errorMessage(e));
    } finally {
      this.busy.set(null);
    }
  }
}
