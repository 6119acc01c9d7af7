import { createHash } from 'node:crypto';
import { DOMAIN_METADATA_NS } from '@oblako/contracts';
import type { DomainType } from '../config.js';
import { domainName, assertServerId } from '../naming.js';
import { el, renderXml, XmlError, type XmlChild } from './builder.js';

/** The virtio-serial port name qemu-guest-agent opens in the guest. */
export const GUEST_AGENT_CHANNEL = 'org.qemu.guest_agent.0';

/** cgroup CPU period libvirt gets; quota = period × cpuQuotaPercent / 100 per vCPU. */
export const CPU_PERIOD_US = 100_000;

export interface DomainDisk {
  path: string;
  format: 'qcow2' | 'raw';
  /** 0 = unlimited. */
  totalIopsSec: number;
  /** 0 = unlimited. */
  totalBytesSec: number;
}

export interface DirectKernelBoot {
  kernel: string;
  initrd?: string;
  cmdline?: string;
}

export interface DomainXmlInput {
  type: DomainType;
  serverId: string;
  hostname: string;
  vcpus: number;
  memoryMiB: number;
  /** Percent of one host core each vCPU may use (1-100). */
  cpuQuotaPercent?: number;
  cpuShares?: number;
  disk?: DomainDisk;
  /** NoCloud seed image (ISO 9660, label "cidata"), attached read-only as a second virtio disk. */
  seedPath?: string;
  tap?: string;
  /** 0 or absent = unlimited. */
  netMbit?: number;
  directKernel?: DirectKernelBoot;
  /**
   * VNC and the serial console on local UNIX sockets (no TCP port, no password to hand out), the
   * serial output also logged to a file (virtlogd caps and rotates it). Absent: no consoles.
   */
  consoles?: DomainConsoles;
  /** An ISO as a read-only IDE CD-ROM (`hdc`), first in the boot order: the guest boots it instead of its disk (or direct kernel). */
  cdromPath?: string;
  /**
   * Rescue: this disk (the rescue system's throwaway overlay) is the first disk (`vda`) and the server's own disk
   * moves to `vdc` (after the seed on `vdb`), with its limits; boot from `directKernel`, never from a CD-ROM.
   */
  rescueDiskPath?: string;
  /** The virtio-serial channel qemu-guest-agent talks on (org.qemu.guest_agent.0); default: with consoles. */
  guestAgent?: boolean;
}

export interface DomainConsoles {
  vncSocket: string;
  serialSocket: string;
  serialLog: string;
}

const SAFE_PATH = /^\/[A-Za-z0-9._/+-]*$/;
const TAP = /^[A-Za-z0-9_-]{1,15}$/;

function int(v: number, what: string, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max) throw new XmlError(`${what} must be a whole number between ${min} and ${max}, not ${v}`);
  return v;
}

/** Absolute path of plain characters, no "..": safe to put in XML and hand to QEMU. */
export function safePath(p: string, what: string): string {
  if (!SAFE_PATH.test(p) || p.split('/').some((s) => s === '..' || s === '.') || p.includes('//')) {
    throw new XmlError(`${what} "${p.slice(0, 200)}" must be an absolute path of letters, digits, ".", "_", "+", "-" and "/" without ".."`);
  }
  return p;
}

/** A UNIX socket's path must fit sun_path (108 bytes with its NUL); keep a margin for QEMU. */
export const MAX_SOCKET_PATH = 100;

function socketPath(p: string, what: string): string {
  safePath(p, what);
  if (Buffer.byteLength(p) > MAX_SOCKET_PATH) throw new XmlError(`${what} "${p}" is longer than ${MAX_SOCKET_PATH} bytes (a UNIX socket path must fit in 108); use a shorter OBLAKO_CONSOLE_DIR`);
  return p;
}

/** Locally administered MAC in QEMU's 52:54:00 range, deterministic from the server id. */
export function macAddress(serverId: string): string {
  const h = createHash('sha256').update('mac:' + assertServerId(serverId)).digest();
  return ['52', '54', '00', h[0]!, h[1]!, h[2]!].map((b) => (typeof b === 'number' ? b.toString(16).padStart(2, '0') : b)).join(':');
}

/** libvirt `<bandwidth>` average is in kilobytes per second: Mbit/s × 1000 / 8. */
export function mbitToKBps(mbit: number): number {
  return Math.round((mbit * 1000) / 8);
}

export function cpuQuotaUs(percent: number): number {
  return Math.round((CPU_PERIOD_US * int(percent, 'cpuQuotaPercent', 1, 100)) / 100);
}

/**
 * The libvirt domain XML of one server. Every value is checked (numbers in range, paths and tap
 * names of plain characters) and every string escaped by the builder.
 */
export function buildDomainXml(input: DomainXmlInput): string {
  const name = domainName(input.serverId);
  const vcpus = int(input.vcpus, 'vcpus', 1, 256);
  const memoryMiB = int(input.memoryMiB, 'memoryMiB', 16, 4 * 1024 * 1024);
  if (!['kvm', 'qemu', 'test'].includes(input.type)) throw new XmlError(`domain type "${input.type}" must be kvm, qemu or test`);

  const cputune: XmlChild =
    input.cpuQuotaPercent !== undefined || input.cpuShares !== undefined
      ? el(
          'cputune',
          {},
          input.cpuShares !== undefined ? el('shares', {}, int(input.cpuShares, 'cpuShares', 2, 262144)) : null,
          input.cpuQuotaPercent !== undefined ? el('period', {}, CPU_PERIOD_US) : null,
          input.cpuQuotaPercent !== undefined ? el('quota', {}, cpuQuotaUs(input.cpuQuotaPercent)) : null,
        )
      : null;

  if (input.rescueDiskPath && !input.directKernel) throw new XmlError('a rescue boot needs the direct kernel of the rescue system');
  const cdromPath = input.rescueDiskPath ? undefined : input.cdromPath;
  const os = cdromPath
    ? el('os', {}, el('type', { arch: 'x86_64' }, 'hvm'), el('boot', { dev: 'cdrom' }), el('boot', { dev: 'hd' }))
    : input.directKernel
    ? el(
        'os',
        {},
        el('type', { arch: 'x86_64' }, 'hvm'),
        el('kernel', {}, safePath(input.directKernel.kernel, 'kernel')),
        input.directKernel.initrd ? el('initrd', {}, safePath(input.directKernel.initrd, 'initrd')) : null,
        input.directKernel.cmdline ? el('cmdline', {}, input.directKernel.cmdline) : null,
      )
    : el('os', {}, el('type', { arch: 'x86_64' }, 'hvm'), el('boot', { dev: 'hd' }));

  const disk = input.disk
    ? el(
        'disk',
        { type: 'file', device: 'disk' },
        el('driver', { name: 'qemu', type: input.disk.format === 'raw' ? 'raw' : 'qcow2' }),
        el('source', { file: safePath(input.disk.path, 'disk path') }),
        el('target', { dev: input.rescueDiskPath ? 'vdc' : 'vda', bus: 'virtio' }),
        input.disk.totalIopsSec > 0 || input.disk.totalBytesSec > 0
          ? el(
              'iotune',
              {},
              input.disk.totalIopsSec > 0 ? el('total_iops_sec', {}, int(input.disk.totalIopsSec, 'disk IOPS', 1, 1e9)) : null,
              input.disk.totalBytesSec > 0 ? el('total_bytes_sec', {}, int(input.disk.totalBytesSec, 'disk bytes/s', 1, 1e13)) : null,
            )
          : null,
      )
    : null;

  const seed = input.seedPath
    ? el(
        'disk',
        { type: 'file', device: 'disk' },
        el('driver', { name: 'qemu', type: 'raw' }),
        el('source', { file: safePath(input.seedPath, 'seed path') }),
        el('target', { dev: 'vdb', bus: 'virtio' }),
        el('readonly'),
      )
    : null;

  const rescue = input.rescueDiskPath
    ? el(
        'disk',
        { type: 'file', device: 'disk' },
        el('driver', { name: 'qemu', type: 'qcow2' }),
        el('source', { file: safePath(input.rescueDiskPath, 'rescue disk path') }),
        el('target', { dev: 'vda', bus: 'virtio' }),
      )
    : null;

  const cdrom = cdromPath
    ? el(
        'disk',
        { type: 'file', device: 'cdrom' },
        el('driver', { name: 'qemu', type: 'raw' }),
        el('source', { file: safePath(cdromPath, 'ISO path') }),
        el('target', { dev: 'hdc', bus: 'ide' }),
        el('readonly'),
      )
    : null;

  let iface: XmlChild = null;
  if (input.tap !== undefined) {
    if (!TAP.test(input.tap)) throw new XmlError(`tap name "${input.tap}" must be 1-15 letters, digits, "-" or "_"`);
    const mbit = input.netMbit ?? 0;
    const kbps = mbit > 0 ? mbitToKBps(int(mbit, 'netMbit', 1, 10_000_000)) : 0;
    iface = el(
      'interface',
      { type: 'ethernet' },
      el('mac', { address: macAddress(input.serverId) }),
      el('target', { dev: input.tap, managed: 'no' }),
      el('model', { type: 'virtio' }),
      kbps > 0 ? el('bandwidth', {}, el('inbound', { average: kbps }), el('outbound', { average: kbps })) : null,
    );
  }

  const c = input.consoles;
  const serialSource = c ? el('source', { mode: 'bind', path: socketPath(c.serialSocket, 'serial socket') }) : null;
  const devices = el(
    'devices',
    {},
    rescue,
    disk,
    seed,
    cdrom,
    iface,
    c ? el('serial', { type: 'unix' }, serialSource, el('log', { file: safePath(c.serialLog, 'serial log'), append: 'on' }), el('target', { port: 0 })) : null,
    c ? el('console', { type: 'unix' }, serialSource, el('target', { type: 'serial', port: 0 })) : null,
    c ? el('graphics', { type: 'vnc' }, el('listen', { type: 'socket', socket: socketPath(c.vncSocket, 'VNC socket') })) : null,
    c ? el('video', {}, el('model', { type: 'vga', vram: 16384, heads: 1 })) : null,
    // libvirt picks the socket path (…/channel/target/domain-…/org.qemu.guest_agent.0) and adds the virtio-serial controller
    (input.guestAgent ?? !!c) ? el('channel', { type: 'unix' }, el('target', { type: 'virtio', name: GUEST_AGENT_CHANNEL })) : null,
  );

  return renderXml(
    el(
      'domain',
      { type: input.type },
      el('name', {}, name),
      el('uuid', {}, input.serverId),
      el('title', {}, input.hostname),
      // Oblako's mark: with the name and the UUID, what the daemon checks before it ever destroys an orphan
      el('metadata', {}, el('oblako:server', { 'xmlns:oblako': DOMAIN_METADATA_NS, id: input.serverId })),
      el('memory', { unit: 'MiB' }, memoryMiB),
      el('currentMemory', { unit: 'MiB' }, memoryMiB),
      el('vcpu', { placement: 'static' }, vcpus),
      cputune,
      os,
      input.type === 'test' ? null : el('features', {}, el('acpi'), el('apic')),
      input.type === 'test' ? null : el('clock', { offset: 'utc' }),
      el('on_poweroff', {}, 'destroy'),
      el('on_reboot', {}, 'restart'),
      el('on_crash', {}, 'destroy'),
      devices,
    ),
  );
}
