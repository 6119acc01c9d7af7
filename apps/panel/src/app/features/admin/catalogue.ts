import { ChangeDetectionStrategy, Component, inject, signal } from '@angular/core';
import { FormBuilder, ReactiveFormsModule, Validators } from '@angular/forms';
import { MatButtonModule } from '@angular/material/button';
import { MatFormFieldModule } from '@angular/material/form-field';
import { MatInputModule } from '@angular/material/input';
import { MatSelectModule } from '@angular/material/select';
import { MatTableModule } from '@angular/material/table';
import type { AdminIsoView, ImageNodeStateView, LocationView, PlanView } from '@oblako/contracts';
import { type AdminImageView, ApiService } from '../../core/api/api.service';
import { errorMessage } from '../../core/api/api-error';
import { ErrorBanner } from '../../shared/error-banner';
import { LoadState } from '../../shared/load-state';
import { StateChip } from '../../shared/state-chip';
import { formatBytes, formatGiB, formatMiB, formatPlanPrice } from '../../shared/format';
import { adminLoadError } from './admin-load';
import { MatDialog } from '@angular/material/dialog';
import { AnnouncerService } from '../../shared/announcer';
import { askConfirm } from '../../shared/confirm-dialog';

/** Loads one staff list and keeps its loading, error and form state. */
abstract class AdminList<T extends { id: string }> {
  readonly items = signal<T[]>([]);
  readonly loading = signal(true);
  readonly error = signal<string | null>(null);
  readonly showForm = signal(false);
  readonly saving = signal(false);
  readonly formError = signal<string | null>(null);
  readonly busy = signal<string | null>(null);
  protected readonly api = inject(ApiService);
  protected readonly fb = inject(FormBuilder);
  protected readonly dialog = inject(MatDialog);
  protected readonly announcer = inject(AnnouncerService);
  /** The row being edited in the form (null: the form adds a new one). */
  readonly editing = signal<T | null>(null);

  openNew(): void {
    this.editing.set(null);
    this.showForm.set(!this.showForm());
  }
  protected abstract readonly path: string;
  protected abstract fetch(): Promise<{ items: T[] }>;

  async load(): Promise<void> {
    this.loading.set(true);
    this.error.set(null);
    try {
      this.items.set((await this.fetch()).items);
    } catch (e) {
      this.error.set(adminLoadError(e, this.path));
    } finally {
      this.loading.set(false);
    }
  }

  /** Run a create call; on success add the row and close the form. */
  protected async saveNew(call: () => Promise<T>, after: () => void): Promise<void> {
    this.saving.set(true);
    this.formError.set(null);
    try {
      const created = await call();
      this.items.update((l) => [...l, created]);
      this.showForm.set(false);
      after();
    } catch (e) {
      this.formError.set(errorMessage(e));
    } finally {
      this.saving.set(false);
    }
  }

  protected async updateRow(id: string, call: () => Promise<T>, said?: string): Promise<boolean> {
    this.busy.set(id);
    this.formError.set(null);
    try {
      const updated = await call();
      this.items.update((l) => l.map((x) => (x.id === updated.id ? updated : x)));
      if (said) this.announcer.say(said);
      return true;
    } catch (e) {
      this.formError.set(errorMessage(e));
      return false;
    } finally {
      this.busy.set(null);
    }
  }

  /** Save the edited row from the form; on success close the form. */
  protected async saveEdit(id: string, call: () => Promise<T>, said: string): Promise<void> {
    this.saving.set(true);
    const ok = await this.updateRow(id, call, said);
    this.saving.set(false);
    if (ok) {
      this.showForm.set(false);
      this.editing.set(null);
    }
  }

  protected async removeRow(id: string, call: () => Promise<void>, said: string): Promise<void> {
    this.busy.set(id);
    this.formError.set(null);
    try {
      await call();
      this.items.update((l) => l.filter((x) => x.id !== id));
      this.announcer.say(said);
    } catch (e) {
      this.formError.set(errorMessage(e));
    } finally {
      this.busy.set(null);
    }
  }
}

@Component({
  selector: 'ob-admin-plans',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [ReactiveFormsModule, MatButtonModule, MatFormFieldModule, MatInputModule, MatSelectModule, MatTableModule, ErrorBanner, LoadState, StateChip],
  styleUrl: './admin-form.scss',
  template: `
    <div class="ob-page" data-testid="admin-plans-page">
      <div class="ob-page-header"><h1>Plans</h1>
        <button mat-flat-button type="button" (click)="openNew()" [attr.aria-expanded]="showForm()" data-testid="plan-add-toggle">Add a plan</button></div>
      @if (showForm()) {
        <form class="form" [formGroup]="form" (ngSubmit)="create()" data-testid="plan-form">
          <mat-form-field><mat-label>Name</mat-label><input matInput formControlName="name" required data-testid="plan-name" /></mat-form-field>
          <mat-form-field><mat-label>vCPUs</mat-label><input matInput type="number" min="1" max="256" formControlName="vcpus" data-testid="plan-vcpus" /></mat-form-field>
          <mat-form-field><mat-label>Memory (MiB)</mat-label><input matInput type="number" min="64" formControlName="memoryMiB" data-testid="plan-memory" /></mat-form-field>
          <mat-form-field><mat-label>Disk (GiB)</mat-label><input matInput type="number" min="1" formControlName="diskGiB" data-testid="plan-disk" /></mat-form-field>
          <mat-form-field><mat-label>CPU quota (%)</mat-label><input matInput type="number" min="1" formControlName="cpuQuotaPercent" /></mat-form-field>
          <mat-form-field><mat-label>Disk IOPS</mat-label><input matInput type="number" min="1" formControlName="diskIops" /></mat-form-field>
          <mat-form-field><mat-label>Disk MB/s</mat-label><input matInput type="number" min="1" formControlName="diskMBps" /></mat-form-field>
          <mat-form-field><mat-label>Network Mbit/s</mat-label><input matInput type="number" min="1" formControlName="netMbit" /></mat-form-field>
          <mat-form-field><mat-label>Traffic GiB/month</mat-label><input matInput type="number" min="0" formControlName="trafficGiB" /></mat-form-field>
          <mat-form-field><mat-label>Billed</mat-label>
            <mat-select formControlName="billing" data-testid="plan-billing">
              <mat-option value="month">per month</mat-option><mat-option value="hour">per hour (metered)</mat-option>
            </mat-select>
            @if (editing()) {<mat-hint>Fixed once the plan exists</mat-hint>}</mat-form-field>
          <mat-form-field><mat-label>{{ form.controls.billing.value === 'hour' ? 'Price per hour' : 'Price per month' }}</mat-label><input matInput type="number" min="0" step="0.01" formControlName="price" data-testid="plan-price" /></mat-form-field>
          <mat-form-field><mat-label>Currency</mat-label><input matInput formControlName="currency" maxlength="3" /></mat-form-field>
          <div class="ob-row"><button mat-flat-button type="submit" [disabled]="saving()" data-testid="plan-submit">{{ editing() ? 'Save ' + editing()!.name : 'Add plan' }}</button>
            @if (editing()) {<button mat-button type="button" (click)="showForm.set(false); editing.set(null)" data-testid="plan-edit-cancel">Cancel</button>
              <span class="ob-muted">A new price applies to new orders; servers already running keep theirs.</span>}</div>
        </form>
      }
      <ob-error-banner [message]="formError()" testId="plan-error" />
      <ob-load-state [loading]="loading()" [error]="error()" [empty]="!loading() && !error() && items().length === 0" (retry)="load()"><p>No plans yet.</p></ob-load-state>
      @if (!loading() && items().length) {
        <div class="ob-table-wrap" tabindex="0" role="region" aria-label="Plans"><table mat-table class="ob-cards" [dataSource]="items()" data-testid="admin-plans-table">
          <ng-container matColumnDef="name"><th mat-header-cell *matHeaderCellDef scope="col">Plan</th><td mat-cell *matCellDef="let p" data-label="Plan">{{ p.name }}</td></ng-container>
          <ng-container matColumnDef="cpu"><th mat-header-cell *matHeaderCellDef scope="col">vCPU</th><td mat-cell *matCellDef="let p" data-label="vCPU">{{ p.vcpus }} · {{ p.cpuQuotaPercent }}%</td></ng-container>
          <ng-container matColumnDef="memory"><th mat-header-cell *matHeaderCellDef scope="col">Memory</th><td mat-cell *matCellDef="let p" data-label="Memory">{{ mib(p.memoryMiB) }}</td></ng-container>
          <ng-container matColumnDef="disk"><th mat-header-cell *matHeaderCellDef scope="col">Disk</th><td mat-cell *matCellDef="let p" data-label="Disk">{{ gib(p.diskGiB) }} · {{ p.diskIops }} IOPS · {{ p.diskMBps }} MB/s</td></ng-container>
          <ng-container matColumnDef="net"><th mat-header-cell *matHeaderCellDef scope="col">Network</th><td mat-cell *matCellDef="let p" data-label="Network">{{ p.netMbit }} Mbit/s · {{ gib(p.trafficGiB) }}/mo</td></ng-container>
          <ng-container matColumnDef="price"><th mat-header-cell *matHeaderCellDef scope="col">Price</th><td mat-cell *matCellDef="let p" data-label="Price">{{ money(p) }}</td></ng-container>
          <ng-container matColumnDef="active"><th mat-header-cell *matHeaderCellDef scope="col">Offered</th>
            <td mat-cell *matCellDef="let p" data-label="Offered"><ob-state-chip [state]="p.active ? 'offered' : 'deprecated'" />
              <button mat-button type="button" [disabled]="busy() === p.id" (click)="toggle(p)" data-testid="plan-toggle"
                [attr.aria-label]="(p.active ? 'Deprecate ' : 'Offer ') + p.name">{{ p.active ? 'Deprecate' : 'Offer' }}</button>
              <button mat-button type="button" [disabled]="busy() === p.id" (click)="edit(p)" data-testid="plan-edit" [attr.aria-label]="'Edit ' + p.name">Edit</button></td></ng-container>
          <tr mat-header-row *matHeaderRowDef="columns"></tr>
          <tr mat-row *matRowDef="let p; columns: columns" data-testid="admin-plan-row" [attr.data-name]="p.name"></tr>
        </table></div>
      }
    </div>`,
})
export class PlansPage extends AdminList<PlanView> {
  protected readonly path = '/admin/plans';
  readonly columns = ['name', 'cpu', 'memory', 'disk', 'net', 'price', 'active'];
  readonly form = this.fb.nonNullable.group({
    name: ['', [Validators.required, Validators.maxLength(120)]],
    vcpus: [1, [Validators.required, Validators.min(1), Validators.max(256)]],
    memoryMiB: [1024, [Validators.required, Validators.min(64)]],
    diskGiB: [20, [Validators.required, Validators.min(1)]],
    cpuQuotaPercent: [100, [Validators.required, Validators.min(1)]],
    diskIops: [2000, [Validators.required, Validators.min(1)]],
    diskMBps: [100, [Validators.required, Validators.min(1)]],
    netMbit: [100, [Validators.required, Validators.min(1)]],
    trafficGiB: [1000, [Validators.required, Validators.min(0)]],
    price: [5, [Validators.required, Validators.min(0)]],
    billing: ['month' as 'month' | 'hour'],
    currency: ['EUR', [Validators.required, Validators.pattern(/^[A-Za-z]{3}$/)]],
  });
  mib = formatMiB;
  gib = formatGiB;
  money = (p: PlanView) => formatPlanPrice(p);
  override openNew(): void {
    this.form.controls.billing.enable();
    super.openNew();
  }
  constructor() {
    super();
    void this.load();
  }
  protected fetch() {
    return this.api.adminPlans();
  }
  edit(p: PlanView): void {
    this.editing.set(p);
    this.form.reset({
      name: p.name, vcpus: p.vcpus, memoryMiB: p.memoryMiB, diskGiB: p.diskGiB, cpuQuotaPercent: p.cpuQuotaPercent, diskIops: p.diskIops,
      diskMBps: p.diskMBps, netMbit: p.netMbit, trafficGiB: p.trafficGiB, currency: p.currency,
      billing: p.priceHourlyCents != null ? 'hour' : 'month', price: (p.priceHourlyCents ?? p.priceMonthlyCents) / 100,
    });
    this.form.controls.billing.disable(); // the API answers 409: a plan's billing interval is fixed
    this.formError.set(null);
    this.showForm.set(true);
  }
  create(): Promise<void> {
    this.form.markAllAsTouched();
    const problem = planFormProblem(this.form);
    if (problem) {
      this.formError.set(problem);
      return Promise.resolve();
    }
    const { price, billing, ...v } = this.form.getRawValue();
    if (billing === 'hour' && Math.round(Number(price) * 100) < 1) {
      this.formError.set('The price per hour must be at least 0.01.');
      return Promise.resolve();
    }
    const n = (x: number) => Number(x);
    const body = {
      name: v.name.trim(), vcpus: n(v.vcpus), memoryMiB: n(v.memoryMiB), diskGiB: n(v.diskGiB), cpuQuotaPercent: n(v.cpuQuotaPercent),
      diskIops: n(v.diskIops), diskMBps: n(v.diskMBps), netMbit: n(v.netMbit), trafficGiB: n(v.trafficGiB),
      ...(billing === 'hour' ? { priceHourlyCents: Math.round(n(price) * 100) } : { priceMonthlyCents: Math.round(n(price) * 100) }),
      currency: v.currency.toUpperCase(),
    };
    const editing = this.editing();
    if (editing) return this.saveEdit(editing.id, () => this.api.updatePlan(editing.id, body), `The plan ${body.name} was saved.`);
    return this.saveNew(() => this.api.createPlan({ ...body, active: true }), () => this.form.controls.name.reset(''));
  }
  async toggle(p: PlanView): Promise<void> {
    if (p.active) {
      const ok = await askConfirm(this.dialog, {
        title: `Deprecate the plan ${p.name}?`,
        message: 'Customers can no longer order it or resize to it. Servers on it keep running, at their price; you can offer it again later.',
        confirmLabel: 'Deprecate',
      });
      if (!ok) return;
    }
    await this.updateRow(p.id, () => this.api.setPlanActive(p.id, !p.active), p.active ? `The plan ${p.name} was deprecated.` : `The plan ${p.name} is offered again.`);
  }
}

@Component({
  selector: 'ob-admin-images',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [ReactiveFormsModule, MatButtonModule, MatFormFieldModule, MatInputModule, MatSelectModule, MatTableModule, ErrorBanner, LoadState, StateChip],
  styleUrl: './admin-form.scss',
  template: `
    <div class="ob-page" data-testid="admin-images-page">
      <div class="ob-page-header"><h1>Images</h1>
        <button mat-flat-button type="button" (click)="openNew()" [attr.aria-expanded]="showForm()" data-testid="image-add-toggle">Add an image</button></div>
      @if (showForm()) {
        <form class="form" [formGroup]="form" (ngSubmit)="create()" data-testid="image-form">
          <mat-form-field><mat-label>Name</mat-label><input matInput formControlName="name" required placeholder="Debian 12" data-testid="image-name" /></mat-form-field>
          <mat-form-field><mat-label>OS family</mat-label><input matInput formControlName="osFamily" required placeholder="debian" data-testid="image-os" /></mat-form-field>
          <mat-form-field><mat-label>Version</mat-label><input matInput formControlName="version" required placeholder="12" data-testid="image-version" /></mat-form-field>
          <mat-form-field><mat-label>Format</mat-label>
            <mat-select formControlName="format" data-testid="image-format"><mat-option value="qcow2">qcow2</mat-option><mat-option value="raw">raw</mat-option></mat-select></mat-form-field>
          <mat-form-field class="wide"><mat-label>Download URL</mat-label><input matInput formControlName="url" required spellcheck="false" placeholder="https://…/debian-12.qcow2" data-testid="image-url" /></mat-form-field>
          <mat-form-field class="wide"><mat-label>SHA-256</mat-label><input matInput formControlName="sha256" required spellcheck="false" maxlength="64" data-testid="image-sha256" /></mat-form-field>
          <mat-form-field><mat-label>Minimum disk (GiB)</mat-label><input matInput type="number" min="0" formControlName="minDiskGiB" data-testid="image-min-disk" />
            <mat-hint>0: none; smaller plans are refused</mat-hint></mat-form-field>
          <mat-form-field><mat-label>Minimum memory (MiB)</mat-label><input matInput type="number" min="0" formControlName="minMemoryMiB" data-testid="image-min-memory" />
            <mat-hint>0: none</mat-hint></mat-form-field>
          <div class="ob-row"><button mat-flat-button type="submit" [disabled]="saving()" data-testid="image-submit">Add image</button></div>
        </form>
      }
      <ob-error-banner [message]="formError()" testId="image-error" />
      <ob-load-state [loading]="loading()" [error]="error()" [empty]="!loading() && !error() && items().length === 0" (retry)="load()"><p>No images yet.</p></ob-load-state>
      @if (!loading() && items().length) {
        <div class="ob-table-wrap" tabindex="0" role="region" aria-label="Images"><table mat-table class="ob-cards" [dataSource]="items()" data-testid="admin-images-table">
          <ng-container matColumnDef="name"><th mat-header-cell *matHeaderCellDef scope="col">Image</th><td mat-cell *matCellDef="let i" data-label="Image" class="ob-card-title">{{ i.name }}</td></ng-container>
          <ng-container matColumnDef="os"><th mat-header-cell *matHeaderCellDef scope="col">OS</th><td mat-cell *matCellDef="let i" data-label="OS">{{ i.osFamily }} {{ i.version }}</td></ng-container>
          <ng-container matColumnDef="source"><th mat-header-cell *matHeaderCellDef scope="col">Source</th><td mat-cell *matCellDef="let i" data-label="Source" class="url ob-mono ob-wrap">{{ i.format }} · {{ i.url }}</td></ng-container>
          <ng-container matColumnDef="nodes"><th mat-header-cell *matHeaderCellDef scope="col">On nodes</th>
            <td mat-cell *matCellDef="let i" data-label="On nodes">
              @for (s of statesOf(i.id); track s.nodeId) {
                <div class="node-state" data-testid="image-node-state" [attr.data-node]="s.nodeName" [attr.data-state]="s.state">
                  <span class="ob-name" [title]="s.nodeName">{{ s.nodeName }}</span> <ob-state-chip [state]="s.state" />
                  @if (progressText(s); as p) {<span class="ob-muted small" data-testid="image-node-progress">{{ p }}</span>}
                  @if (s.state !== 'verifying') {
                    <button mat-button type="button" [disabled]="busy() === i.id + s.nodeId" (click)="verify(i, s)" data-testid="image-verify"
                      [attr.aria-label]="'Verify ' + i.name + ' on ' + s.nodeName + ' now'">Verify now</button>
                  }
                  @if (s.state === 'failed' && s.reason) {<div class="reason ob-wrap" data-testid="image-node-reason">{{ s.reason }}</div>}
                </div>
              } @empty {<span class="ob-muted">No nodes yet</span>}
              @if (i.active && !offeredToCustomers(i.id)) {<div class="ob-muted small" data-testid="image-not-offered">Not offered until a node has verified it.</div>}
            </td></ng-container>
          <ng-container matColumnDef="active"><th mat-header-cell *matHeaderCellDef scope="col">Offered</th>
            <td mat-cell *matCellDef="let i" data-label="Offered"><ob-state-chip [state]="i.active ? 'offered' : 'deprecated'" />
              <button mat-button type="button" [disabled]="busy() === i.id" (click)="toggle(i)" data-testid="image-toggle"
                [attr.aria-label]="(i.active ? 'Deprecate ' : 'Offer ') + i.name">{{ i.active ? 'Deprecate' : 'Offer' }}</button>
              <button mat-button type="button" class="danger" [disabled]="busy() === i.id" (click)="remove(i)" data-testid="image-delete"
                [attr.aria-label]="'Delete ' + i.name">Delete</button></td></ng-container>
          <tr mat-header-row *matHeaderRowDef="columns"></tr>
          <tr mat-row *matRowDef="let i; columns: columns" data-testid="admin-image-row" [attr.data-name]="i.name"></tr>
        </table></div>
      }
    </div>`,
})
export class ImagesPage extends AdminList<AdminImageView> {
  protected readonly path = '/admin/images';
  readonly columns = ['name', 'os', 'source', 'nodes', 'active'];
  /** Per image, where it stands on each node (customers are offered only images verified on a node). */
  readonly nodeStates = signal<Record<string, ImageNodeStateView[]>>({});
  readonly form = this.fb.nonNullable.group({
    name: ['', [Validators.required, Validators.maxLength(120)]],
    osFamily: ['', [Validators.required, Validators.maxLength(40)]],
    version: ['', [Validators.required, Validators.maxLength(40)]],
    format: ['qcow2' as 'qcow2' | 'raw', Validators.required],
    url: ['', [Validators.required, Validators.maxLength(2000)]],
    sha256: ['', [Validators.required, Validators.pattern(/^[0-9a-fA-F]{64}$/)]],
    minDiskGiB: [0, [Validators.min(0), Validators.max(65536), Validators.pattern(/^\d+$/)]],
    minMemoryMiB: [0, [Validators.min(0), Validators.max(4 * 1024 * 1024), Validators.pattern(/^\d+$/)]],
  });
  constructor() {
    super();
    void this.load();
  }
  protected async fetch() {
    const page = await this.api.adminImages();
    const states = await Promise.all(page.items.map((i) => this.api.adminImageNodes(i.id).catch(() => [] as ImageNodeStateView[])));
    this.nodeStates.set(Object.fromEntries(page.items.map((i, n) => [i.id, states[n]!])));
    return page;
  }
  statesOf(imageId: string): ImageNodeStateView[] {
    return this.nodeStates()[imageId] ?? [];
  }
  /** "fetching 43 % (12 MiB of 28 MiB)" while the node downloads it; null otherwise. */
  progressText(s: ImageNodeStateView): string | null {
    if (s.state !== 'verifying' || s.progressBytes === null) return null;
    if (!s.progressTotal) return `fetching: ${formatBytes(s.progressBytes)} so far`;
    return `fetching ${Math.floor((100 * s.progressBytes) / s.progressTotal)} % (${formatBytes(s.progressBytes)} of ${formatBytes(s.progressTotal)})`;
  }
  offeredToCustomers(imageId: string): boolean {
    return this.statesOf(imageId).some((s) => s.state === 'verified');
  }
  /** "Verify now": the node fetches and checks the image; the row follows until it answers (about a minute at most). */
  async verify(i: AdminImageView, s: ImageNodeStateView): Promise<void> {
    this.busy.set(i.id + s.nodeId);
    try {
      let state = await this.api.verifyImageOn(i.id, s.nodeId);
      this.setNodeState(i.id, state);
      this.announcer.say(`Verifying ${i.name} on ${s.nodeName}.`);
      for (let n = 0; n < 60 && state.state === 'verifying'; n++) {
        await new Promise((r) => setTimeout(r, 1000));
        state = (await this.api.adminImageNodes(i.id)).find((x) => x.nodeId === s.nodeId) ?? state;
        this.setNodeState(i.id, state);
      }
      this.announcer.say(state.state === 'verified' ? `${i.name} is verified on ${s.nodeName}.` : state.state === 'failed' ? `${i.name} failed on ${s.nodeName}: ${state.reason ?? ''}` : `${i.name} is still being checked on ${s.nodeName}.`);
    } catch (e) {
      this.formError.set(errorMessage(e));
    } finally {
      this.busy.set(null);
    }
  }
  private setNodeState(imageId: string, state: ImageNodeStateView): void {
    this.nodeStates.update((all) => ({ ...all, [imageId]: (all[imageId] ?? []).map((x) => (x.nodeId === state.nodeId ? state : x)) }));
  }
  create(): Promise<void> {
    this.form.markAllAsTouched();
    if (this.form.invalid) {
      this.formError.set('Fill in every field; the SHA-256 is 64 hexadecimal characters; the minimums are whole numbers, 0 or more.');
      return Promise.resolve();
    }
    const v = this.form.getRawValue();
    return this.saveNew(
      () => this.api.createImage({ ...v, name: v.name.trim(), osFamily: v.osFamily.trim(), version: v.version.trim(), url: v.url.trim(), sha256: v.sha256.toLowerCase(), minDiskGiB: Number(v.minDiskGiB) || 0, minMemoryMiB: Number(v.minMemoryMiB) || 0, active: true }),
      () => this.form.reset(),
    );
  }
  async toggle(i: AdminImageView): Promise<void> {
    if (i.active) {
      const ok = await askConfirm(this.dialog, {
        title: `Deprecate the image ${i.name}?`,
        message: 'Customers no longer see it: no new orders or rebuilds use it. Servers running it keep working. You can offer it again.',
        confirmLabel: 'Deprecate',
      });
      if (!ok) return;
    }
    await this.updateRow(i.id, () => this.api.setImageActive(i.id, !i.active), i.active ? `The image ${i.name} was deprecated.` : `The image ${i.name} is offered.`);
  }
  async remove(i: AdminImageView): Promise<void> {
    const ok = await askConfirm(this.dialog, {
      title: `Delete the image ${i.name}?`,
      message: 'Only an image no live server runs can be deleted; the API says how many still do (deprecate it first).',
      confirmLabel: 'Delete', danger: true, typeToConfirm: i.name,
    });
    if (ok) await this.removeRow(i.id, () => this.api.deleteImage(i.id), `The image ${i.name} was deleted.`);
  }
}

@Component({
  selector: 'ob-admin-locations',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [ReactiveFormsModule, MatButtonModule, MatFormFieldModule, MatInputModule, MatTableModule, ErrorBanner, LoadState],
  styleUrl: './admin-form.scss',
  template: `
    <div class="ob-page" data-testid="admin-locations-page">
      <div class="ob-page-header"><h1>Locations</h1>
        <button mat-flat-button type="button" (click)="openNew()" [attr.aria-expanded]="showForm()" data-testid="location-add-toggle">Add a location</button></div>
      @if (showForm()) {
        <form class="form" [formGroup]="form" (ngSubmit)="create()" data-testid="location-form">
          <mat-form-field><mat-label>Code</mat-label><input matInput formControlName="code" required placeholder="fra1" spellcheck="false" data-testid="location-code" /></mat-form-field>
          <mat-form-field><mat-label>Name</mat-label><input matInput formControlName="name" required placeholder="Frankfurt 1" data-testid="location-name" /></mat-form-field>
          <mat-form-field><mat-label>Country (ISO code)</mat-label><input matInput formControlName="country" required maxlength="2" placeholder="DE" data-testid="location-country" /></mat-form-field>
          <div class="ob-row"><button mat-flat-button type="submit" [disabled]="saving()" data-testid="location-submit">{{ editing() ? 'Save ' + editing()!.name : 'Add location' }}</button>
            @if (editing()) {<button mat-button type="button" (click)="showForm.set(false); editing.set(null)">Cancel</button>}</div>
        </form>
      }
      <ob-error-banner [message]="formError()" testId="location-error" />
      <ob-load-state [loading]="loading()" [error]="error()" [empty]="!loading() && !error() && items().length === 0" (retry)="load()"><p>No locations yet.</p></ob-load-state>
      @if (!loading() && items().length) {
        <div class="ob-table-wrap" tabindex="0" role="region" aria-label="Locations"><table mat-table class="ob-cards" [dataSource]="items()" data-testid="admin-locations-table">
          <ng-container matColumnDef="name"><th mat-header-cell *matHeaderCellDef scope="col">Location</th><td mat-cell *matCellDef="let l" data-label="Location">{{ l.name }}</td></ng-container>
          <ng-container matColumnDef="code"><th mat-header-cell *matHeaderCellDef scope="col">Code</th><td mat-cell *matCellDef="let l" data-label="Code" class="ob-mono">{{ l.code }}</td></ng-container>
          <ng-container matColumnDef="country"><th mat-header-cell *matHeaderCellDef scope="col">Country</th><td mat-cell *matCellDef="let l" data-label="Country">{{ l.country }}</td></ng-container>
          <ng-container matColumnDef="actions"><th mat-header-cell *matHeaderCellDef scope="col"><span class="ob-visually-hidden">Actions</span></th>
            <td mat-cell *matCellDef="let l">
              <button mat-button type="button" [disabled]="busy() === l.id" (click)="edit(l)" data-testid="location-edit" [attr.aria-label]="'Edit ' + l.name">Edit</button>
              <button mat-button type="button" class="danger" [disabled]="busy() === l.id" (click)="remove(l)" data-testid="location-delete" [attr.aria-label]="'Delete ' + l.name">Delete</button>
            </td></ng-container>
          <tr mat-header-row *matHeaderRowDef="columns"></tr>
          <tr mat-row *matRowDef="let l; columns: columns" data-testid="admin-location-row" [attr.data-code]="l.code"></tr>
        </table></div>
      }
    </div>`,
})
export class LocationsPage extends AdminList<LocationView> {
  protected readonly path = '/admin/locations';
  readonly columns = ['name', 'code', 'country', 'actions'];
  readonly form = this.fb.nonNullable.group({
    code: ['', [Validators.required, Validators.maxLength(32)]],
    name: ['', [Validators.required, Validators.maxLength(120)]],
    country: ['', [Validators.required, Validators.pattern(/^[A-Za-z]{2}$/)]],
  });
  constructor() {
    super();
    void this.load();
  }
  protected fetch() {
    return this.api.adminLocations();
  }
  create(): Promise<void> {
    this.form.markAllAsTouched();
    if (this.form.invalid) {
      this.formError.set('Enter a short code (fra1), a name and a two-letter country code (DE).');
      return Promise.resolve();
    }
    const v = this.form.getRawValue();
    const body = { code: v.code.trim().toLowerCase(), name: v.name.trim(), country: v.country.toUpperCase() };
    const editing = this.editing();
    if (editing) return this.saveEdit(editing.id, () => this.api.updateLocation(editing.id, body), `The location ${body.name} was saved.`);
    return this.saveNew(() => this.api.createLocation(body), () => this.form.reset());
  }
  edit(l: LocationView): void {
    this.editing.set(l);
    this.form.reset({ code: l.code, name: l.name, country: l.country });
    this.formError.set(null);
    this.showForm.set(true);
  }
  async remove(l: LocationView): Promise<void> {
    const ok = await askConfirm(this.dialog, {
      title: `Delete the location ${l.name}?`,
      message: 'Only a location with no nodes, IP pools or servers can be deleted; the API says what still uses it.',
      confirmLabel: 'Delete', danger: true, typeToConfirm: l.code,
    });
    if (ok) await this.removeRow(l.id, () => this.api.deleteLocation(l.id), `The location ${l.name} was deleted.`);
  }
}

@Component({
  selector: 'ob-admin-isos',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [ReactiveFormsModule, MatButtonModule, MatFormFieldModule, MatInputModule, MatTableModule, ErrorBanner, LoadState, StateChip],
  styleUrl: './admin-form.scss',
  template: `
    <div class="ob-page" data-testid="admin-isos-page">
      <div class="ob-page-header"><h1>ISO library</h1>
        <button mat-flat-button type="button" (click)="showForm.set(!showForm())" [attr.aria-expanded]="showForm()" data-testid="iso-add-toggle">Add an ISO</button></div>
      <p class="ob-muted">Customers boot their servers from these (rescue, installers). Each node downloads an ISO once and checks it against its SHA-256.</p>
      @if (showForm()) {
        <form class="form" [formGroup]="form" (ngSubmit)="create()" data-testid="iso-form">
          <mat-form-field><mat-label>Name</mat-label><input matInput formControlName="name" required placeholder="Debian 12 netinst" data-testid="iso-name" /></mat-form-field>
          <mat-form-field class="wide"><mat-label>Download URL</mat-label><input matInput formControlName="url" required spellcheck="false" placeholder="https://…/debian-12-netinst.iso" data-testid="iso-url" /></mat-form-field>
          <mat-form-field class="wide"><mat-label>SHA-256</mat-label><input matInput formControlName="sha256" required spellcheck="false" maxlength="64" data-testid="iso-sha256" /></mat-form-field>
          <div class="ob-row"><button mat-flat-button type="submit" [disabled]="saving()" data-testid="iso-submit">Add ISO</button></div>
        </form>
      }
      <ob-error-banner [message]="formError()" testId="iso-error" />
      <ob-load-state [loading]="loading()" [error]="error()" [empty]="!loading() && !error() && items().length === 0" (retry)="load()"><p>No ISOs yet.</p></ob-load-state>
      @if (!loading() && items().length) {
        <div class="ob-table-wrap" tabindex="0" role="region" aria-label="ISO images"><table mat-table class="ob-cards" [dataSource]="items()" data-testid="admin-isos-table">
          <ng-container matColumnDef="name"><th mat-header-cell *matHeaderCellDef scope="col">ISO</th><td mat-cell *matCellDef="let i" data-label="ISO">{{ i.name }}</td></ng-container>
          <ng-container matColumnDef="source"><th mat-header-cell *matHeaderCellDef scope="col">Source</th><td mat-cell *matCellDef="let i" data-label="Source" class="url ob-mono">{{ i.url }}<br /><span class="ob-muted">{{ i.sha256 }}</span></td></ng-container>
          <ng-container matColumnDef="active"><th mat-header-cell *matHeaderCellDef scope="col">Offered</th>
            <td mat-cell *matCellDef="let i" data-label="Offered"><ob-state-chip [state]="i.active ? 'offered' : 'deprecated'" />
              <button mat-button type="button" [disabled]="busy() === i.id" (click)="toggle(i)" data-testid="iso-toggle"
                [attr.aria-label]="(i.active ? 'Deprecate ' : 'Offer ') + i.name">{{ i.active ? 'Deprecate' : 'Offer' }}</button></td></ng-container>
          <tr mat-header-row *matHeaderRowDef="columns"></tr>
          <tr mat-row *matRowDef="let i; columns: columns" data-testid="admin-iso-row" [attr.data-name]="i.name"></tr>
        </table></div>
      }
    </div>`,
})
export class IsosPage extends AdminList<AdminIsoView> {
  protected readonly path = '/admin/isos';
  readonly columns = ['name', 'source', 'active'];
  readonly form = this.fb.nonNullable.group({
    name: ['', [Validators.required, Validators.maxLength(120)]],
    url: ['', [Validators.required, Validators.maxLength(2000)]],
    sha256: ['', [Validators.required, Validators.pattern(/^[0-9a-fA-F]{64}$/)]],
  });
  constructor() {
    super();
    void this.load();
  }
  protected async fetch() {
    return { items: await this.api.adminIsos() };
  }
  create(): Promise<void> {
    this.form.markAllAsTouched();
    if (this.form.invalid) {
      this.formError.set('Fill in every field; the SHA-256 is 64 hexadecimal characters.');
      return Promise.resolve();
    }
    const v = this.form.getRawValue();
    return this.saveNew(
      () => this.api.createIso({ name: v.name.trim(), url: v.url.trim(), sha256: v.sha256.toLowerCase(), active: true }),
      () => this.form.reset(),
    );
  }
  async toggle(i: AdminIsoView): Promise<void> {
    if (i.active) {
      const ok = await askConfirm(this.dialog, {
        title: `Deprecate the ISO ${i.name}?`,
        message: 'Customers can no longer boot from it. Servers that have it attached keep it until they detach it. You can offer it again.',
        confirmLabel: 'Deprecate',
      });
      if (!ok) return;
    }
    await this.updateRow(i.id, () => this.api.setIsoActive(i.id, !i.active), i.active ? `The ISO ${i.name} was deprecated.` : `The ISO ${i.name} is offered again.`);
  }
}

/** The first thing wrong with a plan form, in words about that field (not a generic "fill in every field"). */
export function planFormProblem(form: { controls: Record<string, { errors: Record<string, unknown> | null }> }): string | null {
  const labels: Record<string, string> = {
    name: 'The name', vcpus: 'vCPUs', memoryMiB: 'Memory', diskGiB: 'Disk', cpuQuotaPercent: 'CPU quota', diskIops: 'Disk IOPS',
    diskMBps: 'Disk MB/s', netMbit: 'Network Mbit/s', trafficGiB: 'Traffic', price: 'The price', currency: 'The currency',
  };
  for (const [key, c] of Object.entries(form.controls)) {
    const e = c.errors;
    if (!e) continue;
    const label = labels[key] ?? key;
    if (e['required']) return `${label} is missing.`;
    if (e['maxlength']) return `${label} is at most ${(e['maxlength'] as { requiredLength: number }).requiredLength} characters (now ${(e['maxlength'] as { actualLength: number }).actualLength}).`;
    if (e['min']) return `${label} must be at least ${(e['min'] as { min: number }).min}.`;
    if (e['max']) return `${label} must be at most ${(e['max'] as { max: number }).max}.`;
    if (e['pattern']) return key === 'currency' ? 'The currency is a three-letter code such as EUR.' : key === 'name' ? 'The name must not be blank.' : `${label} is not valid.`;
    return `${label} is not valid.`;
  }
  return null;
}
