/**
 * The browser session: access token in memory only, refresh token in a small store
 * (localStorage in the app, see README "Tokens"), one refresh at a time, and a fetch wrapper
 * that adds the access token and retries once after refreshing on 401.
 * Pure (no Angular): unit-tested with node:test against a fake fetch.
 */
import { API_PREFIX, isTwoFactorChallenge, type AuthTokensView, type LoginResultView, type MeView, type TwoFactorChallengeView } from '@oblako/contracts';
import { apiErrorFromResponse } from '../api/api-error.js';

export type FetchLike = (input: string | Request, init?: RequestInit) => Promise<Response>;

export interface RefreshTokenStore {
  get(): string | null;
  set(token: string): void;
  clear(): void;
}

export function memoryTokenStore(initial: string | null = null): RefreshTokenStore {
  let value = initial;
  return {
    get: () => value,
    set: (t) => {
      value = t;
    },
    clear: () => {
      value = null;
    },
  };
}

/** Refresh this long before the access token expires. */
const REFRESH_MARGIN_MS = 30_000;

export interface RegisterInput {
  email: string;
  password: string;
  tenantName: string;
}

/** Runs `fn` exclusively across tabs (Web Locks in the app); the default runs it as it is. */
export type ExclusiveLock = <T>(fn: () => Promise<T>) => Promise<T>;
const noLock: ExclusiveLock = (fn) => fn();

export class Session {
  private accessToken: string | null = null;
  private accessExpiresAt = 0;
  private currentUser: MeView | null = null;
  private inflight: Promise<boolean> | null = null;

  constructor(
    private readonly fetchFn: FetchLike,
    private readonly store: RefreshTokenStore,
    private readonly onUserChange: (user: MeView | null) => void = () => undefined,
    private readonly now: () => number = () => Date.now(),
    private readonly lock: ExclusiveLock = noLock,
  ) {}

  get user(): MeView | null {
    return this.currentUser;
  }

  get hasAccessToken(): boolean {
    return this.accessToken !== null;
  }

  /** Take the tokens of a login, sign-up or refresh answer. */
  accept(tokens: AuthTokensView): MeView {
    this.accessToken = tokens.accessToken;
    this.accessExpiresAt = this.now() + Math.max(0, tokens.expiresIn) * 1000;
    if (tokens.refreshToken) this.store.set(tokens.refreshToken);
    this.setUser(tokens.user);
    return tokens.user;
  }

  /** Forget everything (the API is told separately by {@link logout}). */
  clear(): void {
    this.accessToken = null;
    this.accessExpiresAt = 0;
    this.store.clear();
    this.setUser(null);
  }

  /** Step one; with two-factor sign-in on, the answer is a challenge for {@link loginTwoFactor}. */
  async login(email: string, password: string): Promise<MeView | TwoFactorChallengeView> {
    const r = await this.postJson<LoginResultView>('/auth/login', { email, password });
    return isTwoFactorChallenge(r) ? r : this.accept(r);
  }

  /** Step two: the challenge and a code from the app (or a recovery code). */
  async loginTwoFactor(challengeToken: string, code: string): Promise<MeView> {
    return this.accept(await this.postJson<AuthTokensView>('/auth/login/2fa', { challengeToken, code }));
  }

  /** Sign up from an invitation link: the account gets the invited address and joins that team. */
  async registerWithInvite(inviteToken: string, password: string): Promise<MeView> {
    return this.accept(await this.postJson<AuthTokensView>('/auth/register/invite', { inviteToken, password }));
  }

  async register(input: RegisterInput): Promise<MeView> {
    return this.accept(await this.postJson<AuthTokensView>('/auth/register', input));
  }

  /** On start-up: turn a stored refresh token into a session, if there is one. */
  async restore(): Promise<MeView | null> {
    if (this.currentUser && this.accessToken) return this.currentUser;
    if (!this.store.get()) return null;
    return (await this.refresh()) ? this.currentUser : null;
  }

  /**
   * Exchange the refresh token for new tokens. Concurrent callers share one request.
   * Resolves false (and clears the session) when the API refuses the token.
   */
  refresh(): Promise<boolean> {
    if (!this.inflight) {
      // The API spends a refresh token on use and treats a second use as theft (it ends the
      // login), so tabs sharing the stored token must never refresh at the same time.
      this.inflight = this.lock(() => this.doRefresh(true)).finally(() => {
        this.inflight = null;
      });
    }
    return this.inflight;
  }

  private async doRefresh(mayRetry: boolean): Promise<boolean> {
    const sent = this.store.get();
    if (!sent) {
      this.clear();
      return false;
    }
    const res = await this.fetchFn(API_PREFIX + '/auth/refresh', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ refreshToken: sent }),
    });
    if (res.ok) {
      this.accept((await res.json()) as AuthTokensView);
      return true;
    }
    if (res.status === 400 || res.status === 401 || res.status === 403) {
      // Another tab may have rotated the token in the meantime: try once with the new one.
      const now = this.store.get();
      if (mayRetry && now && now !== sent) return this.doRefresh(false);
      this.clear();
      return false;
    }
    throw await apiErrorFromResponse(res);
  }

  /** Tell the API to revoke the refresh token, then forget the session whatever it answers. */
  async logout(): Promise<void> {
    const refreshToken = this.store.get();
    try {
      if (refreshToken || this.accessToken) {
        await this.fetchFn(API_PREFIX + '/auth/logout', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', ...this.authHeader() },
          body: JSON.stringify({ refreshToken }),
        });
      }
    } catch {
      // Offline: the local session still ends.
    } finally {
      this.clear();
    }
  }

  /**
   * fetch with the access token. Refreshes first when the token is about to expire, and once
   * more (then retries) when the API answers 401. Other answers are returned as they are.
   */
  readonly fetch: FetchLike = async (input, init = {}) => {
    if (this.accessToken && this.now() > this.accessExpiresAt - REFRESH_MARGIN_MS && this.store.get()) {
      await this.refresh().catch(() => false);
    }
    const hadToken = this.accessToken !== null;
    // A Request's body can be read once: keep a copy for the retry.
    const copy = typeof input === 'string' ? input : input.clone();
    const res = await this.send(input, init);
    if (res.status !== 401 || (!hadToken && !this.store.get())) return res;
    if (!(await this.refresh().catch(() => false))) return res;
    return this.send(copy, init);
  };

  private send(input: string | Request, init: RequestInit): Promise<Response> {
    if (typeof input === 'string') return this.fetchFn(input, this.withAuth(init));
    const headers = new Headers(input.headers);
    if (this.accessToken) headers.set('Authorization', `Bearer ${this.accessToken}`);
    return this.fetchFn(new Request(input, { headers }));
  }

  private authHeader(): Record<string, string> {
    return this.accessToken ? { Authorization: `Bearer ${this.accessToken}` } : {};
  }

  private withAuth(init: RequestInit): RequestInit {
    const headers = new Headers(init.headers);
    if (this.accessToken) headers.set('Authorization', `Bearer ${this.accessToken}`);
    return { ...init, headers };
  }

  private async postJson<T>(path: string, body: unknown): Promise<T> {
    const res = await this.fetchFn(API_PREFIX + path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw await apiErrorFromResponse(res);
    return (await res.json()) as T;
  }

  private setUser(user: MeView | null): void {
    if (user === this.currentUser) return;
    this.currentUser = user;
    this.onUserChange(user);
  }

  /** Replace the user (after GET /auth/me) without touching the tokens. */
  updateUser(user: MeView): void {
    this.setUser(user);
  }
}
