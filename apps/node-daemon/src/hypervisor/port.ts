import type { DomainState } from '@oblako/contracts';

export interface NodeCapacity {
  vcpus: number;
  memoryMiB: number;
}

export interface DomainSummary {
  name: string;
  state: DomainState;
}

/** Why a hypervisor call failed, as far as the daemon needs to know. */
export const HypervisorErrorCode = {
  NotFound: 'domain_not_found',
  NotRunning: 'domain_not_running',
  AlreadyRunning: 'domain_already_running',
  Connection: 'hypervisor_unreachable',
  AddonMissing: 'libvirt_addon_missing',
  Other: 'hypervisor_error',
} as const;
export type HypervisorErrorCode = (typeof HypervisorErrorCode)[keyof typeof HypervisorErrorCode];

export class HypervisorError extends Error {
  constructor(readonly code: HypervisorErrorCode, message: string, override readonly cause?: unknown) {
    super(message);
    this.name = 'HypervisorError';
  }
}

/**
 * The daemon's only view of the hypervisor. Domains are addressed by name (the daemon derives
 * the name from the server id). Every method is a single hypervisor call; policies (graceful
 * stop, reboot) live in DomainLifecycle on top of this port.
 */
export interface HypervisorPort {
  readonly uri: string;
  connect(): Promise<void>;
  close(): Promise<void>;
  /** Human-readable description for heartbeats, e.g. "libvirt test:///default". */
  describe(): string;
  capacity(): Promise<NodeCapacity>;
  /** State of the named domain, `missing` when it is not defined. */
  state(name: string): Promise<DomainState>;
  list(): Promise<DomainSummary[]>;
  /** Define (or redefine) a persistent domain from XML. */
  define(xml: string): Promise<void>;
  start(name: string): Promise<void>;
  /** ACPI shutdown request; returns at once. */
  shutdown(name: string): Promise<void>;
  destroy(name: string): Promise<void>;
  undefine(name: string): Promise<void>;
  pause(name: string): Promise<void>;
  resume(name: string): Promise<void>;
  xml(name: string): Promise<string>;
  /**
   * Internal snapshots (qcow2, inside the server's overlay; with the guest's memory when it runs or is paused).
   * `snapshotCreate` of a name that exists is a no-op; `snapshotDelete` of one that does not exist too.
   */
  snapshotNames(name: string): Promise<string[]>;
  snapshotCreate(name: string, snapshot: string): Promise<void>;
  snapshotRevert(name: string, snapshot: string): Promise<void>;
  snapshotDelete(name: string, snapshot: string): Promise<void>;
}
