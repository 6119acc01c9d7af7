import type { ApiError, AuthTokensView } from '@oblako/contracts';

export class ApiCallError extends Error {
  constructor(
    readonly status: number,
    readonly body: Partial<ApiError> & Record<string, unknown>,
    readonly method: string,
    readonly path: string,
  ) {
    super(`${method} ${path} answered ${status}: ${body.code ?? ''} ${body.message ?? JSON.stringify(body)}`);
  }
}

export interface CallResult<T> {
  status: number;
  body: T;
  headers: Headers;
}

/** A small HTTP client for the API as a user would use it (tests, the benchmark, the demo). */
export class ApiClient {
  token: string | null = null;
  /** The refresh token of the last login or register (or refresh). */
  refreshToken: string | null = null;
  /**
   * Off by default, so a test that expects a 401 sees it. When on, a 401 on an expired access token is
   * answered once by POST /auth/refresh and the call is made again, as the panel does: for tests that
   * run longer than an access token lives (real guests on a loaded machine take more than 15 minutes).
   */
  refreshOnExpiry = false;
  constructor(readonly baseUrl: string) {}

  /** Any call; never throws on an HTTP status, returns it. */
  async call<T = unknown>(method: string, path: string, body?: unknown, init: { raw?: string; headers?: Record<string, string> } = {}): Promise<CallResult<T>> {
    const r = await this.callOnce<T>(method, path, body, init);
    if (r.status !== 401 || !this.refreshOnExpiry || !this.refreshToken || path.startsWith('/api/v1/auth/')) return r;
    const refreshed = await this.callOnce<AuthTokensView>('POST', '/api/v1/auth/refresh', { refreshToken: this.refreshToken });
    if (refreshed.status !== 200 && refreshed.status !== 201) return r;
    this.token = refreshed.body.accessToken;
    this.refreshToken = refreshed.body.refreshToken;
    return this.callOnce<T>(method, path, body, init);
  }

  private async callOnce<T>(method: string, path: string, body: unknown, init: { raw?: string; headers?: Record<string, string> } = {}): Promise<CallResult<T>> {
    const headers: Record<string, string> = { accept: 'application/json', ...init.headers };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    let payload: string | undefined;
    if (init.raw !== undefined) {
      payload = init.raw;
      headers['content-type'] ??= 'application/json';
    } else if (body !== undefined) {
      payload = JSON.stringify(body);
      headers['content-type'] = 'application/json';
    }
    const res = await fetch(`${this.baseUrl}${path}`, { method, headers, body: payload });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed as T, headers: res.headers };
  }

  /** A call that must succeed (2xx); throws ApiCallError with the API's message otherwise. */
  async ok<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const r = await this.call<T>(method, path, body);
    if (r.status < 200 || r.status >= 300) throw new ApiCallError(r.status, r.body as never, method, path);
    return r.body;
  }

  async login(email: string, password: string): Promise<AuthTokensView> {
    const t = await this.ok<AuthTokensView>('POST', '/api/v1/auth/login', { email, password });
    this.token = t.accessToken;
    this.refreshToken = t.refreshToken;
    return t;
  }

  async register(email: string, password: string, tenantName: string): Promise<AuthTokensView> {
    const t = await this.ok<AuthTokensView>('POST', '/api/v1/auth/register', { email, password, tenantName });
    this.token = t.accessToken;
    this.refreshToken = t.refreshToken;
    return t;
  }

  as(token: string | null): ApiClient {
    const c = new ApiClient(this.baseUrl);
    c.token = token;
    return c;
  }
}
