import { ChangeDetectionStrategy, Component, computed, input } from '@angular/core';
import { humanize } from './format';

const TONE: Record<string, string> = {
  running: 'ok', succeeded: 'ok', online: 'ok',
  stopped: 'off', deleted: 'off', offline: 'bad',
  error: 'bad', failed: 'bad', suspended: 'bad',
  maintenance: 'warn', pending_payment: 'warn', paused: 'warn',
  offered: 'ok', deprecated: 'off', active: 'ok', paid: 'ok', provisioned: 'ok', trialing: 'ok',
  pending: 'warn', open: 'warn', past_due: 'warn', draft: 'off', void: 'off', none: 'off', canceled: 'off',
  unpaid: 'bad', uncollectible: 'bad', node_unreachable: 'bad',
  verified: 'ok', unverified: 'off', ready: 'ok',
};

/** A server, task or node state as a coloured chip; busy states pulse. */
@Component({
  selector: 'ob-state-chip',
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `<span class="chip" [class]="'chip tone-' + tone()" [attr.data-state]="state()" data-testid="state-chip">
    @if (tone() === 'busy') {<span class="dot" aria-hidden="true"></span>}{{ label() }}</span>`,
  styles: `
    .chip { display: inline-flex; align-items: center; gap: 6px; padding: 2px 10px; border-radius: 999px;
      font: var(--mat-sys-label-medium); white-space: nowrap; border: 1px solid transparent; }
    .tone-ok { background: #e6f4ea; color: #0d652d; }
    .tone-off { background: var(--mat-sys-surface-container-high); color: var(--mat-sys-on-surface-variant); }
    .tone-bad { background: var(--mat-sys-error-container); color: var(--mat-sys-on-error-container); }
    .tone-warn { background: #fef7e0; color: #7a4f01; }
    .tone-busy { background: var(--mat-sys-primary-container); color: var(--mat-sys-on-primary-container); }
    .dot { width: 8px; height: 8px; border-radius: 50%; background: currentColor; animation: pulse 1.2s ease-in-out infinite; }
    @keyframes pulse { 50% { opacity: .25; } }
    @media (prefers-reduced-motion: reduce) { .dot { animation: none; } }
  `,
})
export class StateChip {
  readonly state = input.required<string>();
  readonly tone = computed(() => TONE[this.state()] ?? 'busy');
  readonly label = computed(() => humanize(this.state()));
}
