import { Injectable, inject } from '@angular/core';
import {
  API_PREFIX,
  type ApiTokenCreatedView,
  type ApiTokenView,
  type ImageView,
  type IpPoolView,
  type LocationView,
  type MeView,
  type NodeRegistrationView,
  type NodeView,
  type Page,
  type PlanView,
  type ServerAction,
  type ServerView,
  type SshKeyView,
  type TaskView,
} from '@oblako/contracts';
import { AuthService } from '../auth/auth.service';
import { ApiRequestError, apiErrorFromResponse } from './api-error';
import type { CreateServerBody } from '../../features/order/order-draft';

export type Query = Record<string, string | number | boolean | null | undefined>;

export interface AuditEntryView {
  id: string;
  at?: string;
  createdAt?: string;
  actorEmail?: string | null;
  actorId?: string | null;
  action: string;
  targetType?: string | null;
  targetId?: string | null;
  tenantId?: string | null;
  ip?: string | null;
}

export interface AdminTaskView extends TaskView {
  hostname?: string;
  tenantId?: string;
  nodeId?: string | null;
}

export interface CreateNodeBody {
  name: string;
  locationId: string;
  vcpus: number;
  memoryMiB: number;
  diskGiB: number;
  cpuOvercommit: number;
  memoryOvercommit: number;
}

export interface CreateIpPoolBody {
  locationId: string;
  cidr: string;
  gateway: string;
}

/**
 * The panel's one way to the API: typed calls over the session's fetch (access token,
 * refresh on 401), errors as {@link ApiRequestError} carrying the API's message.
 */
@Injectable({ providedIn: 'root' })
export class ApiService {
  private readonly auth = inject(AuthService);

  async request<T>(method: string, path: string, opts: { query?: Query; body?: unknown; signal?: AbortSignal } = {}): Promise<T> {
    const url = new URL(API_PREFIX + path, 'http://panel.invalid');
    for (const [k, v] of Object.entries(opts.query ?? {})) {
      if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
    }
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
    const tenantId = this.auth.tenantId();
    if (tenantId) headers['X-Tenant-Id'] = tenantId;
    const init: RequestInit = { method, headers };
    if (opts.body !== undefined) init.body = JSON.stringify(opts.body);
    if (opts.signal) init.signal = opts.signal;
    const res = await this.auth.session.fetch(url.pathname + url.search, init);
    if (!res.ok) throw await apiErrorFromResponse(res);
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  get<T>(path: string, query?: Query, signal?: AbortSignal): Promise<T> {
    return this.request<T>('GET', path, { query, signal });
  }
  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.request<T>('POST', path, { body });
  }
  patch<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PATCH', path, { body });
  }
  delete<T = void>(path: string): Promise<T> {
    return this.request<T>('DELETE', path);
  }

  /** A list endpoint that may answer a Page or a plain array. */
  async list<T>(path: string, query?: Query): Promise<Page<T>> {
    const r = await this.get<Page<T> | T[]>(path, query);
    return Array.isArray(r) ? { items: r, nextCursor: null } : { items: r.items ?? [], nextCursor: r.nextCursor ?? null };
  }

  // ---- account
  me(): Promise<MeView> {
    return this.get<MeView>('/auth/me');
  }

  // ---- catalogue (customers)
  locations(): Promise<Page<LocationView>> {
    return this.list<LocationView>('/locations');
  }
  plans(): Promise<Page<PlanView>> {
    return this.list<PlanView>('/plans');
  }
  images(): Promise<Page<ImageView>> {
    return this.list<ImageView>('/images');
  }

  // ---- servers
  servers(cursor: string | null, limit = 25): Promise<Page<ServerView>> {
    return this.list<ServerView>('/servers', { cursor, limit });
  }
  server(id: string): Promise<ServerView> {
    return this.get<ServerView>(`/servers/${encodeURIComponent(id)}`);
  }
  serverTasks(id: string): Promise<Page<TaskView>> {
    return this.list<TaskView>(`/servers/${encodeURIComponent(id)}/tasks`);
  }
  createServer(body: CreateServerBody): Promise<ServerView> {
    return this.post<ServerView>('/servers', body);
  }
  serverAction(id: string, action: ServerAction, extra: Record<string, unknown> = {}): Promise<ServerView | TaskView | undefined> {
    return this.post(`/servers/${encodeURIComponent(id)}/actions`, { action, ...extra });
  }
  deleteServer(id: string): Promise<unknown> {
    return this.delete(`/servers/${encodeURIComponent(id)}`);
  }

  // ---- SSH keys and API tokens
  sshKeys(): Promise<Page<SshKeyView>> {
    return this.list<SshKeyView>('/ssh-keys');
  }
  addSshKey(name: string, publicKey: string): Promise<SshKeyView> {
    return this.post<SshKeyView>('/ssh-keys', { name, publicKey });
  }
  deleteSshKey(id: string): Promise<void> {
    return this.delete(`/ssh-keys/${encodeURIComponent(id)}`);
  }
  apiTokens(): Promise<Page<ApiTokenView>> {
    return this.list<ApiTokenView>('/api-tokens');
  }
  createApiToken(name: string): Promise<ApiTokenCreatedView> {
    return this.post<ApiTokenCreatedView>('/api-tokens', { name });
  }
  revokeApiToken(id: string): Promise<void> {
    return this.delete(`/api-tokens/${encodeURIComponent(id)}`);
  }

  // ---- staff
  adminNodes(): Promise<Page<NodeView>> {
    return this.list<NodeView>('/admin/nodes');
  }
  createNode(body: CreateNodeBody): Promise<NodeRegistrationView> {
    return this.post<NodeRegistrationView>('/admin/nodes', body);
  }
  adminIpPools(): Promise<Page<IpPoolView>> {
    return this.list<IpPoolView>('/admin/ip-pools');
  }
  createIpPool(body: CreateIpPoolBody): Promise<IpPoolView> {
    return this.post<IpPoolView>('/admin/ip-pools', body);
  }
  adminLocations(): Promise<Page<LocationView>> {
    return this.list<LocationView>('/admin/locations');
  }
  adminPlans(): Promise<Page<PlanView>> {
    return this.list<PlanView>('/admin/plans');
  }
  adminImages(): Promise<Page<ImageView>> {
    return this.list<ImageView>('/admin/images');
  }
  failedTasks(cursor: string | null): Promise<Page<AdminTaskView>> {
    return this.list<AdminTaskView>('/admin/tasks', { state: 'failed', cursor });
  }
  audit(cursor: string | null): Promise<Page<AuditEntryView>> {
    return this.list<AuditEntryView>('/admin/audit', { cursor });
  }
}

export { ApiRequestError };
