import { ChangeDetectionStrategy, Component, computed, inject, signal } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { MatButtonModule } from '@angular/material/button';
import { MatCheckboxModule } from '@angular/material/checkbox';
import { MatDialog } from '@angular/material/dialog';
import { MatFormFieldModule } from '@angular/material/form-field';
import { MatInputModule } from '@angular/material/input';
import { MatSelectModule } from '@angular/material/select';
import { basePathProblem, BACKUP_USERNAME_PATTERN, type BackupStoreView, type LocationView, type NodeView } from '@oblako/contracts';
import { ApiService } from '../../core/api/api.service';
import { errorMessage } from '../../core/api/api-error';
import { AnnouncerService } from '../../shared/announcer';
import { askConfirm } from '../../shared/confirm-dialog';
import { ErrorBanner } from '../../shared/error-banner';
import { formatBytes } from '../../shared/format';
import { LoadState } from '../../shared/load-state';
import { adminLoadError } from './admin-load';

interface StoreDraft { locationId: string; name: string; host: string; port: string; username: string; basePath: string; hostKey: string; enabled: boolean }
const EMPTY: StoreDraft = { locationId: '', name: '', host: '', port: '22', username: 'oblako', basePath: '/srv/oblako-backups', hostKey: '', enabled: true };

/** What is wrong with a draft before it is sent (the API checks again and has the last word). */
export function storeDraftProblems(d: StoreDraft, editing: boolean): string[] {
  const out: string[] = [];
  if (!d.locationId) out.push('Choose the location whose nodes back up to this store.');
  if (!d.name.trim()) out.push('Give the store a name.');
  if (!d.host.trim()) out.push('Enter the store\'s host name or IP address.');
  const port = Number(d.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) out.push('The port must be a whole number from 1 to 65535.');
  if (!BACKUP_USERNAME_PATTERN.test(d.username)) out.push('The login name must start with a letter or _ and hold only letters, digits, ".", "_" or "-".');
  const p = basePathProblem(d.basePath.trim().replace(/(.)\/+$/, '$1'));
  if (p) out.push(p.replace('basePath', 'The folder'));
  if (!editing && !d.hostKey.trim()) out.push('Paste the store\'s host key (ssh-keyscan -t ed25519 <host>): nodes refuse a store whose key is not pinned.');
  return out;
}

/** Staff: the backup stores of each location (SFTP/SSH hosts off the hypervisors) and the node keys they must trust. */
@Component({
  selector: 'ob-backup-stores',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [FormsModule, MatButtonModule, MatCheckboxModule, MatFormFieldModule, MatInputModule, MatSelectModule, ErrorBanner, LoadState],
  template: `
    <div class="ob-page" data-testid="backup-stores-page">
      <div class="ob-page-header">
        <h1>Backup stores</h1>
        <button mat-flat-button type="button" (click)="openForm(null)" [disabled]="loading()" [attr.aria-expanded]="showForm()" data-testid="backup-store-add">Add a store</button>
      </div>
      <p class="ob-muted">Backups leave the hypervisor for an SSH/SFTP host of the same location. Each node logs in with its own key: put the node keys below into the store user's <span class="ob-mono">~/.ssh/authorized_keys</span>.</p>
      @if (showForm()) {
        <form class="form" (ngSubmit)="save()" data-testid="backup-store-form" [attr.aria-label]="editing() ? 'Edit backup store' : 'Add a backup store'">
          <h2 class="full">{{ editing() ? 'Edit ' + editing()!.name : 'New backup store' }}</h2>
          <mat-form-field><mat-label>Location</mat-label>
            <mat-select name="locationId" [(ngModel)]="d.locationId" [disabled]="!!editing()" required data-testid="backup-store-location">
              @for (l of locations(); track l.id) {<mat-option [value]="l.id">{{ l.name }}</mat-option>}
            </mat-select></mat-form-field>
          <mat-form-field><mat-label>Name</mat-label><input matInput name="name" [(ngModel)]="d.name" maxlength="120" required data-testid="backup-store-name" /></mat-form-field>
          <mat-form-field><mat-label>Host</mat-label><input matInput name="host" [(ngModel)]="d.host" spellcheck="false" placeholder="backup1.example.net" required data-testid="backup-store-host" /></mat-form-field>
          <mat-form-field><mat-label>Port</mat-label><input matInput name="port" inputmode="numeric" [(ngModel)]="d.port" data-testid="backup-store-port" /></mat-form-field>
          <mat-form-field><mat-label>Login</mat-label><input matInput name="username" [(ngModel)]="d.username" spellcheck="false" data-testid="backup-store-username" /></mat-form-field>
          <mat-form-field><mat-label>Folder</mat-label><input matInput name="basePath" [(ngModel)]="d.basePath" spellcheck="false" data-testid="backup-store-path" />
            <mat-hint>An absolute folder on the store, e.g. /srv/oblako-backups</mat-hint></mat-form-field>
          <mat-form-field class="full"><mat-label>Host key{{ editing() ? ' (leave empty to keep the pinned one)' : '' }}</mat-label>
            <textarea matInput name="hostKey" rows="2" [(ngModel)]="d.hostKey" spellcheck="false" class="ob-mono" data-testid="backup-store-hostkey"
              placeholder="backup1.example.net ssh-ed25519 AAAAC3Nza..."></textarea>
            <mat-hint>The output of <span class="ob-mono">ssh-keyscan -t ed25519 &lt;host&gt;</span> (with -p for another port), or the store's ssh_host_ed25519_key.pub. Nodes connect only to this key.</mat-hint></mat-form-field>
          <mat-checkbox name="enabled" [(ngModel)]="d.enabled" data-testid="backup-store-enabled">Enabled: new backups go here</mat-checkbox>
          <div class="full ob-row">
            <button mat-flat-button type="submit" [disabled]="saving()" data-testid="backup-store-submit">{{ editing() ? 'Save' : 'Add store' }}</button>
            <button mat-button type="button" (click)="showForm.set(false)">Cancel</button>
          </div>
          @if (problems().length) {
            <ul class="full problems" data-testid="backup-store-problems">@for (p of problems(); track p) {<li>{{ p }}</li>}</ul>
          }
          <ob-error-banner class="full" [message]="formError()" testId="backup-store-error" />
        </form>
      }
      <ob-error-banner [message]="rowError()" testId="backup-store-row-error" />
      <ob-load-state [loading]="loading()" [error]="error()" [empty]="!loading() && !error() && stores().length === 0" (retry)="load()">
        <p>No backup stores yet. Servers cannot be backed up until their location has an enabled store.</p>
      </ob-load-state>
      @if (!loading() && stores().length) {
        <div class="ob-table-wrap" tabindex="0" role="region" aria-label="Backup stores">
          <table class="ob-simple-table" data-testid="backup-stores-table">
            <thead><tr><th scope="col">Store</th><th scope="col">Location</th><th scope="col">Address</th><th scope="col">Host key</th><th scope="col">Backups</th><th scope="col">Used</th><th scope="col">State</th><th scope="col"><span class="ob-visually-hidden">Actions</span></th></tr></thead>
            <tbody>
              @for (s of stores(); track s.id) {
                <tr data-testid="backup-store-row" [attr.data-name]="s.name" [attr.data-enabled]="s.enabled">
                  <td>{{ s.name }}<br /><span class="ob-muted">{{ s.kind }}</span></td>
                  <td>{{ locationName(s.locationId) }}</td>
                  <td class="ob-mono">{{ s.username }}&#64;{{ s.host }}:{{ s.port }}<br />{{ s.basePath }}</td>
                  <td class="ob-mono small fp" [title]="s.hostKey">{{ s.hostKeyFingerprint }}</td>
                  <td data-testid="backup-store-count" [title]="s.readyBackupCount + ' ready, ' + (s.backupCount - s.readyBackupCount) + ' being made, failed or deleting'">{{ s.backupCount }}</td>
                  <td data-testid="backup-store-used" class="nowrap">{{ bytes(s.usedBytes) }}</td>
                  <td>{{ s.enabled ? 'enabled' : 'disabled' }}</td>
                  <td class="row-actions">
                    <button mat-stroked-button type="button" (click)="openForm(s)" [attr.aria-label]="'Edit ' + s.name" data-testid="backup-store-edit">Edit</button>
                    <button mat-stroked-button type="button" (click)="toggle(s)" [disabled]="busy() === s.id" data-testid="backup-store-toggle">{{ s.enabled ? 'Disable' : 'Enable' }}</button>
                    <button mat-stroked-button type="button" class="danger" (click)="remove(s)" [disabled]="busy() === s.id || s.backupCount > 0"
                      [attr.aria-describedby]="s.backupCount > 0 ? 'why-store-' + s.id : null" data-testid="backup-store-delete">Delete</button>
                    @if (s.backupCount > 0) {<div class="ob-muted small" [id]="'why-store-' + s.id">Holds backups: disable it instead</div>}
                  </td>
                </tr>
              }
            </tbody>
          </table>
        </div>
      }
      @if (!loading()) {
        <h2>Node keys for the stores' authorized_keys</h2>
        <p class="ob-muted">Each node makes its own key pair on its first start and reports the public key. A store accepts a node only with its key in authorized_keys.</p>
        <div class="ob-table-wrap" tabindex="0" role="region" aria-label="Node backup keys">
          <table class="ob-simple-table" data-testid="backup-node-keys">
            <thead><tr><th scope="col">Node</th><th scope="col">Location</th><th scope="col">Public key</th></tr></thead>
            <tbody>
              @for (n of nodes(); track n.id) {
                <tr data-testid="backup-node-key-row" [attr.data-node]="n.name">
                  <td>{{ n.name }}</td><td>{{ locationName(n.locationId) }}</td>
                  <td>@if (keyOf(n); as k) {<code class="key" data-testid="backup-node-key">{{ k }}</code>} @else {<span class="ob-muted">not reported yet (the node reports it when its daemon starts)</span>}</td>
                </tr>
              } @empty {
                <tr><td colspan="3" class="ob-muted">No nodes yet.</td></tr>
              }
            </tbody>
          </table>
        </div>
      }
    </div>`,
  styles: `.nowrap { white-space: nowrap; } .form { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 8px 12px; margin-bottom: 12px; }
    .form > .full { grid-column: 1 / -1; }
    .ob-simple-table { border-collapse: collapse; width: 100%; }
    .ob-simple-table th, .ob-simple-table td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--mat-sys-outline-variant, #ddd); vertical-align: top; }
    .row-actions { display: flex; flex-wrap: wrap; gap: 6px; min-width: 180px; }
    .fp { word-break: break-all; max-width: 200px; }
    .danger { color: var(--mat-sys-error); } .small { font: var(--mat-sys-body-small); }
    .problems { color: var(--mat-sys-error); margin: 0; }
    .key { word-break: break-all; font-size: 12px; }`,
})
export class BackupStoresPage {
  private readonly api = inject(ApiService);
  private readonly dialog = inject(MatDialog);
  private readonly announcer = inject(AnnouncerService);
  readonly stores = signal<BackupStoreView[]>([]);
  readonly locations = signal<LocationView[]>([]);
  readonly nodes = signal<NodeView[]>([]);
  readonly loading = signal(true);
  readonly error = signal<string | null>(null);
  readonly showForm = signal(false);
  readonly editing = signal<BackupStoreView | null>(null);
  readonly saving = signal(false);
  readonly formError = signal<string | null>(null);
  readonly problems = signal<string[]>([]);
  readonly rowError = signal<string | null>(null);
  readonly busy = signal<string | null>(null);
  readonly bytes = formatBytes;
  d: StoreDraft = { ...EMPTY };
  readonly byLocation = computed(() => new Map(this.locations().map((l) => [l.id, l.name])));

  constructor() {
    void this.load();
  }

  locationName(id: string): string {
    return this.byLocation().get(id) ?? id;
  }

  /** The node's backup public key, as its daemon reported it (null until it has). */
  keyOf(n: NodeView): string | null {
    return n.backupPublicKey ?? null;
  }

  async load(): Promise<void> {
    this.loading.set(true);
    this.error.set(null);
    try {
      const [stores, locations, nodes] = await Promise.all([this.api.adminBackupStores(), this.api.locations(), this.api.adminNodes()]);
      this.stores.set(stores);
      this.locations.set(locations.items);
      this.nodes.set(nodes.items);
      if (!this.d.locationId && locations.items[0]) this.d = { ...this.d, locationId: locations.items[0].id };
    } catch (e) {
      this.error.set(adminLoadError(e, '/admin/backup-stores'));
    } finally {
      this.loading.set(false);
    }
  }

  openForm(s: BackupStoreView | null): void {
    this.editing.set(s);
    this.formError.set(null);
    this.problems.set([]);
    this.d = s
      ? { locationId: s.locationId, name: s.name, host: s.host, port: String(s.port), username: s.username, basePath: s.basePath, hostKey: '', enabled: s.enabled }
      : { ...EMPTY, locationId: this.locations()[0]?.id ?? '' };
    this.showForm.set(true);
  }

  async save(): Promise<void> {
    const editing = this.editing();
    const problems = storeDraftProblems(this.d, !!editing);
    this.problems.set(problems);
    if (problems.length) return;
    this.saving.set(true);
    this.formError.set(null);
    const d = this.d;
    const common = { name: d.name.trim(), host: d.host.trim(), port: Number(d.port), username: d.username, basePath: d.basePath.trim(), enabled: d.enabled };
    try {
      if (editing) {
        const saved = await this.api.updateBackupStore(editing.id, { ...common, ...(d.hostKey.trim() ? { hostKey: d.hostKey.trim() } : {}) });
        this.stores.update((l) => l.map((x) => (x.id === saved.id ? saved : x)));
        this.announcer.say(`The store ${saved.name} was saved.`);
      } else {
        const saved = await this.api.createBackupStore({ ...common, locationId: d.locationId, hostKey: d.hostKey.trim() });
        this.stores.update((l) => [...l, saved].sort((a, b) => a.name.localeCompare(b.name)));
        this.announcer.say(`The store ${saved.name} was added.`);
      }
      this.showForm.set(false);
    } catch (e) {
      this.formError.set(errorMessage(e));
    } finally {
      this.saving.set(false);
    }
  }

  async toggle(s: BackupStoreView): Promise<void> {
    if (s.enabled) {
      const ok = await askConfirm(this.dialog, {
        title: `Disable ${s.name}?`, message: 'No new backups go to this store. Its backups stay and can still be restored.', confirmLabel: 'Disable', danger: true,
      });
      if (!ok) return;
    }
    await this.row(s, async () => {
      const saved = await this.api.updateBackupStore(s.id, { enabled: !s.enabled });
      this.stores.update((l) => l.map((x) => (x.id === saved.id ? saved : x)));
      this.announcer.say(`The store ${s.name} is ${saved.enabled ? 'enabled' : 'disabled'}.`);
    });
  }

  async remove(s: BackupStoreView): Promise<void> {
    const ok = await askConfirm(this.dialog, {
      title: `Delete the store ${s.name}?`, message: 'The store\'s settings are removed. Only a store that holds no backups can be deleted; the files on the host are not touched.',
      confirmLabel: 'Delete', danger: true, typeToConfirm: s.name,
    });
    if (!ok) return;
    await this.row(s, async () => {
      await this.api.deleteBackupStore(s.id);
      this.stores.update((l) => l.filter((x) => x.id !== s.id));
      this.announcer.say(`The store ${s.name} was deleted.`);
    });
  }

  private async row(s: BackupStoreView, fn: () => Promise<void>): Promise<void> {
    this.busy.set(s.id);
    this.rowError.set(null);
    try {
      await fn();
    } catch (e) {
      this.rowError.set(errorMessage(e));
    } finally {
      this.busy.set(null);
    }
  }
}
