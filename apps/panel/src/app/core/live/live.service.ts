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
 * While the stream is not open yet (connecting, reconnecting, or a proxy holding the answer
 * back), pages reload this often: a change made meanwhile would otherwise show only once the
 * stream opens (measured: 32.6 s once, behind a stream that took that long to open).
 */
const UNCONNECTED_TICK_MS = 1000;
/** The API pings every 20 s; a stream silent for longer than this is dead (a half-open connection). */
const SILENT_STREAM_MS = 45_000;
/** How often a page showing something in flux reloads anyway, stream or not (see settle()). */
const SETTLE_MS = 5000;

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
  private waiting: ReturnType<typeof setInterval> | null = null;
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
    this.clearWaiting();
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
    // Until the stream is open, nothing would tell the pages about a change: tick meanwhile.
    const unconnected = setInterval(() => {
      if (!ctrl.signal.aborted && this.users > 0) this.subject.next({ kind: 'tick' });
    }, UNCONNECTED_TICK_MS);
    let silence: ReturnType<typeof setTimeout> | null = null;
    const heard = () => {
      if (silence) clearTimeout(silence);
      silence = setTimeout(() => ctrl.abort(new Error('silent stream')), SILENT_STREAM_MS);
    };
    try {
      const tenantId = this.auth.tenantId();
      const res = await this.auth.session.fetch(API_PREFIX + '/servers/events', {
        headers: { Accept: 'text/event-stream', ...(tenantId ? { 'X-Tenant-Id': tenantId } : {}) },
        signal: ctrl.signal,
        cache: 'no-store',
      });
      clearInterval(unconnected);
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
      heard();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        heard();
        for (const msg of parser.push(value)) {
          const change = readServerChange(msg);
          if (change) this.subject.next({ kind: 'server', ...change });
        }
      }
    } catch {
      // A failed or silent stream reconnects below; one aborted by stop() does not.
    } finally {
      clearInterval(unconnected);
      if (silence) clearTimeout(silence);
    }
    if (this.abort !== ctrl || this.users === 0) return;
    // The stream ended or failed: tick meanwhile, then reconnect.
    this.mode.set('connecting');
    this.subject.next({ kind: 'tick' });
    this.waiting = setInterval(() => {
      if (this.users > 0) this.subject.next({ kind: 'tick' });
    }, UNCONNECTED_TICK_MS);
    this.timer = setTimeout(() => {
      this.clearWaiting();
      void this.connect();
    }, RECONNECT_MS);
  }

  private clearWaiting(): void {
    if (this.waiting) clearInterval(this.waiting);
    this.waiting = null;
  }

  /**
   * A safety net for a page that shows something in flux (a server provisioning, a task
   * running): while `inFlux()` is true, `reload` runs every few seconds even with the stream
   * open, so one lost event cannot leave a stale state on screen.
   */
  settle(destroyRef: DestroyRef, inFlux: () => boolean, reload: () => void): void {
    const timer = setInterval(() => {
      if (this.mode() === 'sse' && inFlux()) reload();
    }, SETTLE_MS);
    destroyRef.onDestroy(() => clearInterval(timer));
  }
}
