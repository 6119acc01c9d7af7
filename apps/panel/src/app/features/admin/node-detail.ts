import { ChangeDetectionStrategy, Component, effect, inject, input, signal, untracked } from '@angular/core';
import { RouterLink } from '@angular/router';
import { MatButtonModule } from '@angular/material/button';
import { MatCardModule } from '@angular/material/card';
import { MatTableModule } from '@angular/material/table';
import type { LocationView, NodeHeartbeatView, NodeView } from '@oblako/contracts';
import { ApiService, type AdminServerView, type AdminTaskView } from '../../core/api/api.service';
import { ApiRequestError, errorMessage } from '../../core/api/api-error';
import { LoadState } from '../../shared/load-state';
import { StateChip } from '../../shared/state-chip';
import { UsageBar } from '../../shared/usage-bar';
import { UsageGraphs } from '../../shared/usage-graphs';
import { formatDateTime, formatGiB, formatMiB, humanize } from '../../shared/format';
import { primaryAddress } from '../servers/servers-list';
import { nodeCapacity } from './capacity';
import { heartbeatAge } from './node-health';

/** Staff: one node — its capacity, heartbeat, the servers on it and its recent tasks. */
@Component({
  selector: 'ob-node-detail',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [RouterLink, MatButtonModule, MatCardModule, MatTableModule, LoadState, StateChip, UsageBar, UsageGraphs],
  template: `
    <div class="ob-page" data-testid="node-page">
      <a routerLink="/admin/nodes" data-testid="back-to-nodes">← Nodes</a>
      @if (notFound()) {
        <div role="alert" data-testid="node-not-found"><h1>Node not found</h1><p>No node has this address; it may have been removed.</p></div>
      } @else {
        <ob-load-state [loading]="loading() && !node()" [error]="error()" (retry)="load(id())" />
        @if (node(); as n) {
          <div class="ob-page-header">
            <h1 data-testid="node-name">{{ n.name }}</h1>
            <span data-testid="node-state" [attr.data-state]="n.state"><ob-state-chip [state]="n.state" /></span>
          </div>
          @if (n.state === 'offline') {
            <p class="alert" role="alert" data-testid="node-offline-alert">
              <strong>{{ n.name }} is offline:</strong> no heartbeat since {{ fmt(n.lastHeartbeatAt) }}. New servers are not placed on it, and tasks for its
              servers time out. Check the daemon on the host (its log, NATS reachability).
            </p>
          }
          <div class="ob-card-grid">
            <mat-card appearance="outlined" data-testid="node-capacity">
              <mat-card-header><mat-card-title>Capacity</mat-card-title></mat-card-header>
              <mat-card-content class="bars">
                <ob-usage-bar label="vCPU" [used]="cap(n).vcpus.used" [total]="cap(n).vcpus.total" testId="node-cpu" />
                <ob-usage-bar label="RAM" [used]="cap(n).memoryMiB.used" [total]="cap(n).memoryMiB.total" [format]="mib" testId="node-memory" />
                <ob-usage-bar label="Disk" [used]="cap(n).diskGiB.used" [total]="cap(n).diskGiB.total" [format]="gib" testId="node-disk" />
                <p class="ob-muted small">{{ n.vcpus }} vCPUs × {{ n.cpuOvercommit }} overcommit, {{ mib(n.memoryMiB) }} × {{ n.memoryOvercommit }}, {{ gib(n.diskGiB) }} disk.</p>
              </mat-card-content>
            </mat-card>
            <mat-card appearance="outlined" data-testid="node-heartbeat">
              <mat-card-header><mat-card-title>Heartbeat</mat-card-title></mat-card-header>
              <mat-card-content>
                <dl>
                  <dt>Last</dt><dd>{{ fmt(n.lastHeartbeatAt) }} ({{ age(n) }})</dd>
                  <dt>Location</dt><dd>{{ locationName(n.locationId) }}</dd>
                  <dt>Id</dt><dd class="ob-mono small ob-wrap">{{ n.id }}</dd>
                </dl>
              </mat-card-content>
            </mat-card>
          </div>

          <ob-usage-graphs [targetId]="n.id" [node]="true" />

          <h2>Servers on {{ n.name }}</h2>
          @if (servers().length === 0) {<p class="ob-muted" data-testid="node-servers-empty">No servers on this node.</p>} @else {
            <div class="ob-table-wrap" tabindex="0" role="region" aria-label="Node servers"><table mat-table class="ob-cards" [dataSource]="servers()" data-testid="node-servers">
              <ng-container matColumnDef="hostname"><th mat-header-cell *matHeaderCellDef scope="col">Server</th>
                <td mat-cell *matCellDef="let s" class="ob-card-title"><strong class="ob-name" [title]="s.hostname">{{ s.hostname }}</strong><br /><span class="ob-muted small ob-name" [title]="s.tenantName">{{ s.tenantName }}</span></td></ng-container>
              <ng-container matColumnDef="state"><th mat-header-cell *matHeaderCellDef scope="col">State</th><td mat-cell *matCellDef="let s" data-label="State"><ob-state-chip [state]="s.state" /></td></ng-container>
              <ng-container matColumnDef="address"><th mat-header-cell *matHeaderCellDef scope="col">Address</th><td mat-cell *matCellDef="let s" data-label="Address" class="ob-mono">{{ address(s) }}</td></ng-container>
              <ng-container matColumnDef="plan"><th mat-header-cell *matHeaderCellDef scope="col">Plan</th><td mat-cell *matCellDef="let s" data-label="Plan">{{ s.plan.name }}</td></ng-container>
              <tr mat-header-row *matHeaderRowDef="serverColumns"></tr>
              <tr mat-row *matRowDef="let s; columns: serverColumns" data-testid="node-server-row" [attr.data-hostname]="s.hostname"></tr>
            </table></div>
          }

          <h2>Recent tasks</h2>
          @if (tasks().length === 0) {<p class="ob-muted">No tasks yet.</p>} @else {
            <div class="ob-table-wrap" tabindex="0" role="region" aria-label="Node tasks"><table mat-table class="ob-cards" [dataSource]="tasks()" data-testid="node-tasks">
              <ng-container matColumnDef="when"><th mat-header-cell *matHeaderCellDef scope="col">When</th><td mat-cell *matCellDef="let t" data-label="When">{{ fmt(t.createdAt) }}</td></ng-container>
              <ng-container matColumnDef="op"><th mat-header-cell *matHeaderCellDef scope="col">Operation</th><td mat-cell *matCellDef="let t" class="ob-card-title">{{ humanize(t.op) }} · {{ t.hostname }}</td></ng-container>
              <ng-container matColumnDef="state"><th mat-header-cell *matHeaderCellDef scope="col">State</th><td mat-cell *matCellDef="let t" data-label="State"><ob-state-chip [state]="t.state" /></td></ng-container>
              <ng-container matColumnDef="error"><th mat-header-cell *matHeaderCellDef scope="col">Error</th><td mat-cell *matCellDef="let t" data-label="Error" class="err ob-wrap">{{ t.error ?? '' }}</td></ng-container>
              <tr mat-header-row *matHeaderRowDef="taskColumns"></tr>
              <tr mat-row *matRowDef="let t; columns: taskColumns" data-testid="node-task-row" [attr.data-op]="t.op" [attr.data-state]="t.state"></tr>
            </table></div>
          }

          <h2>Heartbeat history</h2>
          @if (heartbeats().length === 0) {<p class="ob-muted" data-testid="node-heartbeats-empty">No heartbeat received yet.</p>} @else {
            <p class="ob-muted small">The last {{ heartbeats().length }} heartbeats, newest first ({{ beatSpacing() }}).</p>
            <div class="ob-table-wrap" tabindex="0" role="region" aria-label="Heartbeat history"><table mat-table class="ob-cards" [dataSource]="heartbeats()" data-testid="node-heartbeats">
              <ng-container matColumnDef="at"><th mat-header-cell *matHeaderCellDef scope="col">Received</th><td mat-cell *matCellDef="let b" class="ob-card-title">{{ fmt(b.receivedAt) }}</td></ng-container>
              <ng-container matColumnDef="age"><th mat-header-cell *matHeaderCellDef scope="col">Age</th><td mat-cell *matCellDef="let b" data-label="Age">{{ beatAge(b.receivedAt) }}</td></ng-container>
              <ng-container matColumnDef="domains"><th mat-header-cell *matHeaderCellDef scope="col">Domains</th><td mat-cell *matCellDef="let b" data-label="Domains" data-testid="heartbeat-domains">{{ b.domains }}</td></ng-container>
              <ng-container matColumnDef="load"><th mat-header-cell *matHeaderCellDef scope="col">Load (1 min)</th><td mat-cell *matCellDef="let b" data-label="Load" data-testid="heartbeat-load">{{ b.load1 ?? '—' }}</td></ng-container>
              <ng-container matColumnDef="version"><th mat-header-cell *matHeaderCellDef scope="col">Daemon</th><td mat-cell *matCellDef="let b" data-label="Daemon" class="ob-mono small">{{ b.daemonVersion ?? '—' }}</td></ng-container>
              <tr mat-header-row *matHeaderRowDef="heartbeatColumns"></tr>
              <tr mat-row *matRowDef="let b; columns: heartbeatColumns" data-testid="node-heartbeat-row"></tr>
            </table></div>
          }
        }
      }
    </div>`,
  styles: `.bars { display: grid; gap: 10px; } .small { font: var(--mat-sys-body-small); } .err { color: var(--mat-sys-error); max-width: 40ch; }
    .alert { padding: 10px 14px; border-radius: 8px; background: var(--mat-sys-error-container); color: var(--mat-sys-on-error-container); }
    dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 12px; margin: 0; } dd { margin: 0; } h2 { font: var(--mat-sys-title-large); margin: 24px 0 8px; }`,
})
export class NodeDetailPage {
  private readonly api = inject(ApiService);
  readonly id = input.required<string>();
  readonly node = signal<NodeView | null>(null);
  readonly servers = signal<AdminServerView[]>([]);
  readonly tasks = signal<AdminTaskView[]>([]);
  readonly locations = signal<LocationView[]>([]);
  readonly loading = signal(true);
  readonly notFound = signal(false);
  readonly error = signal<string | null>(null);
  readonly serverColumns = ['hostname', 'state', 'address', 'plan'];
  readonly taskColumns = ['when', 'op', 'state', 'error'];
  readonly heartbeats = signal<NodeHeartbeatView[]>([]);
  readonly heartbeatColumns = ['at', 'age', 'domains', 'load', 'version'];
  fmt = formatDateTime;
  humanize = humanize;
  mib = formatMiB;
  gib = formatGiB;
  address = primaryAddress;
  cap = nodeCapacity;

  constructor() {
    effect(() => {
      const id = this.id();
      untracked(() => void this.load(id));
    });
  }

  age(n: NodeView): string {
    return heartbeatAge(n.lastHeartbeatAt, Date.now());
  }

  beatAge(iso: string): string {
    return heartbeatAge(iso, Date.now());
  }

  /** How far apart the kept heartbeats are, on average: a gap in the history shows as a longer spacing. */
  beatSpacing(): string {
    const b = this.heartbeats();
    if (b.length < 2) return 'one so far';
    const s = (Date.parse(b[0]!.receivedAt) - Date.parse(b.at(-1)!.receivedAt)) / 1000 / (b.length - 1);
    return `about every ${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  }

  locationName(id: string): string {
    return this.locations().find((l) => l.id === id)?.name ?? '—';
  }

  async load(id: string): Promise<void> {
    this.loading.set(true);
    this.error.set(null);
    this.notFound.set(false);
    try {
      const [node, servers, tasks, locations, heartbeats] = await Promise.all([
        this.api.adminNode(id),
        this.api.adminServersOf({ nodeId: id }, null, 100),
        this.api.adminTasks(null, null, { nodeId: id, limit: 20 }),
        this.api.locations().catch(() => ({ items: [] as LocationView[] })),
        this.api.adminNodeHeartbeats(id).catch(() => [] as NodeHeartbeatView[]),
      ]);
      this.heartbeats.set(heartbeats);
      this.node.set(node);
      this.servers.set(servers.items);
      this.tasks.set(tasks.items);
      this.locations.set(locations.items);
    } catch (e) {
      if (e instanceof ApiRequestError && (e.status === 404 || e.status === 400)) this.notFound.set(true);
      else this.error.set(errorMessage(e));
    } finally {
      this.loading.set(false);
    }
  }
}
