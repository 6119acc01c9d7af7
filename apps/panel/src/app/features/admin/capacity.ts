/** Node capacity as staff read it: what is used of what may be sold. Pure: unit-tested. */
import type { NodeView } from '@oblako/contracts';
import { percent } from '../../shared/format.js';

export interface Gauge {
  used: number;
  total: number;
  free: number;
  percent: number;
}

function gauge(used: number, total: number): Gauge {
  const t = Math.max(0, Math.floor(total));
  return { used, total: t, free: Math.max(0, t - used), percent: percent(used, t) };
}

/** vCPU and RAM may be overcommitted by the node's ratios; disk never is. */
export function nodeCapacity(n: NodeView): { vcpus: Gauge; memoryMiB: Gauge; diskGiB: Gauge } {
  return {
    vcpus: gauge(n.usedVcpus, n.vcpus * (n.cpuOvercommit || 1)),
    memoryMiB: gauge(n.usedMemoryMiB, n.memoryMiB * (n.memoryOvercommit || 1)),
    diskGiB: gauge(n.usedDiskGiB, n.diskGiB),
  };
}

/** Warn above 80 %, alarm above 95 %. */
export function gaugeLevel(p: number): 'ok' | 'warn' | 'full' {
  return p >= 95 ? 'full' : p >= 80 ? 'warn' : 'ok';
}
