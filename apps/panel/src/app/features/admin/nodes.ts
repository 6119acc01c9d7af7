import { ChangeDetectionStrategy, Component, inject, signal } from '@angular/core';
import { FormBuilder, ReactiveFormsModule, Validators } from '@angular/forms';
import { RouterLink } from '@angular/router';
import { MatButtonModule } from '@angular/material/button';
import { MatFormFieldModule } from '@angular/material/form-field';
import { MatInputModule } from '@angular/material/input';
import { MatSelectModule } from '@angular/material/select';
import { MatTableModule } from '@angular/material/table';
import type { LocationView, NodeJoinView, NodeRegistrationView, NodeView } from '@oblako/contracts';
import { MatDialog } from '@angular/material/dialog';
import { firstValueFrom } from 'rxjs';
import { ConfirmDialog, type ConfirmData } from '../../shared/confirm-dialog';
import { ApiService } from '../../core/api/api.service';
import { errorMessage } from '../../core/api/api-error';
import { ErrorBanner } from '../../shared/error-banner';
import { LoadState } from '../../shared/load-state';
import { StateChip } from '../../shared/state-chip';
import { UsageBar } from '../../shared/usage-bar';
import { formatDateTime, formatGiB, formatMiB } from '../../shared/format';
import { adminLoadError } from './admin-load';
import { nodeCapacity } from './capacity';

@Component({
  selector: 'ob-nodes',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [ReactiveFormsModule, RouterLink, MatButtonModule, MatFormFieldModule, MatInputModule, MatSelectModule, MatTableModule, ErrorBanner, LoadState, StateChip, UsageBar],
  template: `
    <div class="ob-page" data-testid="nodes-page">
      <div class="ob-page-header">
        <h1>Nodes</h1>
        <button mat-flat-button type="button" (click)="showForm.set(!showForm())" [attr.aria-expanded]="showForm()" data-testid="node-add-toggle">Register a node</button>
      </div>
      @if (showForm()) {
        <form class="form" [formGroup]="form" (ngSubmit)="create()" data-testid="node-form">
          <mat-form-field><mat-label>Name</mat-label><input matInput formControlName="name" required data-testid="node-name" /></mat-form-field>
          <mat-form-field><mat-label>Location</mat-label>
            <mat-select formControlName="locationId" required data-testid="node-location">
              @for (l of locations(); track l.id) {<mat-option [value]="l.id">{{ l.name }}</mat-option>}
            </mat-select>
          </mat-form-field>
          <mat-form-field><mat-label>vCPUs</mat-label><input matInput type="number" min="1" formControlName="vcpus" data-testid="node-vcpus" /></mat-form-field>
          <mat-form-field><mat-label>Memory (MiB)</mat-label><input matInput type="number" min="256" formControlName="memoryMiB" data-testid="node-memory" /></mat-form-field>
          <mat-form-field><mat-label>Disk (GiB)</mat-label><input matInput type="number" min="1" formControlName="diskGiB" data-testid="node-disk" /></mat-form-field>
          <mat-form-field><mat-label>CPU overcommit</mat-label><input matInput type="number" min="1" step="0.1" formControlName="cpuOvercommit" data-testid="node-cpu-overcommit" /></mat-form-field>
          <mat-form-field><mat-label>Memory overcommit</mat-label><input matInput type="number" min="1" step="0.1" formControlName="memoryOvercommit" data-testid="node-memory-overcommit" /></mat-form-field>
          <div class="ob-row"><button mat-flat-button type="submit" [disabled]="saving()" data-testid="node-submit">Register</button></div>
        </form>
        <ob-error-banner [message]="formError()" testId="node-error" />
      }
      @if (joinShown(); as j) {
        <div class="secret" role="status" data-testid="node-join">
          <p><strong>Join command for "{{ j.name }}".</strong> Run it as root on the hypervisor; it works once, until {{ fmt(j.join.expiresAt) }},
            and the node's older credentials stop working when it is used.</p>
          <pre class="ob-mono cmd" data-testid="node-join-command">{{ j.join.command }}</pre>
          <button mat-button type="button" (click)="joinShown.set(null)">Done</button>
        </div>
      }
      @if (registration(); as r) {
        <div class="secret" role="status" data-testid="node-registration">
          <p><strong>Node "{{ r.node.name }}" registered.</strong> Run this as root on the fresh Debian 12 hypervisor: it installs libvirt, QEMU and
            the node daemon, and joins. It works once, until {{ fmt(r.join.expiresAt) }}.</p>
          <pre class="ob-mono cmd" data-testid="node-join-command">{{ r.join.command }}</pre>
          <p class="ob-muted">Or set a daemon up by hand with these settings (the secret is shown once; joining with the command above revokes it):</p>
          <pre class="ob-mono" data-testid="node-daemon-config">{{ daemonConfig(r) }}</pre>
          <button mat-button type="button" (click)="registration.set(null)">Done</button>
        </div>
      }
      <ob-error-banner [message]="rowError()" testId="node-row-error" />
      <ob-load-state [loading]="loading()" [error]="error()" [empty]="!loading() && !error() && nodes().length === 0" (retry)="load()">
        <p>No nodes yet. Register a hypervisor host to place servers on it.</p>
      </ob-load-state>
      @if (!loading() && nodes().length) {
        <div class="ob-table-wrap" tabindex="0" role="region" aria-label="Nodes">
          <table mat-table class="ob-cards" [dataSource]="nodes()" data-testid="nodes-table">
            <ng-container matColumnDef="name"><th mat-header-cell *matHeaderCellDef scope="col">Node</th>
              <td mat-cell *matCellDef="let n" data-label="Node"><a [routerLink]="['/admin/nodes', n.id]" data-testid="node-link"><strong>{{ n.name }}</strong></a><br /><span class="ob-muted">{{ locationName(n.locationId) }}</span></td></ng-container>
            <ng-container matColumnDef="state"><th mat-header-cell *matHeaderCellDef scope="col">State</th>
              <td mat-cell *matCellDef="let n" data-label="State"><ob-state-chip [state]="n.state" /><br /><span class="ob-muted small">heartbeat {{ fmt(n.lastHeartbeatAt) }}</span></td></ng-container>
            <ng-container matColumnDef="cpu"><th mat-header-cell *matHeaderCellDef scope="col">vCPU</th>
              <td mat-cell *matCellDef="let n" data-label="vCPU"><ob-usage-bar label="vCPU" [used]="cap(n).vcpus.used" [total]="cap(n).vcpus.total" testId="node-cpu" /></td></ng-container>
            <ng-container matColumnDef="memory"><th mat-header-cell *matHeaderCellDef scope="col">Memory</th>
              <td mat-cell *matCellDef="let n" data-label="Memory"><ob-usage-bar label="RAM" [used]="cap(n).memoryMiB.used" [total]="cap(n).memoryMiB.total" [format]="mib" testId="node-memory" /></td></ng-container>
            <ng-container matColumnDef="disk"><th mat-header-cell *matHeaderCellDef scope="col">Disk</th>
              <td mat-cell *matCellDef="let n" data-label="Disk"><ob-usage-bar label="Disk" [used]="cap(n).diskGiB.used" [total]="cap(n).diskGiB.total" [format]="gib" testId="node-disk" /></td></ng-container>
            <ng-container matColumnDef="actions"><th mat-header-cell *matHeaderCellDef scope="col"><span class="ob-visually-hidden">Actions</span></th>
              <td mat-cell *matCellDef="let n">
                <button mat-stroked-button type="button" (click)="newJoin(n)" [disabled]="busy() === n.id" data-testid="node-new-join">Join command</button>
                @if (n.state === 'maintenance') {
                  <button mat-stroked-button type="button" (click)="setState(n, 'online')" [disabled]="busy() === n.id" data-testid="node-end-maintenance">End maintenance</button>
                } @else {
                  <button mat-stroked-button type="button" (click)="setState(n, 'maintenance')" [disabled]="busy() === n.id" data-testid="node-maintenance">Maintenance</button>
                }
              </td></ng-container>
            <tr mat-header-row *matHeaderRowDef="columns"></tr>
            <tr mat-row *matRowDef="let n; columns: columns" data-testid="node-row" [attr.data-name]="n.name" [attr.data-state]="n.state"></tr>
          </table>
        </div>
        <p class="ob-muted small">vCPU and memory totals include the node's overcommit ratios; disk is never overcommitted.</p>
      }
    </div>`,
  styles: `.form { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 8px 12px; margin-bottom: 8px; }
    .form > .ob-row { grid-column: 1 / -1; }
    .small { font: var(--mat-sys-body-small); }
    td.mat-mdc-cell { padding-top: 8px; padding-bottom: 8px; vertical-align: top; }
    .secret { padding: 16px; margin: 8px 0 16px; border-radius: 12px; background: var(--mat-sys-tertiary-container); color: var(--mat-sys-on-tertiary-container); }
    pre { white-space: pre-wrap; word-break: break-all; background: var(--mat-sys-surface); color: var(--mat-sys-on-surface); padding: 8px; border-radius: 6px; }`,
})
export class NodesPage {
  private readonly api = inject(ApiService);
  readonly columns = ['name', 'state', 'cpu', 'memory', 'disk', 'actions'];
  readonly busy = signal<string | null>(null);
  readonly rowError = signal<string | null>(null);
  private readonly dialog = inject(MatDialog);
  readonly nodes = signal<NodeView[]>([]);
  readonly locations = signal<LocationView[]>([]);
  readonly loading = signal(true);
  readonly error = signal<string | null>(null);
  readonly showForm = signal(false);
  readonly saving = signal(false);
  readonly formError = signal<string | null>(null);
  readonly registration = signal<NodeRegistrationView | null>(null);
  readonly joinShown = signal<{ name: string; join: NodeJoinView } | null>(null);
  readonly form = inject(FormBuilder).nonNullable.group({
    name: ['', [Validators.required, Validators.maxLength(120)]],
    locationId: ['', Validators.required],
    vcpus: [8, [Validators.required, Validators.min(1)]],
    memoryMiB: [16384, [Validators.required, Validators.min(256)]],
    diskGiB: [500, [Validators.required, Validators.min(1)]],
    cpuOvercommit: [4, [Validators.required, Validators.min(1)]],
    memoryOvercommit: [1, [Validators.required, Validators.min(1)]],
  });
  mib = formatMiB;
  gib = formatGiB;
  fmt = formatDateTime;
  cap = nodeCapacity;

  constructor() {
    void this.load();
  }

  locationName(id: string): string {
    return this.locations().find((l) => l.id === id)?.name ?? id;
  }

  /** The node daemon's environment (names as apps/node-daemon reads them), and its .creds file when NATS has per-node users. */
  daemonConfig(r: NodeRegistrationView): string {
    const d = r.daemon;
    const lines = [`NODE_ID=${d.nodeId}`, `NATS_URL=${d.natsUrl}`, `NATS_SUBJECT_PREFIX=${d.subjectPrefix}`];
    if (d.natsCreds) {
      lines.push('NATS_CREDS=/etc/oblako/nats.creds', '', '# /etc/oblako/nats.creds (mode 0600): this node\'s own NATS user', d.natsCreds.trim());
    } else if (d.natsPassword) {
      lines.push(`NATS_USER=${d.natsUser}`, `NATS_PASSWORD=${d.natsPassword}`);
    }
    return lines.join('\n');
  }

  /** A new single-use join command (reinstalled host, lost credentials); the unused older one stops working. */
  async newJoin(n: NodeView): Promise<void> {
    this.busy.set(n.id);
    this.rowError.set(null);
    try {
      this.joinShown.set({ name: n.name, join: await this.api.newNodeJoin(n.id) });
    } catch (e) {
      this.rowError.set(errorMessage(e));
    } finally {
      this.busy.set(null);
    }
  }

  async load(): Promise<void> {
    this.loading.set(true);
    this.error.set(null);
    try {
      const [nodes, locations] = await Promise.all([this.api.adminNodes(), this.api.locations()]);
      this.nodes.set(nodes.items);
      this.locations.set(locations.items);
      if (!this.form.controls.locationId.value && locations.items[0]) this.form.controls.locationId.setValue(locations.items[0].id);
    } catch (e) {
      this.error.set(adminLoadError(e, '/admin/nodes'));
    } finally {
      this.loading.set(false);
    }
  }

  async setState(n: NodeView, state: 'online' | 'maintenance'): Promise<void> {
    const data: ConfirmData =
      state === 'maintenance'
        ? { title: `Put ${n.name} into maintenance?`, message: 'No new servers are placed on it; servers already there keep running.', confirmLabel: 'Maintenance' }
        : { title: `End maintenance on ${n.name}?`, message: 'New servers may be placed on it again.', confirmLabel: 'End maintenance' };
    if (!(await firstValueFrom(this.dialog.open<ConfirmDialog, ConfirmData, boolean>(ConfirmDialog, { data }).afterClosed()))) return;
    this.busy.set(n.id);
    this.rowError.set(null);
    try {
      const updated = await this.api.updateNode(n.id, { state });
      this.nodes.update((list) => list.map((x) => (x.id === updated.id ? updated : x)));
    } catch (e) {
      this.rowError.set(errorMessage(e));
    } finally {
      this.busy.set(null);
    }
  }

  async create(): Promise<void> {
    this.form.markAllAsTouched();
    if (this.form.invalid) {
      this.formError.set('Fill in every field: a name, a location, and positive capacities (overcommit ratios at least 1).');
      return;
    }
    this.saving.set(true);
    this.formError.set(null);
    try {
      const v = this.form.getRawValue();
      const r = await this.api.createNode({ ...v, name: v.name.trim(), vcpus: Number(v.vcpus), memoryMiB: Number(v.memoryMiB), diskGiB: Number(v.diskGiB), cpuOvercommit: Number(v.cpuOvercommit), memoryOvercommit: Number(v.memoryOvercommit) });
      this.registration.set(r);
      this.nodes.update((list) => [...list, r.node]);
      this.showForm.set(false);
      this.form.controls.name.reset('');
    } catch (e) {
      this.formError.set(errorMessage(e));
    } finally {
      this.saving.set(false);
    }
  }
}
