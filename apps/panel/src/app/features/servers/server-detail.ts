import { ChangeDetectionStrategy, Component, DestroyRef, computed, effect, inject, input, signal, untracked } from '@angular/core';
import { RouterLink } from '@angular/router';
import { MatButtonModule } from '@angular/material/button';
import { MatCardModule } from '@angular/material/card';
import { MatDialog } from '@angular/material/dialog';
import { MatProgressBarModule } from '@angular/material/progress-bar';
import { MatTableModule } from '@angular/material/table';
import { MatTooltipModule } from '@angular/material/tooltip';
import {
  FINISHED_TASK_STATES, ORDER_BILLING_MODES, Permission, isTransient, planAction, planOperation, type ImageView, type IsoView, type OrderBillingView, type ServerView,
  type SshKeyView, type TaskView,
} from '@oblako/contracts';
import { firstValueFrom } from 'rxjs';
import { ApiService } from '../../core/api/api.service';
import { ApiRequestError, errorMessage } from '../../core/api/api-error';
import { AuthService } from '../../core/auth/auth.service';
import { LiveService, type LiveEvent } from '../../core/live/live.service';
import { ConfirmDialog, type ConfirmData } from '../../shared/confirm-dialog';
import { SERVER_ACTIONS, actionStates, confirmAction, type ActionState, type PanelAction } from './server-actions';
import { groupReasons } from './action-reasons';
import { RebuildDialog, type RebuildChoice, type RebuildData } from './rebuild-dialog';
import { ResetPasswordDialog, type ResetPasswordData } from './reset-password-dialog';
import { ResizeDialog, type ResizeData } from './resize-dialog';
import { ServerSnapshots } from './server-snapshots';
import { ServerBackups } from './server-backups';
import { UsageGraphs } from '../../shared/usage-graphs';
import { ErrorBanner } from '../../shared/error-banner';
import { LoadState } from '../../shared/load-state';
import { StateChip } from '../../shared/state-chip';
import { coalesce } from '../../shared/coalesce';
import { formatDateTime, formatGiB, formatMiB, formatPlanPrice, humanize } from '../../shared/format';

/** The order's billing answer from navigation state, if it is one (anything else is ignored). */
function orderBillingOf(state: unknown): OrderBillingView | null {
  const b = (state as { orderBilling?: Partial<OrderBillingView> } | null)?.orderBilling;
  if (!b || !(ORDER_BILLING_MODES as readonly string[]).includes(b.mode ?? '')) return null;
  return { mode: b.mode!, checkoutUrl: typeof b.checkoutUrl === 'string' ? b.checkoutUrl : null, message: typeof b.message === 'string' ? b.message : null };
}

const SERVER_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

@Component({
  selector: 'ob-server-detail',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [RouterLink, MatButtonModule, MatCardModule, MatProgressBarModule, MatTableModule, MatTooltipModule, ErrorBanner, LoadState, StateChip, ServerSnapshots, ServerBackups, UsageGraphs],
  templateUrl: './server-detail.html',
  styleUrl: './server-detail.scss',
})
export class ServerDetailPage {
  private readonly api = inject(ApiService);
  private readonly auth = inject(AuthService);
  private readonly dialog = inject(MatDialog);
  readonly id = input.required<string>();

  readonly server = signal<ServerView | null>(null);
  readonly tasks = signal<TaskView[]>([]);
  readonly loading = signal(true);
  readonly notFound = signal(false);
  readonly deleted = signal(false);
  readonly error = signal<string | null>(null);
  readonly actionError = signal<string | null>(null);
  /** How the order that just brought the customer here is paid (the order page's navigation state), until it is placed. */
  readonly orderBilling = signal<OrderBillingView | null>(orderBillingOf(history.state));
  readonly busyAction = signal<PanelAction | 'resize' | null>(null);
  readonly taskColumns = ['op', 'state', 'progress', 'createdAt', 'finishedAt', 'error'];
  readonly canWrite = computed(() => this.auth.permissions().has(Permission.ServersWrite));
  readonly canConsole = computed(() => this.auth.permissions().has(Permission.ServersConsole));
  readonly isos = signal<IsoView[]>([]);
  readonly isoChoice = signal<string>('');
  /** Whether boot_iso / detach_iso may run now, and why not. */
  readonly isoPlans = computed(() => {
    const s = this.server();
    const busy = this.activeTask() !== null || this.busyAction() !== null;
    const of = (a: 'boot_iso' | 'detach_iso') => (s ? planAction(s.state, a, busy) : { ok: false as const, reason: '' });
    return { boot: of('boot_iso'), detach: of('detach_iso') };
  });
  readonly isStaff = computed(() => this.auth.permissions().has(Permission.FleetManage));

  readonly activeTask = computed(() => {
    const t = this.server()?.currentTask ?? null;
    return t && !FINISHED_TASK_STATES.includes(t.state) ? t : null;
  });

  readonly actions = computed(() => {
    const s = this.server();
    return s ? actionStates(s, SERVER_ACTIONS, { canWrite: this.canWrite(), busy: this.busyAction() !== null }) : [];
  });

  /** Whether a resize may start now, and why not (the plan choice itself is checked by the API's resize-options). */
  readonly resizePlan = computed(() => {
    const s = this.server();
    if (!s) return { enabled: false, reason: '' };
    const plan = planOperation(s.state, 'resize', this.activeTask() !== null);
    const reason = plan.ok ? (this.canWrite() ? '' : 'Your role may not change servers.') : plan.reason;
    return { enabled: plan.ok && this.canWrite() && this.busyAction() === null, reason };
  });

  /** The disabled actions' reasons, one line per distinct reason (a busy server's ten actions say "wait" once). */
  readonly reasons = computed(() => groupReasons([...this.actions(), { action: 'resize', label: 'Resize', ...this.resizePlan() }], 'why-'));

  /** Resize: choose a plan (the others disabled with the reason), confirm, and the server moves to it. */
  async resize(s: ServerView): Promise<void> {
    this.actionError.set(null);
    let choices;
    try {
      choices = await this.api.resizeOptions(s.id);
    } catch (e) {
      this.actionError.set(errorMessage(e));
      return;
    }
    const data: ResizeData = { hostname: s.hostname, running: s.state === 'running', current: s.plan, choices };
    const planId = await firstValueFrom(this.dialog.open<ResizeDialog, ResizeData, string>(ResizeDialog, { data, width: '560px', maxWidth: '95vw' }).afterClosed());
    if (!planId) return;
    this.busyAction.set('resize');
    try {
      this.server.set(await this.api.resize(s.id, planId));
      await this.refreshAfterAction(s.id);
    } catch (e) {
      this.actionError.set(errorMessage(e));
    } finally {
      this.busyAction.set(null);
    }
  }

  private loadSeq = 0;
  /** A live event or tick came while the first load was in flight: reload once it is done. */
  private missedWhileLoading = false;
  /** Reload server and tasks; bursts of live events cause one more reload, never a lost one. */
  private readonly refresh = coalesce(() => this.reloadQuietly());

  constructor() {
    effect(() => {
      const id = this.id();
      untracked(() => void this.load(id));
    });
    const live = inject(LiveService);
    const destroyRef = inject(DestroyRef);
    live.watch(destroyRef, (e) => void this.onLive(e));
    live.settle(destroyRef, () => { const s = this.server(); return !!s && !this.deleted() && (isTransient(s.state) || this.activeTask() !== null); }, () => void this.refresh());
    void this.api.isos().then((list) => {
      this.isos.set(list);
      if (list[0]) this.isoChoice.set(list[0].id);
    }).catch(() => undefined);
  }

  /** Attach the chosen ISO and boot from it; the VNC console shows it. */
  async bootIso(s: ServerView): Promise<void> {
    const isoId = this.isoChoice();
    const iso = this.isos().find((i) => i.id === isoId);
    if (!iso) return;
    const data: ConfirmData = { title: `Boot from ${iso.name}?`, message: 'The server restarts from the ISO (running programs are interrupted). It keeps booting the ISO until you detach it. Use the VNC console to work with it.', confirmLabel: 'Boot from ISO' };
    const ok = await firstValueFrom(this.dialog.open<ConfirmDialog, ConfirmData, boolean>(ConfirmDialog, { data, width: '440px', maxWidth: '95vw' }).afterClosed());
    if (!ok) return;
    await this.runIso('boot_iso', () => this.api.bootIso(s.id, isoId));
  }

  async detachIso(s: ServerView): Promise<void> {
    const data: ConfirmData = { title: 'Detach the ISO?', message: s.state === 'running' ? 'The server restarts from its disk.' : 'The server will boot from its disk when started.', confirmLabel: 'Detach' };
    const ok = await firstValueFrom(this.dialog.open<ConfirmDialog, ConfirmData, boolean>(ConfirmDialog, { data, width: '440px', maxWidth: '95vw' }).afterClosed());
    if (!ok) return;
    await this.runIso('detach_iso', () => this.api.serverAction(s.id, 'detach_iso'));
  }

  private async runIso(action: PanelAction, call: () => Promise<ServerView>): Promise<void> {
    const id = this.id();
    this.busyAction.set(action);
    this.actionError.set(null);
    try {
      this.server.set(await call());
      await this.refreshAfterAction(id);
    } catch (e) {
      this.actionError.set(errorMessage(e));
    } finally {
      this.busyAction.set(null);
    }
  }

  humanize = humanize;
  formatMiB = formatMiB;
  formatGiB = formatGiB;
  formatDateTime = formatDateTime;
  price(s: ServerView): string {
    return formatPlanPrice(s.plan);
  }

  async load(id: string): Promise<void> {
    const seq = ++this.loadSeq;
    this.loading.set(true);
    this.error.set(null);
    this.notFound.set(false);
    // Not a server id at all (/servers/not-a-uuid): no such server, and no "Try again" that cannot work.
    if (!SERVER_ID.test(id)) {
      this.server.set(null);
      this.notFound.set(true);
      this.loading.set(false);
      return;
    }
    try {
      const [server, tasks] = await Promise.all([this.api.server(id), this.api.serverTasks(id).catch(() => ({ items: [] as TaskView[], nextCursor: null }))]);
      if (seq !== this.loadSeq) return;
      this.server.set(server);
      this.tasks.set(tasks.items);
      this.deleted.set(server.state === 'deleted');
    } catch (e) {
      if (seq !== this.loadSeq) return;
      if (e instanceof ApiRequestError && (e.status === 404 || e.status === 400)) this.notFound.set(true);
      else this.error.set(errorMessage(e));
    } finally {
      if (seq === this.loadSeq) this.loading.set(false);
    }
    if (seq === this.loadSeq && this.missedWhileLoading) {
      this.missedWhileLoading = false;
      await this.refresh();
    }
  }

  private async reloadQuietly(): Promise<void> {
    if (this.loading()) {
      this.missedWhileLoading = true;
      return;
    }
    if (this.notFound() || this.deleted()) return;
    const id = this.id();
    try {
      const [server, tasks] = await Promise.all([this.api.server(id), this.api.serverTasks(id)]);
      if (id !== this.id()) return;
      this.server.set(server);
      this.tasks.set(tasks.items);
      if (server.state === 'deleted') this.deleted.set(true);
    } catch (e) {
      // A server that disappears while we watch it has been deleted.
      if (e instanceof ApiRequestError && e.status === 404 && this.server()) this.deleted.set(true);
    }
  }

  private async onLive(e: LiveEvent): Promise<void> {
    if (this.loading()) this.missedWhileLoading = true;
    if (e.kind === 'tick') return this.refresh();
    if (e.serverId !== this.id()) return;
    if (e.deleted) {
      this.deleted.set(true);
      this.server.update((s) => (s ? { ...s, state: 'deleted', currentTask: null } : s));
      return;
    }
    // Show what the event says at once; the reload below brings the rest (addresses, node).
    if (e.server) this.server.set(e.server);
    else if (e.state || e.task) {
      const { state, task } = e;
      this.server.update((s) => (s ? { ...s, state: state ?? s.state, currentTask: task ?? s.currentTask } : s));
    }
    if (e.task) {
      const t = e.task;
      this.tasks.update((list) => {
        const i = list.findIndex((x) => x.id === t.id);
        if (i === -1) return [t, ...list];
        const copy = [...list];
        copy[i] = t;
        return copy;
      });
    }
    if (!e.server) await this.refresh();
  }

  async run(a: ActionState): Promise<void> {
    const s = this.server();
    if (!s || !a.enabled) return; // a disabled action is focusable (to read why), never activatable
    let imageId: string | undefined;
    let rootPassword: string | undefined;
    let sshKeyIds: string[] | undefined;
    if (a.action === 'rebuild') {
      // the images on offer in the server's location (verified there); its own image even when it is not any more
      const [images, keys] = await Promise.all([
        this.api.images(s.location.id).then((p) => p.items.filter((i) => i.active)).catch(() => [] as ImageView[]),
        this.api.sshKeys().then((p) => p.items).catch(() => [] as SshKeyView[]),
      ]);
      if (!images.some((i) => i.id === s.image.id)) images.unshift(s.image);
      const data: RebuildData = { hostname: s.hostname, currentImageId: s.image.id, images, keys, currentKeyIds: s.sshKeyIds ?? [], passwordSet: !!s.rootPasswordSet };
      const choice = await firstValueFrom(this.dialog.open<RebuildDialog, RebuildData, RebuildChoice>(RebuildDialog, { data, width: '520px', maxWidth: '95vw' }).afterClosed());
      if (!choice) return;
      imageId = choice.imageId;
      rootPassword = choice.rootPassword;
      sshKeyIds = choice.sshKeyIds;
    } else if (a.action === 'reset_password') {
      const data: ResetPasswordData = { hostname: s.hostname };
      rootPassword = await firstValueFrom(this.dialog.open<ResetPasswordDialog, ResetPasswordData, string>(ResetPasswordDialog, { data, width: '480px', maxWidth: '95vw' }).afterClosed());
      if (!rootPassword) return;
    } else {
      if (!(await confirmAction(this.dialog, a, s))) return;
    }
    this.busyAction.set(a.action);
    this.actionError.set(null);
    try {
      const accepted =
        a.action === 'delete'
          ? await this.api.deleteServer(s.id)
          : a.action === 'rebuild'
            ? await this.api.serverAction(s.id, 'rebuild', imageId, { ...(rootPassword ? { rootPassword } : {}), ...(sshKeyIds ? { sshKeyIds } : {}) })
            : a.action === 'reset_password'
              ? await this.api.serverAction(s.id, 'reset_password', undefined, { rootPassword })
              : await this.api.serverAction(s.id, a.action);
      if (accepted) this.server.set(accepted);
      await this.refreshAfterAction(s.id);
    } catch (e) {
      this.actionError.set(errorMessage(e));
    } finally {
      this.busyAction.set(null);
    }
  }

  async pay(s: ServerView): Promise<void> {
    this.actionError.set(null);
    try {
      const to = s.checkoutUrl ?? (await this.api.checkout(s.id));
      if (typeof to === 'string') window.location.assign(to);
      else if (to.mode === 'checkout' && to.checkoutUrl) window.location.assign(to.checkoutUrl);
      // joined: nothing to pay (added to the team's hourly subscription); the live updates show it placed
      else this.orderBilling.set({ mode: 'joined', checkoutUrl: null, message: null });
    } catch (e) {
      this.actionError.set(errorMessage(e));
    }
  }

  /** A snapshot or backup task started (the answer is the server when the API gave one): follow it like any task. */
  async onSnapshotTask(server: ServerView | null): Promise<void> {
    if (server) this.server.set(server);
    await this.refreshAfterAction(this.id());
  }

  private async refreshAfterAction(id: string): Promise<void> {
    try {
      const [server, tasks] = await Promise.all([this.api.server(id), this.api.serverTasks(id)]);
      this.server.set(server);
      this.tasks.set(tasks.items);
    } catch (e) {
      if (e instanceof ApiRequestError && e.status === 404) this.deleted.set(true);
    }
  }
}
