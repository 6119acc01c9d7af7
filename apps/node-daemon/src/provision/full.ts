import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Address, IsoRef, ServerSpec } from '@oblako/contracts';
import { buildSeedFiles, SeedWriter } from '../cloud-init/nocloud.js';
import { CommandFailure, FailureCode } from '../commands/handlers/handler.js';
import type { ServerProvisioner } from '../commands/provisioner.js';
import type { StepRecorder } from '../commands/recorder.js';
import type { DaemonConfig } from '../config.js';
import { consoleFiles, consolePathsOf, type ConsolePaths } from '../console/paths.js';
import { ImageCache } from '../disks/images.js';
import { Overlays } from '../disks/overlays.js';
import { checkHost, HostCheckError } from '../host/checks.js';
import { execProgram, type Exec } from '../host/exec.js';
import type { HypervisorPort } from '../hypervisor/port.js';
import type { Logger } from '../log.js';
import { assertServerId } from '../naming.js';
import { RoutedNetwork } from '../network/routed.js';
import { kernelSupportsLibvirtBandwidth, TcShaper } from '../network/shaping.js';
import { buildDomainXml, macAddress, type DirectKernelBoot } from '../xml/domain-xml.js';

/**
 * The node's direct kernel for an image that needs one (or leaves the choice to the node); none for
 * an image with its own bootloader. An image that needs a kernel on a node without one is refused.
 */
export function bootFromNodeKernel(image: Pick<ServerSpec['image'], 'bootMode' | 'name'>, nodeKernel: DirectKernelBoot | undefined): DirectKernelBoot | undefined {
  if (image.bootMode === 'disk') return undefined;
  if (image.bootMode === 'direct-kernel' && !nodeKernel) {
    throw new CommandFailure(FailureCode.NotSupported, `image "${image.name}" boots from the node's kernel, and this node has none (OBLAKO_DIRECT_KERNEL)`);
  }
  return nodeKernel;
}

/** What the node remembers about a server between commands: enough to rebuild its network after a host reboot. */
interface ServerRecord {
  serverId: string;
  addresses: Address[];
  netMbit: number;
  /** The ISO attached as the boot CD-ROM, by checksum (its file is `<data>/isos/<sha256>.raw`). */
  iso?: { id: string; sha256: string } | null;
}

export interface FullProvisionerParts {
  images: ImageCache;
  overlays: Overlays;
  seeds: SeedWriter;
  network: RoutedNetwork;
  /** Set when rates are applied with tc (OBLAKO_BANDWIDTH=tc, or auto on a kernel without sfq/police). */
  shaper?: TcShaper;
  /** `<dataDir>/servers`: one JSON record per server. */
  recordsDir: string;
  /** Console sockets and serial logs. */
  consoles: ConsolePaths;
  /** ISOs of the library, fetched once per node and checked against their checksum. */
  isos: ImageCache;
}

/** The directories under OBLAKO_DATA_DIR and the parts built on them. */
export function fullProvisionerParts(
  config: Pick<DaemonConfig, 'dataDir' | 'netns' | 'uplink' | 'consoleDir' | 'tapMac'>,
  exec: Exec = execProgram,
  bandwidth: 'libvirt' | 'tc' = 'libvirt',
): FullProvisionerParts {
  return {
    shaper: bandwidth === 'tc' ? new TcShaper(exec, config.netns) : undefined,
    images: new ImageCache(join(config.dataDir, 'images'), { exec }),
    overlays: new Overlays(join(config.dataDir, 'disks'), exec),
    seeds: new SeedWriter(join(config.dataDir, 'seeds'), exec),
    network: new RoutedNetwork(exec, { netns: config.netns, uplink: config.uplink, tapMac: config.tapMac }),
    recordsDir: join(config.dataDir, 'servers'),
    consoles: consolePathsOf(config),
    isos: new ImageCache(join(config.dataDir, 'isos'), { exec }),
  };
}

/**
 * The real job on a host: qcow2 overlay on the cached base image, NoCloud seed, routed tap, and a
 * domain XML with the plan's limits. Disk (after the image), seed and network are made in parallel.
 */
export class FullProvisioner implements ServerProvisioner {
  constructor(
    private readonly config: Pick<DaemonConfig, 'domainType' | 'directKernel' | 'rescueImage'>,
    readonly parts: FullProvisionerParts,
  ) {}

  get imageCache(): ImageCache {
    return this.parts.images;
  }

  domainXml(spec: ServerSpec, disk: string, seed: string, tap: string, iso: ServerRecord['iso'] = null, rescueDiskPath?: string): string {
    return buildDomainXml({
      type: this.config.domainType,
      serverId: spec.serverId,
      hostname: spec.hostname,
      vcpus: spec.vcpus,
      memoryMiB: spec.memoryMiB,
      cpuQuotaPercent: spec.cpuQuotaPercent,
      cpuShares: spec.cpuShares,
      disk: { path: disk, format: 'qcow2', totalIopsSec: spec.diskIops, totalBytesSec: spec.diskMBps * 1_000_000 },
      seedPath: seed,
      tap,
      netMbit: this.parts.shaper ? 0 : spec.netMbit,
      directKernel: rescueDiskPath ? this.config.directKernel : bootFromNodeKernel(spec.image, this.config.directKernel),
      rescueDiskPath,
      consoles: consoleFiles(this.parts.consoles, spec.serverId),
      cdromPath: iso ? this.parts.isos.pathOf({ sha256: iso.sha256, format: 'raw' }) : undefined,
    });
  }

  private async build(spec: ServerSpec, rec: StepRecorder, freshDisk: boolean): Promise<string> {
    const { images, overlays, seeds, network } = this.parts;
    // Validate everything that will reach a file, a program or the XML before touching the host.
    const seedFiles = buildSeedFiles(spec, macAddress(spec.serverId));
    await this.ensureConsoleDirs();
    bootFromNodeKernel(spec.image, this.config.directKernel);
    const [disk, seed, tap] = await Promise.all([
      rec
        .step('image', () => images.ensure(spec.image), { progress: 10 })
        .then((base) =>
          rec.step('disk', () => (freshDisk ? overlays.create : overlays.ensure).call(overlays, spec.serverId, base, spec.image.format, spec.diskGiB), { progress: 30 }),
        ),
      rec.step('seed', () => seeds.write(spec.serverId, seedFiles), { progress: 20 }),
      rec.step('network', () => network.ensure(spec.serverId, spec.addresses), { progress: 40 }),
    ]);
    const iso = (await this.loadRecord(spec.serverId))?.iso ?? null;
    await this.saveRecord({ serverId: spec.serverId, addresses: spec.addresses, netMbit: spec.netMbit, iso });
    return this.domainXml(spec, disk, seed, tap, iso);
  }

  prepare(spec: ServerSpec, rec: StepRecorder): Promise<string> {
    return this.build(spec, rec, false);
  }

  rebuild(spec: ServerSpec, rec: StepRecorder): Promise<string> {
    return this.build(spec, rec, true);
  }

  /** Domain is off: grow the disk, keep seed and tap, new limits in the XML and the record. */
  async resize(spec: ServerSpec, rec: StepRecorder): Promise<string> {
    const { overlays, seeds, network } = this.parts;
    const disk = await rec.step('disk', () => overlays.grow(spec.serverId, spec.diskGiB), { progress: 40 });
    const iso = (await this.loadRecord(spec.serverId))?.iso ?? null;
    await this.saveRecord({ serverId: spec.serverId, addresses: spec.addresses, netMbit: spec.netMbit, iso });
    const tap = await rec.step('network', () => network.ensure(spec.serverId, spec.addresses), { progress: 50 });
    return this.domainXml(spec, disk, seeds.pathOf(spec.serverId), tap, iso);
  }

  async setIso(spec: ServerSpec, iso: IsoRef | null, rec: StepRecorder): Promise<string> {
    const { overlays, seeds, network, isos } = this.parts;
    if (iso) await rec.step('iso', () => isos.ensure({ url: iso.url, sha256: iso.sha256, format: 'raw' }), { progress: 20 });
    const attached = iso ? { id: iso.id, sha256: iso.sha256 } : null;
    await this.saveRecord({ serverId: spec.serverId, addresses: spec.addresses, netMbit: spec.netMbit, iso: attached });
    const tap = await rec.step('network', () => network.ensure(spec.serverId, spec.addresses), { progress: 30 });
    return this.domainXml(spec, overlays.pathOf(spec.serverId), seeds.pathOf(spec.serverId), tap, attached);
  }

  async setRescue(spec: ServerSpec, on: boolean, rec: StepRecorder): Promise<string> {
    const { overlays, seeds, network } = this.parts;
    const rescueImage = this.config.rescueImage;
    if (on && (!rescueImage || !this.config.directKernel)) {
      throw new CommandFailure(FailureCode.NotSupported, 'this node has no rescue system (OBLAKO_RESCUE_IMAGE and OBLAKO_DIRECT_KERNEL)');
    }
    const iso = (await this.loadRecord(spec.serverId))?.iso ?? null;
    const tap = await rec.step('network', () => network.ensure(spec.serverId, spec.addresses), { progress: 30 });
    if (!on) {
      await rec.step('rescue-disk', () => overlays.removeRescue(spec.serverId), { progress: 50 });
      return this.domainXml(spec, overlays.pathOf(spec.serverId), seeds.pathOf(spec.serverId), tap, iso);
    }
    const rescue = await rec.step('rescue-disk', () => overlays.createRescue(spec.serverId, rescueImage!), { progress: 50 });
    return this.domainXml(spec, overlays.pathOf(spec.serverId), seeds.pathOf(spec.serverId), tap, iso, rescue);
  }

  /** Sockets only root may open (QEMU runs as root here; the daemon connects as root). */
  private async ensureConsoleDirs(): Promise<void> {
    await mkdir(this.parts.consoles.socketDir, { recursive: true, mode: 0o700 });
    await mkdir(this.parts.consoles.logDir, { recursive: true, mode: 0o700 });
  }

  async beforeStart(serverId: string, rec: StepRecorder): Promise<void> {
    const { network } = this.parts;
    await this.ensureConsoleDirs(); // /run is emptied by a host reboot
    const record = await this.loadRecord(serverId);
    if (!record) return; // nothing recorded: a domain this node did not provision (or already cleaned)
    await rec.step('network', () => network.ensure(serverId, record.addresses));
  }

  async afterStart(serverId: string, rec: StepRecorder): Promise<void> {
    const shaper = this.parts.shaper;
    if (!shaper) return;
    const record = await this.loadRecord(serverId);
    if (!record) return;
    await rec.step('shaping', () => shaper.apply(serverId, record.netMbit ?? 0));
  }

  async diskBytes(serverId: string): Promise<number> {
    return this.parts.overlays.allocatedBytes(serverId);
  }

  async setRate(serverId: string, mbit: number, running: boolean, rec: StepRecorder): Promise<void> {
    const record = await this.loadRecord(serverId);
    if (record) await this.saveRecord({ ...record, netMbit: mbit });
    const shaper = this.parts.shaper;
    // with libvirt's <bandwidth> (no tc shaper) the new rate takes effect when the domain is next defined
    if (running && shaper) await rec.step('shaping', () => shaper.apply(serverId, mbit), { progress: 60 });
  }

  async cleanup(serverId: string, _addresses: readonly Address[], rec: StepRecorder): Promise<void> {
    const { overlays, seeds, network } = this.parts;
    const consoles = consoleFiles(this.parts.consoles, serverId);
    await rec.step('cleanup', async () => {
      await Promise.all([
        network.remove(serverId),
        overlays.remove(serverId),
        seeds.remove(serverId),
        this.parts.shaper?.clear(serverId) ?? Promise.resolve(),
      ]);
      await rm(this.recordPath(serverId), { force: true });
      // the serial log and its rotated copies (virtlogd keeps .0 ... .N beside it)
      const logs = await readdir(this.parts.consoles.logDir).catch(() => [] as string[]);
      const base = basename(consoles.serialLog);
      await Promise.all([consoles.vncSocket, consoles.serialSocket, ...logs.filter((f) => f.startsWith(base)).map((f) => join(this.parts.consoles.logDir, f))].map((f) => rm(f, { force: true })));
    });
  }

  private recordPath(serverId: string): string {
    return join(this.parts.recordsDir, `${assertServerId(serverId)}.json`);
  }

  private async saveRecord(r: ServerRecord): Promise<void> {
    await mkdir(this.parts.recordsDir, { recursive: true });
    const path = this.recordPath(r.serverId);
    const tmp = `${path}.tmp`;
    await writeFile(tmp, JSON.stringify(r));
    await rename(tmp, path);
  }

  async loadRecord(serverId: string): Promise<ServerRecord | null> {
    try {
      return JSON.parse(await readFile(this.recordPath(serverId), 'utf8')) as ServerRecord;
    } catch {
      return null;
    }
  }
}

export async function createFullProvisioner(config: DaemonConfig, log: Logger, hv: HypervisorPort, exec: Exec = execProgram): Promise<ServerProvisioner> {
  if (config.hostChecks) {
    const problems = await checkHost(config, hv, exec);
    if (problems.length) throw new HostCheckError(problems);
    log.info('host checks passed', { netns: config.netns, dataDir: config.dataDir });
  }
  const bandwidth = config.bandwidth === 'auto' ? ((await kernelSupportsLibvirtBandwidth()) ? 'libvirt' : 'tc') : config.bandwidth;
  log.info(`network rates enforced by ${bandwidth === 'tc' ? 'tc (htb on tap + ifb, after start)' : "libvirt's <bandwidth>"}`);
  return new FullProvisioner(config, fullProvisionerParts(config, exec, bandwidth));
}
