import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DomainState, type BackupKind, type BackupRef, type BackupStoreRef } from '@oblako/contracts';
import { CommandFailure } from '../commands/handlers/handler.js';
import type { StepRecorder } from '../commands/recorder.js';
import type { Exec } from '../host/exec.js';
import { assertServerId, domainName } from '../naming.js';
import { BackupFailureCode, SshStore } from './ssh-store.js';

/** What a backup made: the file's size and SHA-256, and whether it is full or incremental (against `parentBackupId`). */
export interface BackupMade {
  bytes: number;
  sha256: string;
  durationMs: number;
  virtualBytes: number;
  kind: BackupKind;
  parentBackupId: string | null;
  /** Why a requested incremental became a full backup (absent when none was asked for or it was made). */
  fullBecause?: string;
}

/** The libvirt checkpoint that marks a backup's point in time on its server's disk (a persistent qcow2 dirty bitmap). */
export const checkpointName = (backupId: string): string => `oblako-${assertServerId(backupId)}`;

/** The node's backup work (issue 12): push-mode backups staged on the node, copied to SFTP/SSH stores with the node's key. */
export interface BackupEngine {
  /** The node's SSH public key (one OpenSSH line) for the stores' authorized_keys. */
  readonly publicKey: string;
  /**
   * A backup of the server's disk to the store: incremental against `incrementalOf`'s checkpoint when the guest runs
   * and that checkpoint is sound on this node, else full. Answers what it made.
   */
  backup(store: BackupStoreRef, backup: BackupRef, domain: DomainState, rec: StepRecorder, incrementalOf?: string): Promise<BackupMade>;
  /**
   * Remove every backup checkpoint of the server (libvirt's metadata and the qcow2 bitmaps): before its disk is
   * reverted or replaced, which the bitmaps would no longer describe (and QEMU refuses to load a snapshot of a disk
   * with active bitmaps). The next backup is full.
   */
  forgetCheckpoints(serverId: string, domain: DomainState, rec: StepRecorder): Promise<void>;
  /**
   * Fetch a backup into the node's staging folder and check its SHA-256 (and each of its chain's: an incremental's
   * `parents` are fetched, checked and flattened with it into one qcow2); answers the staged file (the caller removes it).
   */
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

  async backup(store: BackupStoreRef, backup: BackupRef, domain: DomainState, rec: StepRecorder, incrementalOf?: string): Promise<BackupMade> {
    const started = Date.now();
    await mkdir(this.staging, { recursive: true, mode: 0o700 });
    const staged = join(this.staging, `${assertServerId(backup.id)}.qcow2`);
    const xml = join(this.staging, `${backup.id}.xml`);
    const cpXml = join(this.staging, `${backup.id}.checkpoint.xml`);
    const live = domain === DomainState.Running || domain === DomainState.Paused;
    const name = domainName(backup.serverId);
    const mine = checkpointName(backup.id);
    let made: { kind: BackupKind; parentBackupId: string | null; fullBecause?: string } = { kind: 'full', parentBackupId: null };
    let done = false;
    try {
      await rm(staged, { force: true });
      await rec.step('staging_space', () => this.checkStagingSpace(backup.serverId), { progress: 5 });
      if (live) {
        const held = await this.checkpoints(name);
        const wanted = incrementalOf ? checkpointName(incrementalOf) : null;
        if (wanted && held.includes(wanted)) {
          try {
            await rec.step('backup_job_incremental', () => this.pushJob(backup.serverId, staged, xml, cpXml, mine, wanted, rec), { hypervisor: true, progress: 10 });
            made = { kind: 'incremental', parentBackupId: incrementalOf! };
          } catch (err) {
            // a bitmap QEMU could not keep (its QEMU was killed: "checkpoint inconsistent: missing or broken bitmap")
            // makes the chain unusable: a new full chain; any other failure is the backup's
            const msg = (err as Error).message;
            if (!/checkpoint|bitmap/i.test(msg)) throw err;
            made = { kind: 'full', parentBackupId: null, fullBecause: `the incremental against backup ${incrementalOf} was refused: ${msg.replace(/\s+/g, ' ').slice(0, 300)}` };
            await rm(staged, { force: true });
          }
        } else if (wanted) {
          made.fullBecause = `this node holds no checkpoint of backup ${incrementalOf} (the disk was replaced, reverted or moved, or the checkpoint was removed)`;
        }
        if (made.kind === 'full') {
          // a new chain: what the earlier checkpoints marked is of no use any more, and each one costs every write
          for (const cp of await this.checkpoints(name)) await this.deleteCheckpoint(name, cp, true);
          await rec.step('backup_job', () => this.pushJob(backup.serverId, staged, xml, cpXml, mine, null, rec), { hypervisor: true, progress: 10 });
        }
      } else {
        if (incrementalOf) made.fullBecause = 'the server is stopped: its disk is copied whole with qemu-img, without a checkpoint';
        await rec.step('backup_convert', () => this.o.exec('qemu-img', ['convert', '-O', 'qcow2', this.o.diskPath(backup.serverId), staged], { timeoutMs: 6 * 3600_000 }), { progress: 10 });
        await this.forgetCheckpoints(backup.serverId, domain, rec);
      }
      const virtualBytes = await this.virtualSize(staged);
      const up = await rec.step('backup_upload', () => this.store.upload(store, backup, staged, () => rec.keepAlive()), { progress: 50 });
      done = true;
      // only this backup's checkpoint is needed for the next incremental; older ones would each cost every write
      // (a failure here leaves the backup good: the next full chain removes what is left)
      if (live) for (const cp of await this.checkpoints(name).catch(() => [] as string[])) if (cp !== mine) await this.deleteCheckpoint(name, cp, true).catch(() => undefined);
      return { ...up, virtualBytes, durationMs: Date.now() - started, ...made };
    } finally {
      // a backup that did not reach the store leaves no checkpoint: deleting the newest one merges its bitmap into its
      // parent's, so an incremental against the parent still sees every change
      if (live && !done) {
        const held = await this.checkpoints(name).catch(() => [] as string[]);
        if (held.includes(mine)) await this.deleteCheckpoint(name, mine, true).catch(() => undefined);
      }
      await rm(staged, { force: true });
      await rm(xml, { force: true });
      await rm(cpXml, { force: true });
    }
  }

  async forgetCheckpoints(serverId: string, domain: DomainState, rec: StepRecorder): Promise<void> {
    const name = domainName(serverId);
    const live = domain === DomainState.Running || domain === DomainState.Paused;
    await rec.step('checkpoints_forget', async () => {
      for (const cp of await this.checkpoints(name)) await this.deleteCheckpoint(name, cp, live);
      if (live) return;
      // libvirt 9.0 deletes no checkpoint of a domain that is off: its metadata went above, its bitmaps go here
      const disk = this.o.diskPath(serverId);
      if (!(await stat(disk).then((st) => st.isFile(), () => false))) return;
      for (const bitmap of await this.bitmaps(disk)) {
        if (bitmap.startsWith('oblako-')) await this.o.exec('qemu-img', ['bitmap', '--remove', '-f', 'qcow2', disk, bitmap], { timeoutMs: 120_000 });
      }
    });
  }

  /** The backup checkpoints libvirt holds for the domain (ours only: `oblako-<backup id>`). */
  private async checkpoints(name: string): Promise<string[]> {
    let stdout: string;
    try {
      ({ stdout } = await this.virsh(['checkpoint-list', name, '--name']));
    } catch (err) {
      // a driver without checkpoints (libvirt's test driver) or a domain not defined (yet) holds none
      if (/not supported|no domain with matching|domain not found|failed to get domain/i.test((err as Error).message)) return [];
      throw err;
    }
    return stdout.split('\n').map((l) => l.trim()).filter((l) => /^oblako-[0-9a-f-]{36}$/.test(l));
  }

  /** Delete a checkpoint (its bitmap too when the domain runs); one libvirt cannot delete (a missing bitmap) goes from the metadata. */
  private async deleteCheckpoint(name: string, checkpoint: string, live: boolean): Promise<void> {
    if (live) {
      try {
        await this.virsh(['checkpoint-delete', name, checkpoint]);
        return;
      } catch {
        // fall through: forget the metadata at least, so the chain restarts
      }
    }
    await this.virsh(['checkpoint-delete', name, checkpoint, '--metadata']);
  }

  /** The persistent dirty bitmaps in a qcow2 file (the domain is off). */
  private async bitmaps(path: string): Promise<string[]> {
    const { stdout } = await this.o.exec('qemu-img', ['info', '--output=json', '-f', 'qcow2', path], { timeoutMs: 60_000 });
    const info = JSON.parse(stdout) as { 'format-specific'?: { data?: { bitmaps?: { name: string }[] } } };
    return (info['format-specific']?.data?.bitmaps ?? []).map((b) => b.name);
  }

  private virsh(args: string[], timeoutMs = 60_000) {
    return this.o.exec('virsh', ['-q', '-c', this.o.libvirtUri, ...args], { timeoutMs });
  }

  async fetch(store: BackupStoreRef, backup: BackupRef & { sha256: string }, rec: StepRecorder): Promise<string> {
    await mkdir(this.staging, { recursive: true, mode: 0o700 });
    const staged = join(this.staging, `${assertServerId(backup.id)}.restore.qcow2`);
    const chain = [...(backup.parents ?? []), { id: backup.id, serverId: backup.serverId, sha256: backup.sha256 }];
    const pieces = chain.length > 1 ? chain.map((_, i) => join(this.staging, `${backup.id}.restore.${i}.qcow2`)) : [staged];
    try {
      for (let i = 0; i < chain.length; i++) {
        await rec.step(chain.length > 1 ? `restore_download_${i}` : 'restore_download', () => this.store.download(store, chain[i]!, pieces[i]!), { progress: 20 });
      }
      if (chain.length > 1) {
        // each incremental holds only the clusters changed since its parent: put it on its parent, then flatten the chain
        await rec.step('restore_assemble', async () => {
          for (let i = 1; i < pieces.length; i++) {
            await this.o.exec('qemu-img', ['rebase', '-u', '-f', 'qcow2', '-b', pieces[i - 1]!, '-F', 'qcow2', pieces[i]!], { timeoutMs: 120_000 });
          }
          await this.o.exec('qemu-img', ['convert', '-O', 'qcow2', '-f', 'qcow2', pieces[pieces.length - 1]!, staged], { timeoutMs: 6 * 3600_000 });
        }, { progress: 40 });
      }
      await rec.step('restore_check', () => this.o.exec('qemu-img', ['check', '-q', staged], { timeoutMs: 600_000 }), { progress: 50 });
      return staged;
    } catch (err) {
      await rm(staged, { force: true });
      throw err;
    } finally {
      if (chain.length > 1) for (const p of pieces) await rm(p, { force: true });
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

  /**
   * backup-begin (push) with a new checkpoint `checkpoint`, and wait for the job to end; with `incremental` (a checkpoint
   * of an earlier backup) only the clusters changed since it are written. A job that ends in anything but Completed
   * fails the backup. The incremental's target names the live disk as its backing file: that name is dropped (the
   * store's file must not point at a path on this node; a restore puts it on its parent).
   */
  private async pushJob(serverId: string, target: string, xmlPath: string, cpXmlPath: string, checkpoint: string, incremental: string | null, rec: StepRecorder): Promise<void> {
    const name = domainName(serverId);
    await writeFile(xmlPath, `<domainbackup mode='push'>${incremental ? `<incremental>${incremental}</incremental>` : ''}<disks><disk name='vda' backup='yes' type='file'><target file='${target}'/><driver type='qcow2'/></disk></disks></domainbackup>`);
    await writeFile(cpXmlPath, `<domaincheckpoint><name>${checkpoint}</name><disks><disk name='vda' checkpoint='bitmap'/></disks></domaincheckpoint>`);
    await this.virsh(['backup-begin', name, xmlPath, cpXmlPath]);
    for (;;) {
      await new Promise((r) => setTimeout(r, this.o.pollMs ?? 250));
      rec.keepAlive();
      const info = (await this.virsh(['domjobinfo', name])).stdout;
      if (/Job type:\s+None/.test(info)) break;
    }
    const done = (await this.virsh(['domjobinfo', name, '--completed'])).stdout;
    if (!/Job type:\s+Completed/.test(done)) {
      throw new CommandFailure(BackupFailureCode.BackupFailed, `the backup job of ${name} did not complete: ${done.replace(/\s+/g, ' ').trim().slice(0, 300)}`);
    }
    if (incremental) await this.o.exec('qemu-img', ['rebase', '-u', '-f', 'qcow2', '-b', '', target], { timeoutMs: 120_000 });
  }
}
