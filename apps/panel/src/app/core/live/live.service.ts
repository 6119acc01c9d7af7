import { DestroyRef, Injectable, inject, signal } from '@angular/core';
import { API_PREFIX } from '@oblako/contracts';
import { Observable, Subject, share } from 'rxjs';
import { AuthService } from '../auth/auth.service';
import { SseParser, readServerChange, type ServerChange } from './sse';

export type LiveEvent = ({ kind: 'server' } & ServerChange) | { kind: 'tick' };
export type LiveMode = 'off' | 'connecting' | 'sse' | 'polling';

const POLL_MS = 2000;
const RECONNECT_MS = 3000;

/**
 * Live server updates: GET /api/v1/servers/events as server-sent events (read through fetch,
 * so the access token goes in the Authorization header). If the endpoint answers 404 the panel
 * polls instead: it emits a `tick` every 2 s and the pages reload what they show.
 * Runs while at least one page subscribes.
 */
@Injectable({ providedIn: 'root' })
export class LiveService {
  private readonly auth = inject(AuthService);
  private readonly subject = new Subject<LiveEvent>();
  private abort: AbortController | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private users = 0;
  private sseMissing = false;
  readonly mode = signal<LiveMode>('off');

  /** Subscribe for the lifetime of a component. */
  readonly events$: Observable<LiveEvent> = new Observable<LiveEvent>((sub) => {
    const inner = this.subject.subscribe(sub);
    if (this.users++ === 0) this.start();
    return () => {
      inner.unsubscribe();
      if (--this.users === 0) this.stop();
    };
  }).pipe(share());

  /** Subscribe until `destroyRef` is destroyed. */
  watch(destroyRef: DestroyRef, handler: (e: LiveEvent) => void): void {
    const sub = this.events$.subscribe(handler);
    destroyRef.onDestroy(() => sub.unsubscribe());
  }

  stop(): void {
    this.abort?.abort();
    this.abort = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.mode.set('off');
  }

  private start(): void {
    if (this.sseMissing) this.poll();
    else void this.connect();
  }

  private poll(): void {
    this.mode.set('polling');
    const loop = () => {
      this.timer = setTimeout(() => {
        if (this.users === 0) return;
        this.subject.next({ kind: 'tick' });
        loop();
      }, POLL_MS);
    };
    loop();
  }

  private async connect(): Promise<void> {
    if (this.users === 0 || !this.auth.loggedIn()) return;
    const ctrl = new AbortController();
    this.abort = ctrl;
    this.mode.set('connecting');
    try {
      const tenantId = this.auth.tenantId();
      const res = await this.auth.session.fetch(API_PREFIX + '/servers/events', {
        headers: { Accept: 'text/event-stream', ...(tenantId ? { 'X-Tenant-Id': tenantId } : {}) },
        signal: ctrl.signal,
        cache: 'no-store',
      });
      if (res.status === 404 || res.status === 405 || res.status === 501) {
        this.sseMissing = true;
        this.poll();
        return;
      }
      if (!res.ok || !res.body) throw new Error(`events answered ${res.status}`);
      this.mode.set('sse');
      // Catch up on anything that changed while we were not connected.
      this.subject.next({ kind: 'tick' });
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      const parser = new SseParser();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const msg of parser.push(value)) {
          const change = readServerChange(msg);
          if (change) this.subject.next({ kind: 'server', ...change });
        }
      }
    } catch {
      if (ctrl.signal.aborted) return;
    }
    if (ctrl.signal.aborted || this.users === 0) return;
    // The stream ended or failed: poll meanwhile, then reconnect.
    this.mode.set('connecting');
    this.subject.next({ kind: 'tick' });
    this.timer = setTimeout(() => void this.connect(), RECONNECT_MS);
  }
}
