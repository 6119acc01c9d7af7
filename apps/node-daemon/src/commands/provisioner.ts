import type { ImageCache } from '../disks/images.js';
import type { Address, IsoRef, ServerSpec } from '@oblako/contracts';
import type { DaemonConfig } from '../config.js';
import { buildDomainXml } from '../xml/domain-xml.js';
import type { StepRecorder } from './recorder.js';

/**
 * Host work around a domain: what exists outside libvirt (disk, seed, tap, routes). Every
 * method is idempotent: a redelivered command calls it again with the same arguments.
 */
export interface ServerProvisioner {
  /** The node's base-image cache, when this provisioner keeps one (`image_verify` checks images into the same cache). */
  readonly imageCache?: ImageCache;
  /** Make the host resources of a new server and return its domain XML. */
  prepare(spec: ServerSpec, rec: StepRecorder): Promise<string>;
  /** Before starting an existing domain: recreate what a host reboot loses (tap, routes). */
  beforeStart(serverId: string, rec: StepRecorder): Promise<void>;
  /** Right after the domain started: what libvirt resets at start (tc rate limits). */
  afterStart(serverId: string, rec: StepRecorder): Promise<void>;
  /** The domain is off: replace the disk from spec.image, rewrite the seed, keep the network; returns the new XML. */
  rebuild(spec: ServerSpec, rec: StepRecorder): Promise<string>;
  /** The domain is off: grow the disk to spec.diskGiB (never shrink), keep seed and network; returns the new XML. */
  resize(spec: ServerSpec, rec: StepRecorder): Promise<string>;
  /**
   * Attach `iso` (fetched and verified once, cached by checksum) as the CD-ROM the server boots from, or
   * detach it (`null`); returns the new XML. Disk, seed and network stay as they are.
   */
  setIso(spec: ServerSpec, iso: IsoRef | null, rec: StepRecorder): Promise<string>;
  /** Bytes the server's disk file takes on this host (allocated blocks: snapshots inside it included); 0 without one. */
  diskBytes(serverId: string): Promise<number>;
  /**
   * The domain is off. `on`: a fresh rescue disk and the rescue definition (node's kernel, rescue disk first, the
   * server's disk second, its seed and tap); off: the normal definition again, the rescue disk removed. Returns the XML.
   */
  setRescue(spec: ServerSpec, on: boolean, rec: StepRecorder): Promise<string>;
  /** Keep `mbit` (0 = unlimited) as the server's network rate for later starts, and apply it now when `running`. */
  setRate(serverId: string, mbit: number, running: boolean, rec: StepRecorder): Promise<void>;
  /** The domain is gone: remove disk, seed, tap and routes. Safe to repeat. */
  cleanup(serverId: string, addresses: readonly Address[], rec: StepRecorder): Promise<void>;
}

/** libvirt's test driver and simulated fleets: a domain with vCPU and memory, nothing on the host. */
export class MinimalProvisioner implements ServerProvisioner {
  constructor(private readonly config: Pick<DaemonConfig, 'domainType'>) {}

  async prepare(spec: ServerSpec): Promise<string> {
    return buildDomainXml({
      type: this.config.domainType,
      serverId: spec.serverId,
      hostname: spec.hostname,
      vcpus: spec.vcpus,
      memoryMiB: spec.memoryMiB,
    });
  }
  async beforeStart(): Promise<void> {}
  async afterStart(): Promise<void> {}
  async rebuild(spec: ServerSpec): Promise<string> {
    return this.prepare(spec);
  }
  async resize(spec: ServerSpec): Promise<string> {
    return this.prepare(spec);
  }
  /** The test driver boots nothing: the definition stays the minimal one. */
  async setIso(spec: ServerSpec): Promise<string> {
    return this.prepare(spec);
  }
  async diskBytes(): Promise<number> {
    return 0;
  }
  /** The test driver boots nothing: the definition stays the minimal one. */
  async setRescue(spec: ServerSpec): Promise<string> {
    return this.prepare(spec);
  }
  /** Nothing is shaped on a simulated node. */
  async setRate(): Promise<void> {}

  async cleanup(): Promise<void> {}
}
