import { ChangeDetectionStrategy, Component, DestroyRef, ElementRef, afterRenderEffect, computed, effect, inject, input, signal, untracked, viewChildren } from '@angular/core';
import { MatButtonModule } from '@angular/material/button';
import uPlot from 'uplot';
import { ApiService, type UsageSeriesView } from '../core/api/api.service';
import { errorMessage } from '../core/api/api-error';
import { LoadState } from './load-state';
import {
  RANGE_LABELS, USAGE_RANGES, formatBitsPerSecond, formatBytesPerSecond, formatIops, formatPercent, formatPointTime, summarize,
  type UsagePointLike, type UsageRangeKey,
} from './usage-format';

interface ChartDef {
  key: string;
  title: string;
  format: (v: number | null) => string;
  /** A fixed 0..max scale (CPU % of a server's vCPUs); otherwise from 0 to the data's peak. */
  max?: number;
  series: { label: string; pick: (p: UsagePointLike) => number | null; color: string }[];
}

// two series per chart: blue for what comes in / is read, orange for what goes out / is written (readable on the
// light theme, and told apart by the legend's words, not by colour alone)
const A = '#1565c0';
const B = '#e65100';

/**
 * The usage graphs of a server (its owner) or of a node (staff): CPU, network, disk throughput and IOPS, and the
 * servers on a node, over 1 hour, 24 hours, 7 days or 30 days. uPlot draws them (a gap in the series is a break in
 * the line); each chart has a spoken summary, and every number is in the table under the charts.
 */
@Component({
  selector: 'ob-usage-graphs',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [MatButtonModule, LoadState],
  template: `
    <section class="usage" data-testid="usage-graphs" aria-labelledby="usage-title" [attr.data-range]="range()">
      <div class="head">
        <h2 id="usage-title">Usage</h2>
        <div class="ranges" role="group" aria-label="Time range of the graphs">
          @for (r of ranges; track r) {
            <button mat-stroked-button type="button" [class.selected]="range() === r" [attr.aria-pressed]="range() === r"
              (click)="range.set(r)" [attr.data-testid]="'usage-range-' + r">{{ labels[r] }}</button>
          }
        </div>
      </div>
      <ob-load-state [loading]="loading() && !series()" [error]="error()" (retry)="reload()" />
      @if (series(); as s) {
        <p class="ob-muted note" data-testid="usage-step" [attr.data-step]="s.stepSeconds">
          {{ labels[s.range] }}, a point every {{ stepText(s.stepSeconds) }}. A break in a line is time without data: the server was off or not metered.
        </p>
        <div class="charts" [attr.aria-busy]="loading()">
          @for (c of charts(); track c.key) {
            <figure [attr.data-testid]="'usage-chart-' + c.key">
              <figcaption>{{ c.title }}</figcaption>
              <div #plot class="plot" role="img" [attr.aria-label]="summaries()[c.key]" [attr.data-chart]="c.key"></div>
            </figure>
          }
        </div>
        <details data-testid="usage-table-details">
          <summary>The numbers as a table</summary>
          <div class="ob-table-wrap" tabindex="0" role="region" aria-label="Usage numbers">
            <table data-testid="usage-table">
              <thead><tr>
                <th scope="col">Time</th><th scope="col">CPU</th><th scope="col">Network in</th><th scope="col">Network out</th>
                <th scope="col">Disk read</th><th scope="col">Disk write</th><th scope="col">Read IOPS</th><th scope="col">Write IOPS</th>
                @if (node()) {<th scope="col">Servers</th>}
              </tr></thead>
              <tbody>
                @for (p of s.points; track p.t) {
                  <tr data-testid="usage-row" [attr.data-t]="p.t" [attr.data-gap]="p.seconds === 0" [class.gap]="p.seconds === 0">
                    <th scope="row">{{ time(p.t, s.range) }}</th>
                    @if (p.seconds === 0) {
                      <td [attr.colspan]="node() ? 8 : 7" class="ob-muted">no data</td>
                    } @else {
                      <td data-col="cpu">{{ pct(p.cpuPercent) }}</td><td data-col="netIn">{{ bits(p.netInBps) }}</td><td data-col="netOut">{{ bits(p.netOutBps) }}</td>
                      <td data-col="diskRead">{{ bytes(p.diskReadBps) }}</td><td data-col="diskWrite">{{ bytes(p.diskWriteBps) }}</td>
                      <td data-col="readIops">{{ iops(p.diskReadIops) }}</td><td data-col="writeIops">{{ iops(p.diskWriteIops) }}</td>
                      @if (node()) {<td data-col="servers">{{ p.servers ?? 0 }}</td>}
                    }
                  </tr>
                }
              </tbody>
            </table>
          </div>
        </details>
      }
    </section>
  `,
  styles: `
    .head { display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: 8px; }
    h2 { font: var(--mat-sys-title-large); margin: 24px 0 8px; }
    .ranges { display: flex; flex-wrap: wrap; gap: 4px; }
    .ranges .selected { background: var(--mat-sys-secondary-container); color: var(--mat-sys-on-secondary-container); }
    .note { margin: 0 0 8px; }
    .charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 12px; }
    figure { margin: 0; padding: 8px; border: 1px solid var(--mat-sys-outline-variant); border-radius: 12px; min-width: 0; }
    figcaption { font: var(--mat-sys-title-small); margin: 0 0 4px 4px; }
    .plot { width: 100%; min-height: 200px; }
    details { margin-top: 12px; }
    table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
    th, td { padding: 2px 10px; text-align: right; white-space: nowrap; border-bottom: 1px solid var(--mat-sys-outline-variant); }
    thead th { text-align: right; font-weight: 600; } tbody th { font-weight: 400; text-align: left; }
    tr.gap td { text-align: center; }
  `,
})
export class UsageGraphs {
  private readonly api = inject(ApiService);
  private readonly host = inject<ElementRef<HTMLElement>>(ElementRef);

  /** The server's id, or the node's with `node` set (staff). */
  readonly targetId = input.required<string>();
  readonly node = input(false);

  readonly ranges = USAGE_RANGES;
  readonly labels = RANGE_LABELS;
  readonly range = signal<UsageRangeKey>('24h');
  readonly series = signal<UsageSeriesView | null>(null);
  readonly loading = signal(false);
  readonly error = signal<string | null>(null);
  private readonly plotEls = viewChildren<ElementRef<HTMLDivElement>>('plot');
  private plots: uPlot[] = [];
  private seq = 0;

  readonly charts = computed<ChartDef[]>(() => {
    const node = this.node();
    const defs: ChartDef[] = [
      { key: 'cpu', title: node ? 'CPU (% of one core)' : 'CPU (% of its vCPUs)', format: formatPercent, ...(node ? {} : { max: 100 }), series: [{ label: 'CPU', pick: (p) => p.cpuPercent, color: A }] },
      { key: 'net', title: 'Network (bits/s)', format: formatBitsPerSecond, series: [{ label: 'In', pick: (p) => p.netInBps, color: A }, { label: 'Out', pick: (p) => p.netOutBps, color: B }] },
      { key: 'disk', title: 'Disk (bytes/s)', format: formatBytesPerSecond, series: [{ label: 'Read', pick: (p) => p.diskReadBps, color: A }, { label: 'Write', pick: (p) => p.diskWriteBps, color: B }] },
      { key: 'iops', title: 'Disk operations (IOPS)', format: formatIops, series: [{ label: 'Read', pick: (p) => p.diskReadIops, color: A }, { label: 'Write', pick: (p) => p.diskWriteIops, color: B }] },
    ];
    if (node) defs.push({ key: 'servers', title: 'Servers with usage', format: (v) => (v === null ? '—' : String(v)), series: [{ label: 'Servers', pick: (p) => p.servers ?? 0, color: A }] });
    return defs;
  });

  readonly summaries = computed<Record<string, string>>(() => {
    const s = this.series();
    const out: Record<string, string> = {};
    if (!s) return out;
    for (const c of this.charts()) {
      out[c.key] = `${c.title}, ${RANGE_LABELS[s.range]}. ` + c.series.map((x) => summarize(s.points, x.label, x.pick, c.format).text).join(' ');
    }
    return out;
  });

  constructor() {
    effect(() => {
      const id = this.targetId();
      const range = this.range();
      untracked(() => void this.load(id, range));
    });
    afterRenderEffect(() => {
      const s = this.series();
      const els = this.plotEls();
      untracked(() => this.draw(s, els.map((e) => e.nativeElement)));
    });
    const resize = new ResizeObserver(() => {
      for (const u of this.plots) {
        const w = u.root.parentElement?.clientWidth ?? 0;
        if (w > 0 && Math.abs(w - u.width) > 2) u.setSize({ width: w, height: u.height });
      }
    });
    resize.observe(this.host.nativeElement);
    inject(DestroyRef).onDestroy(() => {
      resize.disconnect();
      this.destroyPlots();
    });
  }

  reload(): void {
    void this.load(this.targetId(), this.range());
  }

  private async load(id: string, range: UsageRangeKey): Promise<void> {
    const mine = ++this.seq;
    this.loading.set(true);
    this.error.set(null);
    try {
      const s = this.node() ? await this.api.nodeUsage(id, range) : await this.api.serverUsage(id, range);
      if (mine === this.seq) this.series.set(s);
    } catch (e) {
      if (mine === this.seq) this.error.set(errorMessage(e));
    } finally {
      if (mine === this.seq) this.loading.set(false);
    }
  }

  private destroyPlots(): void {
    for (const u of this.plots) u.destroy();
    this.plots = [];
  }

  private draw(s: UsageSeriesView | null, els: HTMLDivElement[]): void {
    this.destroyPlots();
    if (!s) return;
    const defs = this.charts();
    const xs = s.points.map((p) => Date.parse(p.t) / 1000);
    els.forEach((el, i) => {
      const c = defs[i];
      if (!c) return;
      const ys = c.series.map((x) => s.points.map((p) => (p.seconds > 0 ? x.pick(p) : null)));
      const width = Math.max(el.clientWidth, 280);
      const opts: uPlot.Options = {
        width,
        height: 200,
        series: [
          { value: (_u, v) => (v === null ? '—' : formatPointTime(new Date(v * 1000).toISOString(), s.range)) },
          ...c.series.map((x) => ({ label: x.label, stroke: x.color, width: 1.5, fill: `${x.color}1f`, spanGaps: false, points: { show: false }, value: (_u: uPlot, v: number | null) => c.format(v) })),
        ],
        scales: { x: { time: true, range: [xs[0]! - s.stepSeconds, xs[xs.length - 1]!] }, y: { range: (_u, _min, max) => [0, c.max ?? (max > 0 ? max * 1.1 : 1)] } },
        axes: [
          { stroke: '#44474e', grid: { stroke: '#e0e2ec' }, ticks: { stroke: '#c4c6d0' } },
          { stroke: '#44474e', grid: { stroke: '#e0e2ec' }, ticks: { stroke: '#c4c6d0' }, size: 76, values: (_u, splits) => splits.map((v) => c.format(v)) },
        ],
        cursor: { y: false },
        legend: { live: true },
      };
      this.plots.push(new uPlot(opts, [xs, ...ys] as uPlot.AlignedData, el));
    });
  }

  stepText(seconds: number): string {
    return seconds >= 3600 ? `${seconds / 3600} hour${seconds === 3600 ? '' : 's'}` : seconds >= 60 ? `${seconds / 60} minute${seconds === 60 ? '' : 's'}` : `${seconds} s`;
  }
  time(t: string, range: UsageRangeKey): string {
    return formatPointTime(t, range);
  }
  readonly pct = formatPercent;
  readonly bits = formatBitsPerSecond;
  readonly bytes = formatBytesPerSecond;
  readonly iops = formatIops;
}
