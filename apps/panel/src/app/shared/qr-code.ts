import { ChangeDetectionStrategy, Component, computed, input } from '@angular/core';
import { encode } from 'uqr';

/** A QR code drawn as one SVG path (no innerHTML, no canvas): dark modules as unit squares. */
@Component({
  selector: 'ob-qr-code',
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <svg [attr.viewBox]="'0 0 ' + size() + ' ' + size()" [attr.width]="pixels()" [attr.height]="pixels()" role="img" [attr.aria-label]="label()"
      shape-rendering="crispEdges" data-testid="qr-code" [attr.data-text]="text()">
      <rect [attr.width]="size()" [attr.height]="size()" fill="#fff" />
      <path [attr.d]="path()" fill="#000" />
    </svg>`,
})
export class QrCode {
  readonly text = input.required<string>();
  readonly label = input('QR code');
  readonly pixels = input(208);
  private readonly qr = computed(() => encode(this.text(), { ecc: 'M', border: 2 }));
  readonly size = computed(() => this.qr().size);
  readonly path = computed(() => {
    const parts: string[] = [];
    this.qr().data.forEach((row, y) => row.forEach((dark, x) => {
      if (dark) parts.push(`M${x} ${y}h1v1h-1z`);
    }));
    return parts.join('');
  });
}
