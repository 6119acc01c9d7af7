import { ChangeDetectionStrategy, Component, inject, signal } from '@angular/core';
import { MatTableModule } from '@angular/material/table';
import type { ImageView, LocationView, PlanView } from '@oblako/contracts';
import { ApiService } from '../../core/api/api.service';
import { LoadState } from '../../shared/load-state';
import { StateChip } from '../../shared/state-chip';
import { formatGiB, formatMiB, formatMoney } from '../../shared/format';
import { adminLoadError } from './admin-load';

/** Loads one staff list and keeps its loading and error state. */
abstract class AdminList<T> {
  readonly items = signal<T[]>([]);
  readonly loading = signal(true);
  readonly error = signal<string | null>(null);
  protected readonly api = inject(ApiService);
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
}

@Component({
  selector: 'ob-admin-plans',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [MatTableModule, LoadState, StateChip],
  template: `
    <div class="ob-page" data-testid="admin-plans-page">
      <div class="ob-page-header"><h1>Plans</h1></div>
      <ob-load-state [loading]="loading()" [error]="error()" [empty]="!loading() && !error() && items().length === 0" (retry)="load()"><p>No plans yet.</p></ob-load-state>
      @if (!loading() && items().length) {
        <div class="ob-table-wrap"><table mat-table [dataSource]="items()" data-testid="admin-plans-table">
          <ng-container matColumnDef="name"><th mat-header-cell *matHeaderCellDef scope="col">Plan</th><td mat-cell *matCellDef="let p">{{ p.name }}</td></ng-container>
          <ng-container matColumnDef="cpu"><th mat-header-cell *matHeaderCellDef scope="col">vCPU</th><td mat-cell *matCellDef="let p">{{ p.vcpus }} · {{ p.cpuQuotaPercent }}%</td></ng-container>
          <ng-container matColumnDef="memory"><th mat-header-cell *matHeaderCellDef scope="col">Memory</th><td mat-cell *matCellDef="let p">{{ mib(p.memoryMiB) }}</td></ng-container>
          <ng-container matColumnDef="disk"><th mat-header-cell *matHeaderCellDef scope="col">Disk</th><td mat-cell *matCellDef="let p">{{ gib(p.diskGiB) }} · {{ p.diskIops }} IOPS · {{ p.diskMBps }} MB/s</td></ng-container>
          <ng-container matColumnDef="net"><th mat-header-cell *matHeaderCellDef scope="col">Network</th><td mat-cell *matCellDef="let p">{{ p.netMbit }} Mbit/s · {{ gib(p.trafficGiB) }}/mo</td></ng-container>
          <ng-container matColumnDef="price"><th mat-header-cell *matHeaderCellDef scope="col">Price</th><td mat-cell *matCellDef="let p">{{ money(p) }}/mo</td></ng-container>
          <ng-container matColumnDef="active"><th mat-header-cell *matHeaderCellDef scope="col">Offered</th><td mat-cell *matCellDef="let p"><ob-state-chip [state]="p.active ? 'active' : 'retired'" /></td></ng-container>
          <tr mat-header-row *matHeaderRowDef="columns"></tr>
          <tr mat-row *matRowDef="let p; columns: columns" data-testid="admin-plan-row" [attr.data-name]="p.name"></tr>
        </table></div>
      }
    </div>`,
})
export class PlansPage extends AdminList<PlanView> {
  protected readonly path = '/admin/plans';
  readonly columns = ['name', 'cpu', 'memory', 'disk', 'net', 'price', 'active'];
  mib = formatMiB;
  gib = formatGiB;
  money = (p: PlanView) => formatMoney(p.priceMonthlyCents, p.currency);
  constructor() {
    super();
    void this.load();
  }
  protected fetch() {
    return this.api.adminPlans();
  }
}

@Component({
  selector: 'ob-admin-images',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [MatTableModule, LoadState, StateChip],
  template: `
    <div class="ob-page" data-testid="admin-images-page">
      <div class="ob-page-header"><h1>Images</h1></div>
      <ob-load-state [loading]="loading()" [error]="error()" [empty]="!loading() && !error() && items().length === 0" (retry)="load()"><p>No images yet.</p></ob-load-state>
      @if (!loading() && items().length) {
        <div class="ob-table-wrap"><table mat-table [dataSource]="items()" data-testid="admin-images-table">
          <ng-container matColumnDef="name"><th mat-header-cell *matHeaderCellDef scope="col">Image</th><td mat-cell *matCellDef="let i">{{ i.name }}</td></ng-container>
          <ng-container matColumnDef="os"><th mat-header-cell *matHeaderCellDef scope="col">OS</th><td mat-cell *matCellDef="let i">{{ i.osFamily }} {{ i.version }}</td></ng-container>
          <ng-container matColumnDef="active"><th mat-header-cell *matHeaderCellDef scope="col">Offered</th><td mat-cell *matCellDef="let i"><ob-state-chip [state]="i.active ? 'active' : 'retired'" /></td></ng-container>
          <tr mat-header-row *matHeaderRowDef="columns"></tr>
          <tr mat-row *matRowDef="let i; columns: columns" data-testid="admin-image-row" [attr.data-name]="i.name"></tr>
        </table></div>
      }
    </div>`,
})
export class ImagesPage extends AdminList<ImageView> {
  protected readonly path = '/admin/images';
  readonly columns = ['name', 'os', 'active'];
  constructor() {
    super();
    void this.load();
  }
  protected fetch() {
    return this.api.adminImages();
  }
}

@Component({
  selector: 'ob-admin-locations',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [MatTableModule, LoadState],
  template: `
    <div class="ob-page" data-testid="admin-locations-page">
      <div class="ob-page-header"><h1>Locations</h1></div>
      <ob-load-state [loading]="loading()" [error]="error()" [empty]="!loading() && !error() && items().length === 0" (retry)="load()"><p>No locations yet.</p></ob-load-state>
      @if (!loading() && items().length) {
        <div class="ob-table-wrap"><table mat-table [dataSource]="items()" data-testid="admin-locations-table">
          <ng-container matColumnDef="name"><th mat-header-cell *matHeaderCellDef scope="col">Location</th><td mat-cell *matCellDef="let l">{{ l.name }}</td></ng-container>
          <ng-container matColumnDef="code"><th mat-header-cell *matHeaderCellDef scope="col">Code</th><td mat-cell *matCellDef="let l" class="ob-mono">{{ l.code }}</td></ng-container>
          <ng-container matColumnDef="country"><th mat-header-cell *matHeaderCellDef scope="col">Country</th><td mat-cell *matCellDef="let l">{{ l.country }}</td></ng-container>
          <tr mat-header-row *matHeaderRowDef="columns"></tr>
          <tr mat-row *matRowDef="let l; columns: columns" data-testid="admin-location-row" [attr.data-code]="l.code"></tr>
        </table></div>
      }
    </div>`,
})
export class LocationsPage extends AdminList<LocationView> {
  protected readonly path = '/admin/locations';
  readonly columns = ['name', 'code', 'country'];
  constructor() {
    super();
    void this.load();
  }
  protected fetch() {
    return this.api.adminLocations();
  }
}
