import { ChangeDetectionStrategy, Component, DestroyRef, ElementRef, computed, effect, inject, input, signal, untracked, viewChild } from '@angular/core';
import { ActivatedRoute, RouterLink } from '@angular/router';
import { FormsModule } from '@angular/forms';
import { MatButtonModule } from '@angular/material/button';
import { CONSOLE_CLOSE_MESSAGES, CONSOLE_WS_CLOSE_CODES, type ConsoleCloseReason, type ConsoleKind } from '@oblako/contracts';
import { ApiService } from '../../core/api/api.service';
import { errorMessage } from '../../core/api/api-error';
import { ErrorBanner } from '../../shared/error-banner';

type Status = 'connecting' | 'connected' | 'closed';

/** What a closed console says: the relay's reason (close frame), or a generic sentence. */
export function closeMessage(code: number, reason: string): string {
  if (reason in CONSOLE_CLOSE_MESSAGES) return CONSOLE_CLOSE_MESSAGES[reason as ConsoleCloseReason];
  const byCode = Object.entries(CONSOLE_WS_CLOSE_CODES).find(([, c]) => c === code)?.[0];
  if (byCode && byCode in CONSOLE_CLOSE_MESSAGES) return CONSOLE_CLOSE_MESSAGES[byCode as ConsoleCloseReason];
  return code === 1006 ? 'The console connection was refused or lost; open it again.' : 'The console was closed.';
}

/** X11 keysym of a character (what RFB key events carry); Latin-1 maps to itself, the rest to 0x01000000 + code point. */
export function keysymOf(ch: string): number {
  const cp = ch.codePointAt(0)!;
  if (ch === '\n' || ch === '\r') return 0xff0d; // Return
  if (ch === '\t') return 0xff09; // Tab
  if ((cp >= 0x20 && cp <= 0x7e) || (cp >= 0xa0 && cp <= 0xff)) return cp;
  return 0x01000000 + cp;
}

/** Characters that need Shift on a US keyboard (QEMU turns keysyms into scan codes with its en-us map). */
const SHIFTED = new Set('~!@#$%^&*()_+{}|:"<>?ABCDEFGHIJKLMNOPQRSTUVWXYZ');

@Component({
  selector: 'ob-console-page',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [RouterLink, FormsModule, MatButtonModule, ErrorBanner],
  template: `
    <div class="ob-page console-page" data-testid="console-page" [attr.data-kind]="kind()">
      <a class="back" [routerLink]="backLink()" data-testid="console-back">← {{ staff() ? 'All servers' : 'Server' }}</a>
      <div class="head">
        <h1>{{ kind() === 'vnc' ? 'VNC console' : 'Serial console' }} · <span class="ob-mono">{{ title() }}</span></h1>
        <span class="status" data-testid="console-status" [attr.data-state]="status()" role="status" aria-live="polite">{{ statusText() }}</span>
      </div>
      <div class="toolbar" role="group" aria-label="Console controls">
        @if (kind() === 'vnc') {
          <button mat-stroked-button type="button" (click)="ctrlAltDel()" [disabled]="status() !== 'connected'" data-testid="console-ctrl-alt-del">Send Ctrl-Alt-Del</button>
        }
        <button mat-stroked-button type="button" (click)="fullscreen()" data-testid="console-fullscreen">Full screen</button>
        <button mat-stroked-button type="button" (click)="connect()" [disabled]="status() === 'connecting'" data-testid="console-reconnect">{{ status() === 'closed' ? 'Connect again' : 'Reconnect' }}</button>
        <a mat-button [routerLink]="otherLink()" data-testid="console-other-kind">{{ kind() === 'vnc' ? 'Serial console' : 'VNC console' }}</a>
      </div>
      <ob-error-banner [message]="error()" testId="console-error" />
      <div class="screen" #screen [class.vnc]="kind() === 'vnc'" [attr.data-testid]="kind() === 'vnc' ? 'console-screen' : 'console-terminal'"></div>
      @if (kind() === 'vnc') {
        <form class="paste" (submit)="$event.preventDefault(); paste()">
          <label for="paste-text">Paste as keystrokes</label>
          <textarea id="paste-text" rows="2" [(ngModel)]="pasteText" name="pasteText" data-testid="console-paste-text"
            placeholder="Text to type into the server (the VNC console has no clipboard)"></textarea>
          <button mat-stroked-button type="submit" [disabled]="status() !== 'connected' || !pasteText" data-testid="console-paste-send">Type it</button>
        </form>
        <p class="ob-muted note" data-testid="console-keyboard-note">
          Keyboard: keys are sent as key positions, so the server's own keyboard layout decides which character each key makes
          (set it in the server, e.g. <span class="ob-mono">loadkeys de</span>). “Paste as keystrokes” types with a US English layout.
        </p>
      } @else {
        <p class="ob-muted note">The serial console shows the server's recent boot output, then live output. Select text to copy; scroll back with the mouse wheel or Shift+PageUp.</p>
      }
    </div>
  `,
  styles: `
    .back { display: inline-block; margin-bottom: 8px; }
    .head { display: flex; align-items: baseline; gap: 16px; flex-wrap: wrap; }
    .head h1 { margin: 0; }
    .status[data-state='connected'] { color: var(--mat-sys-primary); }
    .status[data-state='closed'] { color: var(--mat-sys-error); }
    .toolbar { display: flex; gap: 8px; flex-wrap: wrap; margin: 12px 0; }
    .screen { background: #000; min-height: 420px; height: 62vh; border-radius: 4px; overflow: hidden; padding: 4px; }
    .screen.vnc { padding: 0; }
    .paste { display: flex; gap: 8px; align-items: center; margin-top: 12px; flex-wrap: wrap; }
    .paste textarea { flex: 1 1 320px; font-family: ui-monospace, monospace; }
    .note { margin-top: 8px; }
  `,
})
export class ConsolePage {
  private readonly api = inject(ApiService);
  private readonly route = inject(ActivatedRoute);
  readonly id = input.required<string>();
  readonly kind = input.required<ConsoleKind>();
  readonly staff = signal<boolean>(!!this.route.snapshot.data['staff']);
  private readonly screen = viewChild.required<ElementRef<HTMLDivElement>>('screen');

  readonly status = signal<Status>('connecting');
  readonly closedWith = signal<string | null>(null);
  readonly error = signal<string | null>(null);
  readonly hostname = signal<string | null>(null);
  pasteText = '';

  readonly title = computed(() => this.hostname() ?? this.id());
  readonly backLink = computed(() => (this.staff() ? '/admin/servers' : `/servers/${this.id()}`));
  readonly otherLink = computed(() => `${this.staff() ? '/admin' : ''}/servers/${this.id()}/console/${this.kind() === 'vnc' ? 'serial' : 'vnc'}`);
  readonly statusText = computed(() => {
    switch (this.status()) {
      case 'connecting':
        return 'Connecting…';
      case 'connected':
        return 'Connected';
      default:
        return this.closedWith() ?? 'Closed';
    }
  });

  private teardown: (() => void) | null = null;
  private rfb: import('@novnc/novnc').default | null = null;
  private seq = 0;

  constructor() {
    effect(() => {
      this.id();
      this.kind();
      untracked(() => void this.connect());
    });
    inject(DestroyRef).onDestroy(() => this.disconnect());
  }

  private disconnect(): void {
    this.seq++;
    this.teardown?.();
    this.teardown = null;
    this.rfb = null;
  }

  async connect(): Promise<void> {
    this.disconnect();
    const seq = this.seq;
    this.status.set('connecting');
    this.closedWith.set(null);
    this.error.set(null);
    const id = this.id();
    const kind = this.kind();
    if (!this.staff() && this.hostname() === null) void this.api.server(id).then((s) => this.hostname.set(s.hostname)).catch(() => undefined);
    let url: string;
    try {
      const t = await this.api.consoleTicket(id, kind, this.staff());
      url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${t.path}`;
    } catch (e) {
      if (seq !== this.seq) return;
      this.status.set('closed');
      this.error.set(errorMessage(e));
      return;
    }
    if (seq !== this.seq) return;
    const el = this.screen().nativeElement;
    el.replaceChildren();
    if (kind === 'vnc') await this.openVnc(el, url, seq);
    else await this.openSerial(el, url, seq);
  }

  private closed(seq: number, code: number, reason: string): void {
    if (seq !== this.seq) return;
    this.status.set('closed');
    this.closedWith.set(closeMessage(code, reason));
  }

  private async openVnc(el: HTMLElement, url: string, seq: number): Promise<void> {
    const { default: RFB } = await import('@novnc/novnc');
    if (seq !== this.seq) return;
    // noVNC opens the WebSocket itself; the close frame's reason is read from our own socket wrapper
    const ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    let code = 1006;
    let reason = '';
    ws.addEventListener('close', (e) => {
      code = e.code;
      reason = e.reason;
    });
    const rfb = new RFB(el, ws, { shared: true });
    rfb.scaleViewport = true;
    rfb.resizeSession = false;
    rfb.background = '#000';
    rfb.addEventListener('connect', () => {
      if (seq === this.seq) this.status.set('connected');
      rfb.focus();
    });
    rfb.addEventListener('disconnect', () => setTimeout(() => this.closed(seq, code, reason), 0));
    this.rfb = rfb;
    this.teardown = () => {
      try {
        rfb.disconnect();
      } catch {
        // already closed
      }
    };
  }

  private async openSerial(el: HTMLElement, url: string, seq: number): Promise<void> {
    const [{ Terminal }, { FitAddon }] = await Promise.all([import('@xterm/xterm'), import('@xterm/addon-fit')]);
    if (seq !== this.seq) return;
    const term = new Terminal({ scrollback: 10_000, cursorBlink: true, fontFamily: 'ui-monospace, "DejaVu Sans Mono", monospace', fontSize: 14, theme: { background: '#000000' } });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(el);
    fit.fit();
    const resize = new ResizeObserver(() => fit.fit());
    resize.observe(el);
    const ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    ws.addEventListener('open', () => {
      if (seq !== this.seq) return;
      this.status.set('connected');
      term.focus();
    });
    ws.addEventListener('message', (e) => term.write(new Uint8Array(e.data as ArrayBuffer)));
    ws.addEventListener('close', (e) => this.closed(seq, e.code, e.reason));
    const input = term.onData((d) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(new TextEncoder().encode(d));
    });
    const binary = term.onBinary((d) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(Uint8Array.from(d, (c) => c.charCodeAt(0) & 0xff));
    });
    this.teardown = () => {
      input.dispose();
      binary.dispose();
      resize.disconnect();
      ws.close();
      term.dispose();
    };
  }

  ctrlAltDel(): void {
    this.rfb?.sendCtrlAltDel();
    this.rfb?.focus();
  }

  /** QEMU's VNC has no clipboard: type the text, one key event per character. */
  paste(): void {
    const rfb = this.rfb;
    if (!rfb || !this.pasteText) return;
    const SHIFT = 0xffe1;
    for (const ch of this.pasteText.replace(/\r\n/g, '\n')) {
      const shifted = SHIFTED.has(ch);
      if (shifted) rfb.sendKey(SHIFT, 'ShiftLeft', true);
      rfb.sendKey(keysymOf(ch), null);
      if (shifted) rfb.sendKey(SHIFT, 'ShiftLeft', false);
    }
    this.pasteText = '';
    rfb.focus();
  }

  fullscreen(): void {
    void this.screen().nativeElement.requestFullscreen?.().catch(() => undefined);
  }
}
