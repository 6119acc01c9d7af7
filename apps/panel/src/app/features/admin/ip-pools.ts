import { ChangeDetectionStrategy, Component, inject, signal } from '@angular/core';
import { FormBuilder, ReactiveFormsModule, Validators } from '@angular/forms';
import { MatButtonModule } from '@angular/material/button';
import { MatFormFieldModule } from '@angular/material/form-field';
import { MatInputModule } from '@angular/material/input';
import { MatSelectModule } from '@angular/material/select';
import { MatTableModule } from '@angular/material/table';
import type { IpPoolView, LocationView } from '@oblako/contracts';
import { ApiService } from '../../core/api/api.service';
import { errorMessage } from '../../core/api/api-error';
import { ErrorBanner } from '../../shared/error-banner';
import { LoadState } from '../../shared/load-state';
import { UsageBar } from '../../shared/usage-bar';
import { blockSizeText } from '../../shared/format';
import { MatDialog } from '@angular/material/dialog';
import { AnnouncerService } from '../../shared/announcer';
import { askConfirm } from '../../shared/confirm-dialog';
import { adminLoadError } from './admin-load';

@Component({
  selector: 'ob-ip-pools',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [ReactiveFormsModule, MatButtonModule, MatFormFieldModule, MatInputModule, MatSelectModule, MatTableModule, ErrorBanner, LoadState, UsageBar],
  template: `
    <div class="ob-page" data-testid="ip-pools-page">
      <div class="ob-page-header">
        <h1>IP pools</h1>
        <button mat-flat-button type="button" (click)="showForm.set(!showForm())" [attr.aria-expanded]="showForm()" data-testid="ip-pool-add-toggle">Add a pool</button>
      </div>
      @if (showForm()) {
        <form class="form" [formGroup]="form" (ngSubmit)="create()" data-testid="ip-pool-form">
          <mat-form-field><mat-label>Location</mat-label>
            <mat-select formControlName="locationId" required data-testid="ip-pool-location">
              @for (l of locations(); track l.id) {<mat-option [value]="l.id">{{ l.name }}</mat-option>}
            </mat-select>
          </mat-form-field>
          <mat-form-field><mat-label>Block (CIDR)</mat-label><input matInput formControlName="cidr" placeholder="203.0.113.0/24" spellcheck="false" required data-testid="ip-pool-cidr" /></mat-form-field>
          <mat-form-field><mat-label>Gateway</mat-label><input matInput formControlName="gateway" placeholder="203.0.113.1" spellcheck="false" required data-testid="ip-pool-gateway" /></mat-form-field>
          <div class="ob-row"><button mat-flat-button type="submit" [disabled]="saving()" data-testid="ip-pool-submit">Add pool</button></div>
        </form>
        <ob-error-banner [message]="formError()" testId="ip-pool-error" />
      }
      <ob-error-banner [message]="rowError()" testId="ip-pool-row-error" />
      <ob-load-state [loading]="loading()" [error]="error()" [empty]="!loading() && !error() && pools().length === 0" (retry)="load()">
        <p>No IP pools yet. Add an IPv4 or IPv6 block with its gateway so servers get addresses.</p>
      </ob-load-state>
      @if (!loading() && pools().length) {
        <div class="ob-table-wrap" tabindex="0" role="region" aria-label="IP pools">
          <table mat-table class="ob-cards" [dataSource]="pools()" data-testid="ip-pools-table">
            <ng-container matColumnDef="cidr"><th mat-header-cell *matHeaderCellDef scope="col">Block</th>
              <td mat-cell *matCellDef="let p" data-label="Block" class="ob-mono">{{ p.cidr }}<br /><span class="ob-muted">gateway {{ p.gateway }}</span></td></ng-container>
            <ng-container matColumnDef="family"><th mat-header-cell *matHeaderCellDef scope="col">Family</th><td mat-cell *matCellDef="let p" data-label="Family">IPv{{ p.family }}</td></ng-container>
            <ng-container matColumnDef="location"><th mat-header-cell *matHeaderCellDef scope="col">Location</th><td mat-cell *matCellDef="let p" data-label="Location">{{ locationName(p.locationId) }}</td></ng-container>
            <ng-container matColumnDef="usage"><th mat-header-cell *matHeaderCellDef scope="col">Usage</th>
              <td mat-cell *matCellDef="let p" data-label="Usage"><ob-usage-bar label="Addresses" [used]="num(p.used)" [total]="num(p.total)" [totalLabel]="totalLabel(p)" testId="ip-pool-usage" /></td></ng-container>
            <ng-container matColumnDef="actions"><th mat-header-cell *matHeaderCellDef scope="col"><span class="ob-visually-hidden">Actions</span></th>
              <td mat-cell *matCellDef="let p">
                <button mat-button type="button" class="danger" (click)="remove(p)" [disabled]="busy() === p.id || num(p.used) > 0" data-testid="ip-pool-delete"
                  [attr.aria-label]="'Delete pool ' + p.cidr" [attr.aria-describedby]="num(p.used) > 0 ? 'why-pool-' + p.id : null">Delete</button>
                @if (num(p.used) > 0) {<div class="ob-muted small" [id]="'why-pool-' + p.id">In use by {{ p.used }} server address(es)</div>}
              </td></ng-container>
            <tr mat-header-row *matHeaderRowDef="columns"></tr>
            <tr mat-row *matRowDef="let p; columns: columns" data-testid="ip-pool-row" [attr.data-cidr]="p.cidr"></tr>
          </table>
        </div>
      }
    </div>`,
  styles: `.form { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 8px 12px; margin-bottom: 8px; }
    .form > .ob-row { grid-column: 1 / -1; }
    td.mat-mdc-cell { padding-top: 8px; padding-bottom: 8px; } .danger { color: var(--mat-sys-error); } .small { font: var(--mat-sys-body-small); }`,
})
export class IpPoolsPage {
  private readonly api = inject(ApiService);
  readonly columns = ['cidr', 'family', 'location', 'usage', 'actions'];
  private readonly dialog = inject(MatDialog);
  private readonly announcer = inject(AnnouncerService);
  readonly busy = signal<string | null>(null);
  readonly rowError = signal<string | null>(null);
  readonly pools = signal<IpPoolView[]>([]);
  readonly locations = signal<LocationView[]>([]);
  readonly loading = signal(true);
  readonly error = signal<string | null>(null);
  readonly showForm = signal(false);
  readonly saving = signal(false);
  readonly formError = signal<string | null>(null);
  readonly form = inject(FormBuilder).nonNullable.group({
    locationId: ['', Validators.required],
    cidr: ['', [Validators.required, Validators.maxLength(64)]],
    gateway: ['', [Validators.required, Validators.maxLength(64)]],
  });

  constructor() {
    void this.load();
  }

  /** Past 2^53 the API's number is not exact (a /64 read 9007199254740991): say the block's size instead. */
  totalLabel(p: IpPoolView): string | null {
    return Number(p.total) >= Number.MAX_SAFE_INTEGER || p.family === 6 ? blockSizeText(p.cidr) : null;
  }
  num(v: number | string): number {
    return typeof v === 'number' ? v : Number(v);
  }

  async remove(p: IpPoolView): Promise<void> {
    const ok = await askConfirm(this.dialog, {
      title: `Delete the pool ${p.cidr}?`, message: 'Its addresses can no longer be given to new servers. Only a pool with no address in use can be deleted.',
      confirmLabel: 'Delete', danger: true,
    });
    if (!ok) return;
    this.busy.set(p.id);
    this.rowError.set(null);
    try {
      await this.api.deleteIpPool(p.id);
      this.pools.update((l) => l.filter((x) => x.id !== p.id));
      this.announcer.say(`The pool ${p.cidr} was deleted.`);
    } catch (e) {
      this.rowError.set(errorMessage(e));
    } finally {
      this.busy.set(null);
    }
  }

  locationName(id: string): string {
    return this.locations().find((l) => l.id === id)?.name ?? id;
  }

  async load(): Promise<void> {
    this.loading.set(true);
    this.error.set(null);
    try {
      const [pools, locations] = await Promise.all([this.api.adminIpPools(), this.api.locations()]);
      this.pools.set(pools.items);
      this.locations.set(locations.items);
      if (!this.form.controls.locationId.value && locations.items[0]) this.form.controls.locationId.setValue(locations.items[0].id);
    } catch (e) {
      this.error.set(adminLoadError(e, '/admin/ip-pools'));
    } finally {
      this.loading.set(false);
    }
  }

  async create(): Promise<void> {
    this.form.markAllAsTouched();
    if (this.form.invalid) {
      this.formError.set('Choose a location and enter the block in CIDR notation and its gateway address.');
      return;
    }
    this.saving.set(true);
    this.formError.set(null);
    try {
      const v = this.form.getRawValue();
      const pool = await this.api.createIpPool({ locationId: v.locationId, cidr: v.cidr.trim(), gateway: v.gateway.trim() });
      this.pools.update((list) => [...list, pool]);
      this.showForm.set(false);
      this.form.controls.cidr.reset('');
      this.form.controls.gateway.reset('');
    } catch (e) {
      this.formError.set(errorMessage(e));
    } finally {
      this.saving.set(false);
    }
  }
}
