import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DomainState, type BackupRef, type BackupStoreRef } from '@oblako/contracts';
import { CommandFailure } from '../commands/handlers/handler.js';
import type { StepRecorder } from '../commands/recorder.js';
import type { Exec } from '../host/exec.js';
import { assertServerId, domainName } from '../naming.js';
import { BackupFailureCode, SshStore } from './ssh-store.js';

/** The node's backup work (issue 12): push-mode backups staged on the node, copied to SFTP/SSH stores with the node's key. */
export interface BackupEngine {
  /** The node's SSH public key (one OpenSSH line) for the stores' authorized_keys. */
  readonly publicKey: string;
  /** A full backup of the server's disk to the store; answers the file's size, SHA-256 and the time it took. */
  backup(store: BackupStoreRef, backup: BackupRef, domain: DomainState, rec: StepRecorder): Promise<{ bytes: number; sha256: string; durationMs: number; virtualBytes: number }>;
  /** Fetch a backup into the node's staging folder and check its SHA-256; answers the staged file (the caller removes it). */
  fetch(store: BackupStoreRef, backup: BackupRef & { sha256: string }, rec: StepRecorder): Promise<string>;
  /** The domain is off: the staged file becomes the server's disk. */
  replaceDisk(serverId: string, staged: string, rec: StepRecorder): Promise<void>;
  /**
   * A new server made from a backup: fetch and check it, grow it to `diskGiB` (a backup of a bigger disk is refused)
   * and make it the server's disk. A disk already there (a redelivered create) is kept as it is.
   */
  newDiskFrom(store: BackupStoreRef, backup: BackupRef & { sha256: string }, serverId: string, diskGiB: number, rec: StepRecorder): Promise<void>;
  remove(store: BackupStoreRef, backup: BackupRef, rec: StepRecorder): Promise<void>;
}

/**
 * The node's own key pair for backup stores, made on first start: `<stateDir>/backup_ed25519` (0600, never sent)
 * and its `.pub`, which the heartbeat reports.
 */
export async function ensureBackupKey(exec: Exec, stateDir: string, nodeId: string): Promise<{ keyPath: string; publicKey: string }> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const keyPath = join(stateDir, 'backup_ed25519');
  if (!existsSync(keyPath) || !existsSync(`${keyPath}.pub`)) {
    await rm(keyPath, { force: true });
    await rm(`${keyPath}.pub`, { force: true });
    await exec('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `oblako-node-${nodeId}`, '-f', keyPath]);
  }
  await chmod(keyPath, 0o600);
  const publicKey = (await readFile(`${keyPath}.pub`, 'utf8')).trim();
  return { keyPath, publicKey };
}

export interface PushBackupEngineOptions {
  exec: Exec;
  libvirtUri: string;
  /** `<dataDir>/backups`: the key pair, known_hosts files and staged backups. */
  dir: string;
  /** The server's disk file on this node. */
  diskPath: (serverId: string) => string;
  keyPath: string;
  publicKey: string;
  /** Polling of the backup job (ms). */
  pollMs?: number;
  /** Free space of a folder's file system (tests give a small one). */
  statfs?: (path: string) => Promise<{ bavail: number | bigint; bsize: number | bigint }>;
}

/**
 * Push mode (DESIGN.md "Snapshots and backups"): `virsh backup-begin` writes a point-in-time qcow2 of the running
 * (or paused) guest's disk to the node's staging folder; a stopped server's disk is converted with `qemu-img`.
 * Then the file goes to the store over ssh (sha256 on the way, `<name>.tmp` renamed only when the store's own
 * checksum matches). The staged file is removed in any case.
 */
export class PushBackupEngine implements BackupEngine {
  readonly publicKey: string;
  private readonly store: SshStore;
  private readonly staging: string;

  constructor(private readonly o: PushBackupEngineOptions) {
    this.publicKey = o.publicKey;
    this.staging = join(o.dir, 'staging');
    this.store = new SshStore({ keyPath: o.keyPath, workDir: o.dir });
  }

  async backup(store: BackupStoreRef, backup: BackupRef, domain: DomainState, rec: StepRecorder): Promise<{ bytes: number; sha256: string; durationMs: number; virtualBytes: number }> {
    const started = Date.now();
    await mkdir(this.staging, { recursive: true, mode: 0o700 });
    const staged = join(this.staging, `${assertServerId(backup.id)}.qcow2`);
    const xml = join(this.staging, `${backup.id}.xml`);
    try {
      await rm(staged, { force: true });
      await rec.step('staging_space', () => this.checkStagingSpace(backup.serverId), { progress: 5 });
      if (domain === DomainState.Running || domain === DomainState.Paused) {
        await rec.step('backup_job', () => this.pushJob(backup.serverId, staged, xml, rec), { hypervisor: true, progress: 10 });
      } else {
        await rec.step('backup_convert', () => this.o.exec('qemu-img', ['convert', '-O', 'qcow2', this.o.diskPath(backup.serverId), staged], { timeoutMs: 6 * 3600_000 }), { progress: 10 });
      }
      const virtualBytes = await this.virtualSize(staged);
      const up = await rec.step('backup_upload', () => this.store.upload(store, backup, staged, () => rec.keepAlive()), { progress: 50 });
      return { ...up, virtualBytes, durationMs: Date.now() - started };
    } finally {
      await rm(staged, { force: true });
      await rm(xml, { force: true });
    }
  }

  async fetch(store: BackupStoreRef, backup: BackupRef & { sha256: string }, rec: StepRecorder): Promise<string> {
    await mkdir(this.staging, { recursive: true, mode: 0o700 });
    const staged = join(this.staging, `${assertServerId(backup.id)}.restore.qcow2`);
    try {
      await rec.step('restore_download', () => this.store.download(store, backup, staged), { progress: 20 });
      await rec.step('restore_check', () => this.o.exec('qemu-img', ['check', '-q', staged], { timeoutMs: 600_000 }), { progress: 50 });
      return staged;
    } catch (err) {
      await rm(staged, { force: true });
      throw err;
    }
  }

  async replaceDisk(serverId: string, staged: string, rec: StepRecorder): Promise<void> {
    const disk = this.o.diskPath(serverId);
    await rec.step('restore_replace', async () => {
      const mode = (await stat(disk).catch(() => null))?.mode ?? 0o600;
      await rename(staged, disk);
      await chmod(disk, mode & 0o777);
    }, { progress: 70 });
  }

  async newDiskFrom(store: BackupStoreRef, backup: BackupRef & { sha256: string }, serverId: string, diskGiB: number, rec: StepRecorder): Promise<void> {
    const disk = this.o.diskPath(serverId);
    if (await stat(disk).then((s) => s.isFile(), () => false)) return;
    const staged = await this.fetch(store, backup, rec);
    try {
      const size = diskGiB * 1024 ** 3;
      const virtual = await this.virtualSize(staged);
      if (virtual > size) {
        throw new CommandFailure(BackupFailureCode.BackupFailed, `the backup is of a ${(virtual / 1024 ** 3).toFixed(2)} GiB disk, larger than the new server's ${diskGiB} GiB; nothing was made`);
      }
      if (virtual < size) await rec.step('restore_grow', () => this.o.exec('qemu-img', ['resize', '-q', '-f', 'qcow2', staged, String(size)], { timeoutMs: 600_000 }), { progress: 55 });
      await mkdir(dirname(disk), { recursive: true });
      await rec.step('restore_place', () => rename(staged, disk), { progress: 60 });
    } finally {
      await rm(staged, { force: true });
    }
  }

  /**
   * Push mode stages the whole backup on the node: refuse (`staging_space`, with both numbers) before anything starts
   * when the staging folder's file system has less free than `qemu-img measure` says the flattened qcow2 needs.
   */
  private async checkStagingSpace(serverId: string): Promise<void> {
    const { stdout } = await this.o.exec('qemu-img', ['measure', '--output=json', '-U', '-O', 'qcow2', this.o.diskPath(serverId)], { timeoutMs: 120_000 });
    const needed = (JSON.parse(stdout) as { required?: number }).required;
    if (typeof needed !== 'number') throw new CommandFailure(BackupFailureCode.BackupFailed, `qemu-img measure gave no required size for server ${serverId}'s disk`);
    const fs = await (this.o.statfs ?? statfs)(this.staging);
    const free = Number(fs.bavail) * Number(fs.bsize);
    if (free < needed) {
      const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
      throw new CommandFailure(BackupFailureCode.StagingSpace, `the node has ${mib(free)} free in ${this.staging} and the backup needs ${mib(needed)} staged there first (push mode); free space on the node or ask staff to`);
    }
  }

  /** The virtual size (the disk as the guest sees it) of a qcow2 file. */
  private async virtualSize(path: string): Promise<number> {
    const { stdout } = await this.o.exec('qemu-img', ['info', '--output=json', '-f', 'qcow2', path], { timeoutMs: 60_000 });
    const size = (JSON.parse(stdout) as { 'virtual-size'?: number })['virtual-size'];
    if (typeof size !== 'number') throw new CommandFailure(BackupFailureCode.BackupFailed, `qemu-img info gave no virtual size for ${path}`);
    return size;
  }

  async remove(store: BackupStoreRef, backup: BackupRef, rec: StepRecorder): Promise<void> {
    await rec.step('backup_remove', () => this.store.remove(store, backup), { progress: 50 });
  }

  /** backup-begin (push) and wait for the job to end; a job that ends in anything but Completed fails the backup. */
  private async pushJob(serverId: string, target: string, xmlPath: string, rec: StepRecorder): Promise<void> {
    const name = domainName(serverId);
    await writeFile(xmlPath, `<domainbackup mode='push'><disks><disk name='vda' backup='yes' type='file'><target file='${target}'/><driver type='qcow2'/></disk></disks></domainbackup>`);
    const virsh = (args: string[], timeoutMs = 60_000) => this.o.exec('virsh', ['-q', '-c', this.o.libvirtUri, ...args], { timeoutMs });
    await virsh(['backup-begin', name, xmlPath]);
    for (;;) {
      await new Promise((r) => setTimeout(r, this.o.pollMs ?? 250));
      rec.keepAlive();
      const info = (await virsh(['domjobinfo', name])).stdout;
      if (/Job type:\s+None/.test(info)) break;
    }
    const done = (await virsh(['domjobinfo', name, '--completed'])).stdout;
    if (!/Job type:\s+Completed/.test(done)) {
      throw new CommandFailure(BackupFailureCode.BackupFailed, `the backup job of ${name} did not complete: ${done.replace(/\s+/g, ' ').trim().slice(0, 300)}`);
    }
  }
}
