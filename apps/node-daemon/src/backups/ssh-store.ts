import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { backupFilePath, type BackupRef, type BackupStoreRef } from '@oblako/contracts';
import { CommandFailure } from '../commands/handlers/handler.js';

export const BackupFailureCode = {
  /** The store could not be reached or refused the login (down, wrong host key, key not authorised). */
  StoreUnreachable: 'store_unreachable',
  /** What arrived differs from what was sent or recorded. */
  ChecksumMismatch: 'checksum_mismatch',
  BackupFailed: 'backup_failed',
  /** The node has too little free space to stage the backup (push mode). */
  StagingSpace: 'staging_space',
} as const;

/** sha256 of what flows through, and how many bytes. */
class HashTap extends Transform {
  private readonly hash = createHash('sha256');
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    this.push(chunk);
    cb();
  }
  digest(): string {
    return this.hash.digest('hex');
  }
}

/**
 * An SFTP/SSH backup store as the node reaches it: OpenSSH's `ssh` with the node's own key (argument arrays, no
 * local shell), the store's pinned host key as the only known host (`StrictHostKeyChecking=yes`), batch mode. The
 * commands run on the store name only paths made of the store's checked base path and ids, so they need no quoting.
 */
export class SshStore {
  constructor(private readonly opts: { keyPath: string; workDir: string; sshBinary?: string; connectTimeoutSeconds?: number }) {}

  /** Upload `localPath` as the backup's file: written as `<file>.tmp`, checked on the store, renamed only when complete. */
  async upload(store: BackupStoreRef, backup: BackupRef, localPath: string, onBytes?: (n: number) => void): Promise<{ bytes: number; sha256: string }> {
    const file = backupFilePath(store, backup);
    const dir = file.slice(0, file.lastIndexOf('/'));
    const tmp = `${file}.tmp`;
    const tap = new HashTap();
    let remoteSum = '';
    try {
      // a .tmp of this server's earlier backup that a store dying mid-copy left behind goes first (names are ids only)
      const out = await this.run(store, `mkdir -p ${dir} && rm -f ${dir}/*.qcow2.tmp && cat > ${tmp} && sha256sum ${tmp}`, async (stdin) => {
        let last = 0;
        tap.on('data', () => { if (onBytes && tap.bytes - last > 64 * 1024 * 1024) { last = tap.bytes; onBytes(tap.bytes); } });
        await pipeline(createReadStream(localPath), tap, stdin);
      });
      remoteSum = out.trim().split(/\s+/)[0] ?? '';
      const sha256 = tap.digest();
      if (remoteSum !== sha256) throw new CommandFailure(BackupFailureCode.ChecksumMismatch, `the store holds ${remoteSum || 'nothing'} for the backup, the node sent ${sha256}`);
      await this.run(store, `mv -f ${tmp} ${file}`);
      return { bytes: tap.bytes, sha256 };
    } catch (err) {
      // leave nothing half-written under the backup's name; the .tmp goes too when the store still answers
      await this.run(store, `rm -f ${tmp}`).catch(() => undefined);
      throw err;
    }
  }

  /** Download the backup's file to `localPath`, hashed on the way; refuses (and removes) a file that differs from `sha256`. */
  async download(store: BackupStoreRef, backup: BackupRef & { sha256: string }, localPath: string): Promise<{ bytes: number }> {
    const file = backupFilePath(store, backup);
    const tap = new HashTap();
    await this.run(store, `cat ${file}`, undefined, async (stdout) => {
      await pipeline(stdout, tap, createWriteStream(localPath, { mode: 0o600 }));
    });
    const got = tap.digest();
    if (got !== backup.sha256) throw new CommandFailure(BackupFailureCode.ChecksumMismatch, `the backup on the store has SHA-256 ${got}, ${backup.sha256} was recorded when it was taken; nothing was replaced`);
    return { bytes: tap.bytes };
  }

  /**
   * Remove the backup's file and any `.tmp` left in its server's folder (a store that died mid-copy), and the folder once
   * empty. Repeating it is harmless.
   */
  async remove(store: BackupStoreRef, backup: BackupRef): Promise<void> {
    const file = backupFilePath(store, backup);
    const dir = file.slice(0, file.lastIndexOf('/'));
    await this.run(store, `rm -f ${file} ${dir}/*.qcow2.tmp && { rmdir ${dir} 2>/dev/null || true; }`);
  }

  /** Whether a file of the backup exists on the store under its final name (tests and checks). */
  async exists(store: BackupStoreRef, backup: BackupRef, suffix = ''): Promise<boolean> {
    const out = await this.run(store, `test -e ${backupFilePath(store, backup)}${suffix} && echo yes || echo no`);
    return out.trim() === 'yes';
  }

  private async knownHosts(store: BackupStoreRef): Promise<string> {
    const path = join(this.opts.workDir, `known_hosts-${store.id}`);
    await writeFile(path, `${store.hostKey.trim()}\n`, { mode: 0o600 });
    await chmod(path, 0o600);
    return path;
  }

  /** One ssh command on the store; `feed` writes its stdin, `drain` reads its stdout (else stdout is collected). */
  private async run(
    store: BackupStoreRef, remote: string,
    feed?: (stdin: NodeJS.WritableStream) => Promise<void>, drain?: (stdout: NodeJS.ReadableStream) => Promise<void>,
  ): Promise<string> {
    const kh = await this.knownHosts(store);
    const args = [
      '-i', this.opts.keyPath, '-p', String(store.port),
      '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${kh}`, '-o', 'GlobalKnownHostsFile=/dev/null',
      '-o', `ConnectTimeout=${this.opts.connectTimeoutSeconds ?? 10}`, '-o', 'ServerAliveInterval=10', '-o', 'ServerAliveCountMax=3', '-o', 'LogLevel=ERROR',
      '-o', 'Ciphers=aes128-gcm@openssh.com,chacha20-poly1305@openssh.com,aes256-gcm@openssh.com',
      '-l', store.username, '--', store.host, remote,
    ];
    const child = spawn(this.opts.sshBinary ?? 'ssh', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
    const exited = new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) => resolve(code));
    });
    const work: Promise<void>[] = [];
    if (drain) work.push(drain(child.stdout));
    else child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    if (feed) work.push(feed(child.stdin));
    else child.stdin.end();
    const [code] = await Promise.all([exited, ...work.map((w) => w.catch((err: Error) => { child.kill('SIGTERM'); throw err; }))]).catch(async (err: unknown) => {
      await exited.catch(() => undefined);
      if (stderr.trim()) throw storeFailure(store, stderr);
      throw err;
    });
    if (code !== 0) throw storeFailure(store, stderr || `ssh exited with ${code}`);
    return stdout;
  }
}

function storeFailure(store: BackupStoreRef, stderr: string): CommandFailure {
  const msg = stderr.trim().split('\n').filter(Boolean).slice(-3).join('; ');
  const unreachable = /connect|timed out|refused|no route|unreachable|host key|permission denied|could not resolve|closed by remote host|connection reset/i.test(msg);
  return new CommandFailure(unreachable ? BackupFailureCode.StoreUnreachable : BackupFailureCode.BackupFailed, `backup store ${store.host}:${store.port}: ${msg}`);
}
