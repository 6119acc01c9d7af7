import { Injectable, inject } from '@angular/core';
import type {
  ApiTokenCreatedView,
  BackupStoreView,
  BackupView,
  TenantBackupView,
  NotStartedBackupView,
  BackupScheduleView,
  BackupSettingsView,
  AdminIsoView,
  ApiTokenView,
  ConsoleKind,
  IsoView,
  SnapshotView,
  ConsoleTicketView,
  ImageView,
  ImageNodeStateView,
  NodeHeartbeatView,
  IpPoolView,
  LocationView,
  MeView,
  NodeRegistrationView,
  NodeView,
  NodeJoinView,
  Page,
  PlanView,
  ServerState,
  ServerView,
  SshKeyView,
  TaskOp,
  TaskState,
  TaskView,
  TenantRole,
} from '@oblako/contracts';
import createClient from 'openapi-fetch';
import { AuthService } from '../auth/auth.service';
import { ApiRequestError, apiErrorFrom } from './api-error';
import type { components, paths } from './openapi';

type Schemas = components['schemas'];
export type CreateServerBody = Schemas['CreateServerDto'];
export type CreateNodeBody = Schemas['RegisterNodeDto'];
export type CreateIpPoolBody = Schemas['CreateIpPoolDto'];
export type UpdateNodeBody = Schemas['UpdateNodeDto'];
export type CreateBackupStoreBody = Schemas['CreateBackupStoreDto'];
export type UpdateBackupStoreBody = Schemas['UpdateBackupStoreDto'];
export type PutBackupScheduleBody = Schemas['PutBackupScheduleDto'];
export type RestoreToNewBody = Schemas['RestoreToNewDto'];
export type AdminTenantView = Schemas['AdminTenantDto'];
export type CreateLocationBody = Schemas['CreateLocationDto'];
export type CreatePlanBody = Schemas['CreatePlanDto'];
export type CreateImageBody = Schemas['CreateImageDto'];
export type CreateIsoBody = Schemas['CreateIsoDto'];
export type AdminImageView = Schemas['AdminImageDto'];
export type MemberView = Schemas['MemberDto'];
export type InviteView = Schemas['InviteDto'];
export type SessionView = Schemas['SessionDto'];
export type TwoFactorSetupView = Schemas['TwoFactorSetupDto'];
export type NotificationView = Schemas['NotificationDto'];
export type NotificationListView = Schemas['NotificationListDto'];
export type NotificationPreferenceView = Schemas['NotificationPreferenceDto'];
export type WebhookEndpointView = Schemas['WebhookEndpointDto'];
export type WebhookEndpointCreatedView = Schemas['WebhookEndpointCreatedDto'];
export type WebhookDeliveryView = Schemas['WebhookDeliveryDto'];
export type WebhookCategory = Schemas['CreateWebhookEndpointDto']['events'][number];
export type BillingStatusView = Schemas['BillingStatusView'];
export type SubscriptionView = Schemas['SubscriptionView'];
export type InvoiceView = Schemas['InvoiceView'];
export type UpcomingInvoiceView = Schemas['UpcomingInvoiceView'];
export type AdminOrderView = Schemas['AdminOrderView'];
export type BillingEventView = Schemas['BillingEventView'];
/** The power actions the API accepts (from its OpenAPI document). */
/** One plan as a resize choice (GET /servers/:id/resize-options). */
export interface ResizeChoice {
  plan: PlanView;
  allowed: boolean;
  reason: string | null;
}

export type PowerAction = Schemas['ServerActionDto']['action'];
export type ServerSort = NonNullable<NonNullable<paths['/api/v1/servers']['get']['parameters']['query']>['sort']>;
export type SortOrder = NonNullable<NonNullable<paths['/api/v1/servers']['get']['parameters']['query']>['order']>;
export interface ServerListView {
  q?: string;
  sort?: ServerSort;
  order?: SortOrder;
}

export type AuditEntryView = Schemas['AuditEntryDto'];

export type AdminTaskView = Schemas['AdminTaskDto'];
export type AdminServerView = Schemas['AdminServerDto'];
export type UsageSeriesView = Schemas['UsageSeriesDto'];
export type UsageRangeParam = UsageSeriesView['range'];
export type MailSettingsView = Schemas['MailSettingsDto'];
export type UpdateMailSettingsBody = Schemas['UpdateMailSettingsDto'];
export type MailTestResultView = Schemas['MailTestResultDto'];
export type AdminAuditEntryView = Schemas['AdminAuditEntryDto'];
export type UpdatePlanBody = Schemas['UpdatePlanDto'];
export type UpdateLocationBody = Schemas['UpdateLocationDto'];
export interface AuditFilter { tenantId?: string; actorUserId?: string; targetId?: string; action?: string }

function page<T>(r: Page<T> | T[]): Page<T> {
  return Array.isArray(r) ? { items: r, nextCursor: null } : { items: r.items ?? [], nextCursor: r.nextCursor ?? null };
}

/**
 * The panel's one way to the API. Calls go through the client generated from the API's OpenAPI
 * document (`nx run panel:api-client` → openapi.d.ts, openapi-fetch), over the session's fetch
 * (access token, refresh on 401). The return types are the contract's view types: if the API's
 * document and `@oblako/contracts` disagree, this file stops compiling.
 * Errors are thrown as {@link ApiRequestError} with the API's own message.
 */
/** The all-servers list's filters (each optional; absent = every one). */
export interface AdminServerFilter { state?: ServerState | null; tenantId?: string | null; nodeId?: string | null; q?: string }

@Injectable({ providedIn: 'root' })
export class ApiService {
  private readonly auth = inject(AuthService);
  private readonly client = createClient<paths>({ baseUrl: '', fetch: (req) => this.auth.session.fetch(req) });

  constructor() {
    this.client.use({
      onRequest: ({ request }) => {
        const tenantId = this.auth.tenantId();
        if (tenantId && !request.headers.has('X-Tenant-Id')) request.headers.set('X-Tenant-Id', tenantId);
        return request;
      },
    });
  }

  private async ok<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
    const { data, error, response } = await call;
    if (!response.ok) throw apiErrorFrom(response.status, error ?? null);
    return data as T;
  }

  // ---- account
  me(): Promise<MeView> {
    return this.ok(this.client.GET('/api/v1/auth/me'));
  }

  // ---- catalogue (customers)
  async locations(): Promise<Page<LocationView>> {
    return page<LocationView>(await this.ok(this.client.GET('/api/v1/locations')));
  }
  async plans(): Promise<Page<PlanView>> {
    return page<PlanView>(await this.ok(this.client.GET('/api/v1/plans')));
  }
  /** The images on offer; with `locationId`, only those verified on a node of that location. */
  async images(locationId?: string): Promise<Page<ImageView>> {
    return page<ImageView>(await this.ok(this.client.GET('/api/v1/images', { params: { query: locationId ? { locationId } : {} } })));
  }

  // ---- servers
  /** A page of the team's servers: `q` searches host names and the start of addresses; a cursor works only with the order it came from. */
  servers(cursor: string | null, limit = 25, view: ServerListView = {}): Promise<Page<ServerView>> {
    const { q, sort, order } = view;
    return this.ok(this.client.GET('/api/v1/servers', { params: { query: { ...(cursor ? { cursor } : {}), limit, ...(q ? { q } : {}), ...(sort ? { sort } : {}), ...(order ? { order } : {}) } } }));
  }
  server(id: string): Promise<ServerView> {
    return this.ok(this.client.GET('/api/v1/servers/{id}', { params: { path: { id } } }));
  }
  async serverTasks(id: string): Promise<Page<TaskView>> {
    return page<TaskView>(await this.ok(this.client.GET('/api/v1/servers/{id}/tasks', { params: { path: { id } } })));
  }
  /** `idempotencyKey`: the same key for retries of one order, so it makes one server at most. */
  createServer(body: CreateServerBody, idempotencyKey: string): Promise<ServerView> {
    return this.ok(this.client.POST('/api/v1/servers', { body, params: { header: { 'Idempotency-Key': idempotencyKey } } }));
  }
  /**
   * `imageId`: rebuild only (default: the server's current image); `rootPassword`: a new one on rebuild, the one to
   * set on reset_password; `sshKeyIds`: rebuild only (default: the keys it has).
   */
  serverAction(id: string, action: PowerAction, imageId?: string, extra: { rootPassword?: string; sshKeyIds?: string[] } = {}): Promise<ServerView> {
    return this.ok(this.client.POST('/api/v1/servers/{id}/actions', { params: { path: { id } }, body: { action, ...(imageId ? { imageId } : {}), ...extra } }));
  }
  /** A one-time console ticket; `staff` asks through the staff route (any tenant's server, audited). */
  consoleTicket(id: string, kind: ConsoleKind, staff = false): Promise<ConsoleTicketView> {
    const init = { params: { path: { id } }, body: { kind } };
    return this.ok(staff ? this.client.POST('/api/v1/admin/servers/{id}/console', init) : this.client.POST('/api/v1/servers/{id}/console', init));
  }
  /** The plans a server may be resized to, each with the reason when it may not (`staff`: any plan, through the staff route). */
  resizeOptions(id: string, staff = false): Promise<ResizeChoice[]> {
    const init = { params: { path: { id } } };
    return this.ok(staff ? this.client.GET('/api/v1/admin/servers/{id}/resize-options', init) : this.client.GET('/api/v1/servers/{id}/resize-options', init)) as Promise<ResizeChoice[]>;
  }
  resize(id: string, planId: string, staff = false): Promise<ServerView> {
    const init = { params: { path: { id } }, body: { planId } };
    return this.ok(staff ? this.client.POST('/api/v1/admin/servers/{id}/resize', init) : this.client.POST('/api/v1/servers/{id}/resize', init)) as Promise<ServerView>;
  }
  deleteServer(id: string): Promise<ServerView> {
    return this.ok(this.client.DELETE('/api/v1/servers/{id}', { params: { path: { id } } }));
  }

  // ---- SSH keys and API tokens
  async sshKeys(): Promise<Page<SshKeyView>> {
    return page<SshKeyView>(await this.ok(this.client.GET('/api/v1/ssh-keys')));
  }
  addSshKey(name: string, publicKey: string): Promise<SshKeyView> {
    return this.ok(this.client.POST('/api/v1/ssh-keys', { body: { name, publicKey } }));
  }
  async deleteSshKey(id: string): Promise<void> {
    await this.ok(this.client.DELETE('/api/v1/ssh-keys/{id}', { params: { path: { id } } }));
  }
  async apiTokens(): Promise<Page<ApiTokenView>> {
    return page<ApiTokenView>(await this.ok(this.client.GET('/api/v1/api-tokens')));
  }
  createApiToken(name: string): Promise<ApiTokenCreatedView> {
    return this.ok(this.client.POST('/api/v1/api-tokens', { body: { name } }));
  }
  async revokeApiToken(id: string): Promise<void> {
    await this.ok(this.client.DELETE('/api/v1/api-tokens/{id}', { params: { path: { id } } }));
  }

  // ---- staff: servers of every tenant
  /**
   * Staff: every team's servers, by state, team, node and a search (host name or the start of an address). A cursor only
   * goes on with the filters it came with. `signal` aborts the request (a search typed further replaces it).
   */
  adminServers(cursor: string | null, filter: AdminServerFilter, limit = 25, signal?: AbortSignal): Promise<Page<AdminServerView>> {
    const query = {
      limit, ...(cursor ? { cursor } : {}), ...(filter.state ? { state: filter.state } : {}), ...(filter.tenantId ? { tenantId: filter.tenantId } : {}),
      ...(filter.nodeId ? { nodeId: filter.nodeId } : {}), ...(filter.q?.trim() ? { q: filter.q.trim() } : {}),
    };
    return this.ok(this.client.GET('/api/v1/admin/servers', { params: { query }, ...(signal ? { signal } : {}) }));
  }
  async suspendServer(id: string, reason: string): Promise<void> {
    await this.ok(this.client.POST('/api/v1/admin/servers/{id}/suspend', { params: { path: { id } }, body: { reason } }));
  }
  async unsuspendServer(id: string, reason: string): Promise<void> {
    await this.ok(this.client.POST('/api/v1/admin/servers/{id}/unsuspend', { params: { path: { id } }, body: { reason } }));
  }

  // ---- billing
  billingStatus(): Promise<BillingStatusView> {
    return this.ok(this.client.GET('/api/v1/billing/status'));
  }
  subscriptions(): Promise<SubscriptionView[]> {
    return this.ok(this.client.GET('/api/v1/billing/subscriptions'));
  }
  cancelSubscription(serverId: string): Promise<SubscriptionView> {
    return this.ok(this.client.POST('/api/v1/billing/subscriptions/{serverId}/cancel', { params: { path: { serverId } } }));
  }
  invoices(): Promise<InvoiceView[]> {
    return this.ok(this.client.GET('/api/v1/billing/invoices'));
  }
  /** The next invoice of each live subscription as Stripe previews it (an hourly server: its hours so far). */
  upcomingInvoices(): Promise<UpcomingInvoiceView[]> {
    return this.ok(this.client.GET('/api/v1/billing/upcoming'));
  }
  async portalUrl(): Promise<string> {
    return (await this.ok(this.client.POST('/api/v1/billing/portal'))).url;
  }
  /** null: no payment step (an hourly server joined the team's hourly subscription and is being placed). */
  /** How a server waiting for payment is paid: a Checkout URL, or `joined` (no payment step: added to the team's hourly subscription). */
  checkout(serverId: string): Promise<{ mode: 'checkout' | 'joined'; checkoutUrl: string | null }> {
    return this.ok(this.client.POST('/api/v1/billing/servers/{serverId}/checkout', { params: { path: { serverId } } }));
  }
  adminOrders(failedOnly: boolean): Promise<AdminOrderView[]> {
    return this.ok(this.client.GET('/api/v1/admin/billing/orders', { params: { query: failedOnly ? { fulfilment: 'failed' } : {} } }));
  }
  billingEvents(all: boolean): Promise<BillingEventView[]> {
    return this.ok(this.client.GET('/api/v1/admin/billing/events', { params: { query: { state: all ? 'all' : 'pending' } } }));
  }

  // ---- account security
  async resendVerification(): Promise<string> {
    return (await this.ok(this.client.POST('/api/v1/auth/verify-email/resend'))).message;
  }
  twoFactorSetup(password: string): Promise<TwoFactorSetupView> {
    return this.ok(this.client.POST('/api/v1/auth/2fa/setup', { body: { password } }));
  }
  async twoFactorEnable(code: string): Promise<string[]> {
    return (await this.ok(this.client.POST('/api/v1/auth/2fa/enable', { body: { code } }))).recoveryCodes;
  }
  async twoFactorDisable(password: string, code: string): Promise<void> {
    await this.ok(this.client.POST('/api/v1/auth/2fa/disable', { body: { password, code } }));
  }
  async newRecoveryCodes(password: string, code: string): Promise<string[]> {
    return (await this.ok(this.client.POST('/api/v1/auth/2fa/recovery-codes', { body: { password, code } }))).recoveryCodes;
  }
  async changePassword(currentPassword: string, newPassword: string): Promise<void> {
    await this.ok(this.client.POST('/api/v1/auth/password', { body: { currentPassword, newPassword } }));
  }
  sessions(): Promise<SessionView[]> {
    return this.ok(this.client.GET('/api/v1/auth/sessions'));
  }
  async endSession(id: string): Promise<void> {
    await this.ok(this.client.DELETE('/api/v1/auth/sessions/{id}', { params: { path: { id } } }));
  }
  async tenantRequiresTwoFactor(): Promise<boolean> {
    return (await this.ok(this.client.GET('/api/v1/tenant/security'))).requireTwoFactor;
  }
  async setTenantRequiresTwoFactor(requireTwoFactor: boolean): Promise<boolean> {
    return (await this.ok(this.client.PUT('/api/v1/tenant/security', { body: { requireTwoFactor } }))).requireTwoFactor;
  }
  tenantAudit(before?: number): Promise<AuditEntryView[]> {
    return this.ok(this.client.GET('/api/v1/audit', { params: { query: { before, limit: 50 } } }));
  }

  // ---- notifications
  notifications(): Promise<NotificationListView> {
    return this.ok(this.client.GET('/api/v1/notifications'));
  }
  async markNotificationsSeen(): Promise<void> {
    await this.ok(this.client.POST('/api/v1/notifications/seen'));
  }
  notificationPreferences(): Promise<NotificationPreferenceView[]> {
    return this.ok(this.client.GET('/api/v1/notifications/preferences'));
  }
  setNotificationPreferences(preferences: { kind: NotificationPreferenceView['kind']; email: boolean }[]): Promise<NotificationPreferenceView[]> {
    return this.ok(this.client.PUT('/api/v1/notifications/preferences', { body: { preferences } }));
  }

  // ---- webhooks
  webhooks(): Promise<WebhookEndpointView[]> {
    return this.ok(this.client.GET('/api/v1/webhooks'));
  }
  createWebhook(url: string, events: WebhookCategory[], description?: string): Promise<WebhookEndpointCreatedView> {
    return this.ok(this.client.POST('/api/v1/webhooks', { body: { url, events, description } }));
  }
  updateWebhook(id: string, body: { enabled?: boolean; events?: WebhookCategory[]; url?: string }): Promise<WebhookEndpointView> {
    return this.ok(this.client.PATCH('/api/v1/webhooks/{id}', { params: { path: { id } }, body }));
  }
  async deleteWebhook(id: string): Promise<void> {
    await this.ok(this.client.DELETE('/api/v1/webhooks/{id}', { params: { path: { id } } }));
  }
  rotateWebhookSecret(id: string): Promise<{ secret: string; previousSecretExpiresAt: string }> {
    return this.ok(this.client.POST('/api/v1/webhooks/{id}/rotate-secret', { params: { path: { id } } }));
  }
  testWebhook(id: string): Promise<WebhookDeliveryView> {
    return this.ok(this.client.POST('/api/v1/webhooks/{id}/test', { params: { path: { id } } }));
  }
  webhookDeliveries(id: string): Promise<WebhookDeliveryView[]> {
    return this.ok(this.client.GET('/api/v1/webhooks/{id}/deliveries', { params: { path: { id }, query: { limit: 50 } } }));
  }
  resendDelivery(id: string): Promise<WebhookDeliveryView> {
    return this.ok(this.client.POST('/api/v1/webhooks/deliveries/{id}/resend', { params: { path: { id } } }));
  }

  // ---- team
  members(): Promise<MemberView[]> {
    return this.ok(this.client.GET('/api/v1/members'));
  }
  /** Invite an address (the answer is the same whether or not it has an account). */
  invite(email: string, role: TenantRole): Promise<InviteView> {
    return this.ok(this.client.POST('/api/v1/members/invites', { body: { email, role } }));
  }
  invites(): Promise<InviteView[]> {
    return this.ok(this.client.GET('/api/v1/members/invites'));
  }
  async revokeInvite(id: string): Promise<void> {
    await this.ok(this.client.DELETE('/api/v1/members/invites/{id}', { params: { path: { id } } }));
  }
  changeMemberRole(userId: string, role: TenantRole): Promise<MemberView> {
    return this.ok(this.client.PATCH('/api/v1/members/{userId}', { params: { path: { userId } }, body: { role } }));
  }
  async removeMember(userId: string): Promise<void> {
    await this.ok(this.client.DELETE('/api/v1/members/{userId}', { params: { path: { userId } } }));
  }

  // ---- staff
  async adminNodes(): Promise<Page<NodeView>> {
    return page<NodeView>(await this.ok(this.client.GET('/api/v1/admin/nodes')));
  }
  createNode(body: CreateNodeBody): Promise<NodeRegistrationView> {
    return this.ok(this.client.POST('/api/v1/admin/nodes', { body }));
  }
  newNodeJoin(id: string): Promise<NodeJoinView> {
    return this.ok(this.client.POST('/api/v1/admin/nodes/{id}/join', { params: { path: { id } } }));
  }
  updateNode(id: string, body: UpdateNodeBody): Promise<NodeView> {
    return this.ok(this.client.PATCH('/api/v1/admin/nodes/{id}', { params: { path: { id } }, body }));
  }
  // ---- staff settings
  mailSettings(): Promise<MailSettingsView> {
    return this.ok(this.client.GET('/api/v1/admin/settings/mail'));
  }
  saveMailSettings(body: UpdateMailSettingsBody): Promise<MailSettingsView> {
    return this.ok(this.client.PUT('/api/v1/admin/settings/mail', { body }));
  }
  resetMailSettings(): Promise<MailSettingsView> {
    return this.ok(this.client.DELETE('/api/v1/admin/settings/mail'));
  }
  sendTestMail(to: string): Promise<MailTestResultView> {
    return this.ok(this.client.POST('/api/v1/admin/settings/mail/test', { body: { to } }));
  }
  async staffRequiresTwoFactor(): Promise<boolean> {
    return (await this.ok(this.client.GET('/api/v1/admin/settings/security'))).staffRequireTwoFactor;
  }
  async setStaffRequiresTwoFactor(staffRequireTwoFactor: boolean): Promise<boolean> {
    return (await this.ok(this.client.PUT('/api/v1/admin/settings/security', { body: { staffRequireTwoFactor } }))).staffRequireTwoFactor;
  }

  adminTenants(): Promise<AdminTenantView[]> {
    return this.ok(this.client.GET('/api/v1/admin/tenants'));
  }
  setTenantServerLimit(id: string, serverLimit: number | null): Promise<AdminTenantView> {
    return this.ok(this.client.PATCH('/api/v1/admin/tenants/{id}', { params: { path: { id } }, body: { serverLimit } }));
  }
  async adminIpPools(): Promise<Page<IpPoolView>> {
    return page<IpPoolView>(await this.ok(this.client.GET('/api/v1/admin/ip-pools')));
  }
  createIpPool(body: CreateIpPoolBody): Promise<IpPoolView> {
    return this.ok(this.client.POST('/api/v1/admin/ip-pools', { body }));
  }
  async adminLocations(): Promise<Page<LocationView>> {
    return page<LocationView>(await this.ok(this.client.GET('/api/v1/admin/locations')));
  }
  async adminPlans(): Promise<Page<PlanView>> {
    return page<PlanView>(await this.ok(this.client.GET('/api/v1/admin/plans')));
  }
  async adminImages(): Promise<Page<AdminImageView>> {
    return page<AdminImageView>(await this.ok(this.client.GET('/api/v1/admin/images')));
  }
  createLocation(body: CreateLocationBody): Promise<LocationView> {
    return this.ok(this.client.POST('/api/v1/admin/locations', { body }));
  }
  createPlan(body: CreatePlanBody): Promise<PlanView> {
    return this.ok(this.client.POST('/api/v1/admin/plans', { body }));
  }
  setPlanActive(id: string, active: boolean): Promise<PlanView> {
    return this.ok(this.client.PATCH('/api/v1/admin/plans/{id}', { params: { path: { id } }, body: { active } }));
  }
  isos(): Promise<IsoView[]> {
    return this.ok(this.client.GET('/api/v1/isos'));
  }
  adminIsos(): Promise<AdminIsoView[]> {
    return this.ok(this.client.GET('/api/v1/admin/isos'));
  }
  createIso(body: CreateIsoBody): Promise<AdminIsoView> {
    return this.ok(this.client.POST('/api/v1/admin/isos', { body }));
  }
  setIsoActive(id: string, active: boolean): Promise<AdminIsoView> {
    return this.ok(this.client.PATCH('/api/v1/admin/isos/{id}', { params: { path: { id } }, body: { active } }));
  }
  /** Attach an ISO of the library and boot from it (the operation boot_iso). */
  snapshots(id: string): Promise<SnapshotView[]> {
    return this.ok(this.client.GET('/api/v1/servers/{id}/snapshots', { params: { path: { id } } })) as Promise<SnapshotView[]>;
  }
  createSnapshot(id: string, name: string, expiresInHours?: number): Promise<SnapshotView> {
    return this.ok(this.client.POST('/api/v1/servers/{id}/snapshots', { params: { path: { id } }, body: { name, ...(expiresInHours ? { expiresInHours } : {}) } })) as Promise<SnapshotView>;
  }
  revertSnapshot(id: string, snapshotId: string): Promise<ServerView> {
    return this.ok(this.client.POST('/api/v1/servers/{id}/snapshots/{snapshotId}/revert', { params: { path: { id, snapshotId } } }));
  }
  deleteSnapshot(id: string, snapshotId: string): Promise<ServerView> {
    return this.ok(this.client.DELETE('/api/v1/servers/{id}/snapshots/{snapshotId}', { params: { path: { id, snapshotId } } }));
  }
  bootIso(id: string, isoId: string): Promise<ServerView> {
    return this.ok(this.client.POST('/api/v1/servers/{id}/actions', { params: { path: { id } }, body: { action: 'boot_iso', isoId } }));
  }
  createImage(body: CreateImageBody): Promise<AdminImageView> {
    return this.ok(this.client.POST('/api/v1/admin/images', { body }));
  }
  /** Staff: where an image stands on each node (verified images: only those are offered). */
  adminImageNodes(id: string): Promise<ImageNodeStateView[]> {
    return this.ok(this.client.GET('/api/v1/admin/images/{id}/nodes', { params: { path: { id } } }));
  }
  /** Staff: "Verify now" — the node fetches the image again and checks its sha256. */
  verifyImageOn(id: string, nodeId: string): Promise<ImageNodeStateView> {
    return this.ok(this.client.POST('/api/v1/admin/images/{id}/nodes/{nodeId}/verify', { params: { path: { id, nodeId } } }));
  }
  /** Staff: a node's last heartbeats, newest first. */
  adminNodeHeartbeats(id: string): Promise<NodeHeartbeatView[]> {
    return this.ok(this.client.GET('/api/v1/admin/nodes/{id}/heartbeats', { params: { path: { id } } }));
  }
  setImageActive(id: string, active: boolean): Promise<AdminImageView> {
    return this.ok(this.client.PATCH('/api/v1/admin/images/{id}', { params: { path: { id } }, body: { active } }));
  }
  failedTasks(cursor: string | null): Promise<Page<AdminTaskView>> {
    return this.adminTasks('failed', cursor);
  }
  adminTasks(state: TaskState | null, cursor: string | null, filter: { nodeId?: string; tenantId?: string; op?: TaskOp; limit?: number } = {}): Promise<Page<AdminTaskView>> {
    return this.ok(this.client.GET('/api/v1/admin/tasks', { params: { query: { ...(state ? { state } : {}), ...(cursor ? { cursor } : {}), ...filter } } }));
  }
  retryTask(id: string, reason: string): Promise<ServerView> {
    return this.ok(this.client.POST('/api/v1/admin/tasks/{id}/retry', { params: { path: { id } }, body: { reason } }));
  }
  async cancelTask(id: string, reason: string): Promise<void> {
    await this.ok(this.client.POST('/api/v1/admin/tasks/{id}/cancel', { params: { path: { id } }, body: { reason } }));
  }
  async forceDeleteServer(id: string, reason: string): Promise<void> {
    await this.ok(this.client.POST('/api/v1/admin/servers/{id}/force-delete', { params: { path: { id } }, body: { reason } }));
  }
  updatePlan(id: string, body: UpdatePlanBody): Promise<PlanView> {
    return this.ok(this.client.PATCH('/api/v1/admin/plans/{id}', { params: { path: { id } }, body }));
  }
  updateLocation(id: string, body: UpdateLocationBody): Promise<LocationView> {
    return this.ok(this.client.PATCH('/api/v1/admin/locations/{id}', { params: { path: { id } }, body }));
  }
  /** 409 image_in_use (with how many servers) while a live server runs it. */
  async deleteImage(id: string): Promise<void> {
    await this.ok(this.client.DELETE('/api/v1/admin/images/{id}', { params: { path: { id } } }));
  }
  async deleteLocation(id: string): Promise<void> {
    await this.ok(this.client.DELETE('/api/v1/admin/locations/{id}', { params: { path: { id } } }));
  }
  async deleteIpPool(id: string): Promise<void> {
    await this.ok(this.client.DELETE('/api/v1/admin/ip-pools/{id}', { params: { path: { id } } }));
  }
  // ---- backups of a server (customers)
  backups(id: string): Promise<BackupView[]> {
    return this.ok(this.client.GET('/api/v1/servers/{id}/backups', { params: { path: { id } } })) as Promise<BackupView[]>;
  }
  createBackup(id: string): Promise<BackupView> {
    return this.ok(this.client.POST('/api/v1/servers/{id}/backups', { params: { path: { id } } })) as Promise<BackupView>;
  }
  restoreBackup(id: string, backupId: string): Promise<ServerView> {
    return this.ok(this.client.POST('/api/v1/servers/{id}/backups/{backupId}/restore', { params: { path: { id, backupId } } }));
  }
  deleteBackup(id: string, backupId: string): Promise<ServerView> {
    return this.ok(this.client.DELETE('/api/v1/servers/{id}/backups/{backupId}', { params: { path: { id, backupId } } }));
  }
  /** The team's backups across its servers; `serverDeleted: true`: only those of deleted servers (restorable until `graceExpiresAt`). */
  tenantBackups(serverDeleted?: boolean): Promise<TenantBackupView[]> {
    const query = serverDeleted === undefined ? {} : { serverDeleted: serverDeleted ? ('true' as const) : ('false' as const) };
    return this.ok(this.client.GET('/api/v1/backups', { params: { query } })) as Promise<TenantBackupView[]>;
  }
  /** Delete one of the team's backups from its store (also a deleted server's); answers it in `deleting`. */
  deleteTenantBackup(backupId: string): Promise<TenantBackupView> {
    return this.ok(this.client.DELETE('/api/v1/backups/{id}', { params: { path: { id: backupId } } })) as Promise<TenantBackupView>;
  }
  /** An order of a new server whose disk is the backup (in the backup's location); answers the new server. */
  restoreBackupToNew(backupId: string, body: RestoreToNewBody, idempotencyKey: string): Promise<ServerView> {
    return this.ok(this.client.POST('/api/v1/backups/{id}/restore-to-new', { params: { path: { id: backupId }, header: { 'Idempotency-Key': idempotencyKey } }, body }));
  }
  /** Staff: live servers whose scheduled backup could not start in its last window, with the reason. */
  notStartedBackups(): Promise<NotStartedBackupView[]> {
    return this.ok(this.client.GET('/api/v1/admin/backups/not-started')) as Promise<NotStartedBackupView[]>;
  }
  // ---- backups: schedules (customers), settings (staff)
  backupSchedule(id: string): Promise<BackupScheduleView> {
    return this.ok(this.client.GET('/api/v1/servers/{id}/backup-schedule', { params: { path: { id } } })) as Promise<BackupScheduleView>;
  }
  saveBackupSchedule(id: string, body: PutBackupScheduleBody): Promise<BackupScheduleView> {
    return this.ok(this.client.PUT('/api/v1/servers/{id}/backup-schedule', { params: { path: { id } }, body })) as Promise<BackupScheduleView>;
  }
  backupSettings(): Promise<BackupSettingsView> {
    return this.ok(this.client.GET('/api/v1/admin/settings/backups'));
  }
  saveBackupSettings(body: BackupSettingsView): Promise<BackupSettingsView> {
    return this.ok(this.client.PUT('/api/v1/admin/settings/backups', { body }));
  }
  // ---- staff: backup stores
  adminBackupStores(): Promise<BackupStoreView[]> {
    return this.ok(this.client.GET('/api/v1/admin/backup-stores')) as Promise<BackupStoreView[]>;
  }
  createBackupStore(body: CreateBackupStoreBody): Promise<BackupStoreView> {
    return this.ok(this.client.POST('/api/v1/admin/backup-stores', { body })) as Promise<BackupStoreView>;
  }
  updateBackupStore(id: string, body: UpdateBackupStoreBody): Promise<BackupStoreView> {
    return this.ok(this.client.PATCH('/api/v1/admin/backup-stores/{id}', { params: { path: { id } }, body })) as Promise<BackupStoreView>;
  }
  async deleteBackupStore(id: string): Promise<void> {
    await this.ok(this.client.DELETE('/api/v1/admin/backup-stores/{id}', { params: { path: { id } } }));
  }
  suspendTenant(id: string, reason: string): Promise<{ tenant: AdminTenantView }> {
    return this.ok(this.client.POST('/api/v1/admin/tenants/{id}/suspend', { params: { path: { id } }, body: { reason } }));
  }
  unsuspendTenant(id: string, reason: string): Promise<{ tenant: AdminTenantView }> {
    return this.ok(this.client.POST('/api/v1/admin/tenants/{id}/unsuspend', { params: { path: { id } }, body: { reason } }));
  }
  /** A server's usage graph: one point per step of the range, gaps with null rates. */
  serverUsage(id: string, range: UsageRangeParam): Promise<UsageSeriesView> {
    return this.ok(this.client.GET('/api/v1/servers/{id}/usage', { params: { path: { id }, query: { range } } }));
  }
  /** Staff: a node's usage graph (its servers summed, and how many had usage in each step). */
  nodeUsage(id: string, range: UsageRangeParam): Promise<UsageSeriesView> {
    return this.ok(this.client.GET('/api/v1/admin/nodes/{id}/usage', { params: { path: { id }, query: { range } } }));
  }
  adminNode(id: string): Promise<NodeView> {
    return this.ok(this.client.GET('/api/v1/admin/nodes/{id}', { params: { path: { id } } }));
  }
  adminServersOf(filter: { nodeId?: string; tenantId?: string; state?: ServerState }, cursor: string | null, limit = 25): Promise<Page<AdminServerView>> {
    return this.ok(this.client.GET('/api/v1/admin/servers', { params: { query: { limit, ...(cursor ? { cursor } : {}), ...filter } } }));
  }
  /** Newest first; pass the last id of a page as `before` for the next one. */
  async audit(before: number | null, limit = 50, filter: AuditFilter = {}): Promise<{ items: AdminAuditEntryView[]; before: number | null }> {
    const query = { limit, ...(before !== null ? { before } : {}), ...Object.fromEntries(Object.entries(filter).filter(([, v]) => v)) };
    const items = await this.ok(this.client.GET('/api/v1/admin/audit', { params: { query } }));
    const last = items.at(-1);
    return { items, before: items.length === limit && last ? last.id : null };
  }
}

export { ApiRequestError };
