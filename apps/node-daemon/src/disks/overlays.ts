import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Exec } from '../host/exec.js';
import { assertServerId } from '../naming.js';

export class DiskError extends Error {
  override name = 'DiskError';
}

const GiB = 1024 ** 3;

/**
 * Server disks: a qcow2 overlay on the cached base (no copy) with the plan's virtual size, at
 * `<dir>/<serverId>.qcow2`. `qemu-img create -f qcow2 -b BASE -F FMT FILE SIZE` creates and sizes
 * it in one call (the "resize" is the size argument).
 */
export class Overlays {
  private readonly baseSizes = new Map<string, number>();

  constructor(
    readonly dir: string,
    private readonly exec: Exec,
  ) {}

  pathOf(serverId: string): string {
    return join(this.dir, `${assertServerId(serverId)}.qcow2`);
  }

  /** Virtual size in bytes of a base image (cached: bases are immutable, named by checksum). */
  async virtualSize(path: string, format: 'qcow2' | 'raw'): Promise<number> {
    const known = this.baseSizes.get(path);
    if (known !== undefined) return known;
    const { stdout } = await this.exec('qemu-img', ['info', '--output=json', '-f', format, path]);
    const size = (JSON.parse(stdout) as { 'virtual-size'?: number })['virtual-size'];
    if (typeof size !== 'number') throw new DiskError(`qemu-img info gave no virtual size for ${path}`);
    this.baseSizes.set(path, size);
    return size;
  }

  /** Create the overlay unless it exists (a redelivered create keeps the disk it made). */
  async ensure(serverId: string, base: string, baseFormat: 'qcow2' | 'raw', sizeGiB: number): Promise<string> {
    const path = this.pathOf(serverId);
    if (await stat(path).then((s) => s.isFile(), () => false)) return path;
    return this.create(serverId, base, baseFormat, sizeGiB);
  }

  /** Create a fresh overlay, atomically replacing any old one (rebuild). */
  async create(serverId: string, base: string, baseFormat: 'qcow2' | 'raw', sizeGiB: number): Promise<string> {
    if (!Number.isInteger(sizeGiB) || sizeGiB < 1 || sizeGiB > 65536) throw new DiskError(`disk size ${sizeGiB} GiB must be a whole number from 1 to 65536`);
    const path = this.pathOf(serverId);
    const baseSize = await this.virtualSize(base, baseFormat);
    const size = sizeGiB * GiB;
    if (size < baseSize) throw new DiskError(`the plan's disk (${sizeGiB} GiB) is smaller than the image (${(baseSize / GiB).toFixed(2)} GiB)`);
    await mkdir(this.dir, { recursive: true });
    const tmp = join(this.dir, `.new-${randomBytes(6).toString('hex')}.qcow2`);
    try {
      await this.exec('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', base, '-F', baseFormat, tmp, String(size)]);
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    return path;
  }

  /** Grow the server's disk to sizeGiB (the guest grows its filesystem); shrinking is refused. */
  async grow(serverId: string, sizeGiB: number): Promise<string> {
    if (!Number.isInteger(sizeGiB) || sizeGiB < 1 || sizeGiB > 65536) throw new DiskError(`disk size ${sizeGiB} GiB must be a whole number from 1 to 65536`);
    const path = this.pathOf(serverId);
    const { stdout } = await this.exec('qemu-img', ['info', '--output=json', '-f', 'qcow2', path]);
    const current = (JSON.parse(stdout) as { 'virtual-size'?: number })['virtual-size'] ?? 0;
    const size = sizeGiB * GiB;
    if (size < current) throw new DiskError(`the disk is ${(current / GiB).toFixed(2)} GiB; shrinking it to ${sizeGiB} GiB is not supported`);
    if (size > current) await this.exec('qemu-img', ['resize', '-q', '-f', 'qcow2', path, String(size)]);
    return path;
  }

  /** Bytes the overlay takes on the host's disk (allocated blocks), 0 when it does not exist. */
  async allocatedBytes(serverId: string): Promise<number> {
    return stat(this.pathOf(serverId)).then((s) => s.blocks * 512, () => 0);
  }

  /** The rescue system's throwaway disk of a server in rescue: `<dir>/<serverId>.rescue.qcow2`. */
  rescuePathOf(serverId: string): string {
    return join(this.dir, `${assertServerId(serverId)}.rescue.qcow2`);
  }

  /** A fresh overlay on the rescue image (each rescue starts from a clean rescue system). */
  async createRescue(serverId: string, base: string): Promise<string> {
    await mkdir(this.dir, { recursive: true });
    const path = this.rescuePathOf(serverId);
    const tmp = join(this.dir, `.new-${randomBytes(6).toString('hex')}.qcow2`);
    try {
      await this.exec('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', base, '-F', 'qcow2', tmp]);
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    return path;
  }

  async removeRescue(serverId: string): Promise<void> {
    await rm(this.rescuePathOf(serverId), { force: true });
  }

  async remove(serverId: string): Promise<void> {
    await rm(this.rescuePathOf(serverId), { force: true });
    await rm(this.pathOf(serverId), { force: true });
  }
}
