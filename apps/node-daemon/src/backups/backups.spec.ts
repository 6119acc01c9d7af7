import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backupFilePath, DomainState, parseNodeCommand, type BackupStoreRef, type NodeCommand } from '@oblako/contracts';
import { CommandExecutor } from '../commands/executor.js';
import { MinimalProvisioner } from '../commands/provisioner.js';
import { StepRecorder } from '../commands/recorder.js';
import { execProgram } from '../host/exec.js';
import { FakeHypervisor } from '../hypervisor/fake.js';
import { spec } from '../test/harness.js';
import { ensureBackupKey, PushBackupEngine } from './engine.js';
import { SshStore } from './ssh-store.js';

const SSHD = '/usr/sbin/sshd';

function cmd(op: string, serverId: string, extra: Record<string, unknown> = {}): NodeCommand {
  const r = parseNodeCommand({ v: 1, taskId: randomUUID(), serverId, nodeId: 'n1', attempt: 1, issuedAt: Date.now(), op, ...extra });
  if (!r.ok) throw new Error(r.error);
  return r.command;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** Debian's sshd on 127.0.0.1 (a store for the test): root only, with its own host key and authorized_keys. */
async function startSshd(dir: string, authorized: string): Promise<{ port: number; hostKeyLine: string; proc: ChildProcess }> {
  await execProgram('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host')]);
  await writeFile(join(dir, 'authorized_keys'), `${authorized}\n`, { mode: 0o600 });
  const port = await freePort();
  await writeFile(join(dir, 'sshd_config'), [
    `Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${join(dir, 'host')}`, `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'UsePAM no', 'StrictModes no', 'PermitRootLogin prohibit-password', `PidFile ${join(dir, 'sshd.pid')}`,
  ].join('\n') + '\n');
  await execProgram('mkdir', ['-p', '/run/sshd']);
  const proc = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: 'ignore' });
  const hostKeyLine = `[127.0.0.1]:${port} ${(await readFile(join(dir, 'host.pub'), 'utf8')).trim().split(' ').slice(0, 2).join(' ')}`;
  const until = Date.now() + 10_000;
  for (;;) {
    const r = await execProgram('ssh-keyscan', ['-p', String(port), '127.0.0.1'], { timeoutMs: 5000 }).catch(() => null);
    if (r?.stdout.includes('ssh-ed25519')) break;
    if (Date.now() > until) throw new Error('sshd did not come up');
    await new Promise((res) => setTimeout(res, 100));
  }
  return { port, hostKeyLine, proc };
}

const skip = process.getuid?.() !== 0 ? 'needs root (sshd as a store)' : !existsSync(SSHD) ? 'needs openssh-server (sshd)' : false;

interface StoreFixture {
  /** The test's own folder: the node's files under node/, the store under store/. */
  dir: string;
  keyPath: string;
  publicKey: string;
  /** The sshd on 127.0.0.1 as the node sees it: its port and pinned host key, base path dir/store. */
  store: BackupStoreRef;
  ssh: SshStore;
  /** Stop the store's sshd (a store that is down). */
  stopStore(): Promise<void>;
}

/** A folder, the node's backup key, an sshd store that has it in authorized_keys; all removed after `body`, however it ends. */
async function withStore(prefix: string, body: (f: StoreFixture) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  let sshd: ChildProcess | undefined;
  try {
    const { keyPath, publicKey } = await ensureBackupKey(execProgram, join(dir, 'node'), 'node-1');
    const s = await startSshd(dir, publicKey);
    sshd = s.proc;
    const store: BackupStoreRef = { id: randomUUID(), host: '127.0.0.1', port: s.port, username: 'root', basePath: join(dir, 'store'), hostKey: s.hostKeyLine };
    await body({
      dir, keyPath, publicKey, store,
      ssh: new SshStore({ keyPath, workDir: join(dir, 'node') }),
      async stopStore() {
        const p = sshd;
        sshd = undefined;
        if (!p || p.exitCode !== null) return;
        const exited = new Promise((r) => p.once('exit', r));
        p.kill('SIGTERM');
        await exited;
      },
    });
  } finally {
    sshd?.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  }
}

test('the SSH store: upload renamed only when the store\'s checksum matches, download checked against the recorded checksum, remove; a wrong host key or a store that is down fails clearly and leaves no file under the backup\'s name', { skip }, async () => {
  await withStore('oblako-bk-', async ({ dir, keyPath, publicKey, store, ssh, stopStore }) => {
    assert.match(publicKey, /^ssh-ed25519 \S+ oblako-node-node-1$/);
    assert.equal(((await import('node:fs')).statSync(keyPath).mode & 0o777), 0o600, 'the private key is 0600');
    assert.equal((await ensureBackupKey(execProgram, join(dir, 'node'), 'node-1')).publicKey, publicKey, 'made once, kept across restarts');
    const backup = { id: randomUUID(), serverId: randomUUID() };
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const sha = createHash('sha256').update(data).digest('hex');
    await writeFile(join(dir, 'staged.qcow2'), data);

    const up = await ssh.upload(store, backup, join(dir, 'staged.qcow2'));
    assert.deepEqual(up, { bytes: data.length, sha256: sha });
    assert.equal(await ssh.exists(store, backup), true);
    assert.equal(await ssh.exists(store, backup, '.tmp'), false, 'the .tmp was renamed');
    assert.deepEqual(await readFile(backupFilePath(store, backup)), data);

    await ssh.download(store, { ...backup, sha256: sha }, join(dir, 'back.qcow2'));
    assert.deepEqual(await readFile(join(dir, 'back.qcow2')), data);
    await assert.rejects(ssh.download(store, { ...backup, sha256: 'b'.repeat(64) }, join(dir, 'bad.qcow2')), (err: Error & { code?: string }) => err.code === 'checksum_mismatch' && /nothing was replaced/.test(err.message));

    // another host key than the pinned one: refused before anything is sent
    const other = { ...store, hostKey: `[127.0.0.1]:${store.port} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGHzH9n07OGOJKwbUH3NRS15INZCUvwcN0itAFhTZZ2/` };
    const b2 = { id: randomUUID(), serverId: backup.serverId };
    await assert.rejects(ssh.upload(other, b2, join(dir, 'staged.qcow2')), (err: Error & { code?: string }) => err.code === 'store_unreachable' && /host key/i.test(err.message));
    assert.equal(existsSync(backupFilePath(store, b2)), false);
    assert.equal(existsSync(`${backupFilePath(store, b2)}.tmp`), false);

    await ssh.remove(store, backup);
    assert.equal(existsSync(backupFilePath(store, backup)), false);
    await ssh.remove(store, backup); // again: harmless

    // the store is down
    await stopStore();
    const b3 = { id: randomUUID(), serverId: backup.serverId };
    await assert.rejects(ssh.upload(store, b3, join(dir, 'staged.qcow2')), (err: Error & { code?: string }) => err.code === 'store_unreachable' && /127\.0\.0\.1:\d+: .*refused/i.test(err.message));
    assert.equal(existsSync(backupFilePath(store, b3)), false);
  });
});

test('a node without disk provisioning (libvirt\'s test driver) refuses backups clearly', async () => {
  const hv = new FakeHypervisor();
  const ex = new CommandExecutor(hv, new MinimalProvisioner({ domainType: 'test' }), { stopGraceSeconds: 1 });
  const sp = spec();
  assert.equal((await ex.execute(cmd('create', sp.serverId, { spec: sp }), new StepRecorder())).ok, true);
  const store = { id: randomUUID(), host: 'backup1.example.net', port: 22, username: 'oblako', basePath: '/srv/b', hostKey: 'backup1.example.net ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGHzH9n07OGOJKwbUH3NRS15INZCUvwcN0itAFhTZZ2/' };
  const r = await ex.execute(cmd('backup_create', sp.serverId, { store, backup: { id: randomUUID(), serverId: sp.serverId } }), new StepRecorder());
  assert.equal(r.ok, false);
  assert.equal(r.error?.code, 'not_supported');
  assert.equal(r.domainState, 'running', 'the server runs on');
  // a command whose backup names another server is refused by the contract or the handler
  const bad = parseNodeCommand({ v: 1, taskId: randomUUID(), serverId: sp.serverId, nodeId: 'n1', attempt: 1, issuedAt: Date.now(), op: 'backup_create', store: { ...store, basePath: '/srv/$(id)' }, backup: { id: randomUUID(), serverId: sp.serverId } });
  assert.equal(bad.ok, false, 'a base path with shell characters never reaches a node');
});

test('a new server from a backup: fetched, checked, grown to the plan\'s disk and put in place; a redelivered create keeps it; a backup of a bigger disk is refused with nothing placed', { skip: skip || (!existsSync('/usr/bin/qemu-img') && 'needs qemu-img') }, async () => {
  await withStore('oblako-bk-new-', async ({ dir, keyPath, publicKey, store, ssh }) => {
    const disks = join(dir, 'disks');
    const engine = new PushBackupEngine({ exec: execProgram, libvirtUri: 'test:///default', dir: join(dir, 'node'), keyPath, publicKey, diskPath: (id) => join(disks, `${id}.qcow2`) });
    const rec = new StepRecorder();
    // a 1.5 GiB backup (as a stopped server's converted disk would be)
    await execProgram('qemu-img', ['create', '-q', '-f', 'qcow2', join(dir, 'b.qcow2'), String(1536 * 1024 ** 2)]);
    const backup = { id: randomUUID(), serverId: randomUUID() };
    const { sha256 } = await ssh.upload(store, backup, join(dir, 'b.qcow2'));
    const newId = randomUUID();
    await engine.newDiskFrom(store, { ...backup, sha256 }, newId, 2, rec);
    const info = JSON.parse((await execProgram('qemu-img', ['info', '--output=json', join(disks, `${newId}.qcow2`)])).stdout) as { 'virtual-size': number };
    assert.equal(info['virtual-size'], 2 * 1024 ** 3, 'grown to the new plan\'s 2 GiB');
    assert.ok('restore_check' in rec.steps && 'restore_grow' in rec.steps, 'qemu-img check ran, and the disk was grown');
    await engine.newDiskFrom(store, { ...backup, sha256: 'c'.repeat(64) }, newId, 2, rec); // redelivered: the disk is there, nothing fetched
    // a plan smaller than the backup: refused, nothing placed, nothing staged
    const other = randomUUID();
    await assert.rejects(engine.newDiskFrom(store, { ...backup, sha256 }, other, 1, rec), /larger than the new server's 1 GiB/);
    assert.equal(existsSync(join(disks, `${other}.qcow2`)), false);
    assert.deepEqual((await readdir(join(dir, 'node', 'staging'))).filter((f) => f.endsWith('.qcow2')), []);
    // a checksum that differs from the recorded one: nothing placed
    await assert.rejects(engine.newDiskFrom(store, { ...backup, sha256: 'd'.repeat(64) }, other, 2, rec), (err: Error & { code?: string }) => err.code === 'checksum_mismatch');
    assert.equal(existsSync(join(disks, `${other}.qcow2`)), false);
  });
});

test('a node without room to stage the backup refuses it before anything starts (staging_space, with both numbers); a .tmp a dying store left is removed by the next backup and by a delete', { skip: skip || (!existsSync('/usr/bin/qemu-img') && 'needs qemu-img') }, async () => {
  await withStore('oblako-bk-space-', async ({ dir, keyPath, publicKey, store, ssh }) => {
    const disks = join(dir, 'disks');
    await mkdir(disks, { recursive: true });
    const serverId = randomUUID();
    await execProgram('qemu-img', ['create', '-q', '-f', 'qcow2', join(disks, `${serverId}.qcow2`), String(64 * 1024 ** 2)]);
    await execProgram('qemu-io', ['-c', 'write -P 7 0 8M', join(disks, `${serverId}.qcow2`)]);
    const opts = { exec: execProgram, libvirtUri: 'test:///default', dir: join(dir, 'node'), keyPath, publicKey, diskPath: (id: string) => join(disks, `${id}.qcow2`) };
    const tight = new PushBackupEngine({ ...opts, statfs: async () => ({ bavail: 1024, bsize: 4096 }) }); // 4 MiB free
    await assert.rejects(tight.backup(store, { id: randomUUID(), serverId }, DomainState.ShutOff, new StepRecorder()), (err: Error & { code?: string }) =>
      err.code === 'staging_space' && /has 4 MiB free in .*staging and the backup needs \d+ MiB/.test(err.message));
    assert.deepEqual((await readdir(join(dir, 'node', 'staging'))).filter((f) => f.endsWith('.qcow2')), [], 'nothing staged');

    // a store that died mid-copy of an earlier backup left its .tmp: the next backup of the server removes it
    const left = { id: randomUUID(), serverId };
    await mkdir(join(dir, 'store', serverId), { recursive: true });
    await writeFile(`${backupFilePath(store, left)}.tmp`, 'half');
    const engine = new PushBackupEngine(opts);
    const next = { id: randomUUID(), serverId };
    const r = await engine.backup(store, next, DomainState.ShutOff, new StepRecorder());
    assert.equal(r.virtualBytes, 64 * 1024 ** 2);
    assert.equal(existsSync(`${backupFilePath(store, left)}.tmp`), false, 'the old .tmp is gone');
    assert.equal(await ssh.exists(store, next), true);
    // ... and a delete of the server's backup removes one too
    await writeFile(`${backupFilePath(store, left)}.tmp`, 'half');
    await engine.remove(store, next, new StepRecorder());
    assert.equal(existsSync(`${backupFilePath(store, left)}.tmp`), false);
    assert.equal(existsSync(backupFilePath(store, next)), false);
  });
});

test('an incremental\'s chain is fetched, each file checked against its recorded SHA-256, put on its parent and flattened into one disk; a link that differs fails with nothing placed', { skip: skip || (!existsSync('/usr/bin/qemu-img') && 'needs qemu-img') }, async () => {
  await withStore('oblako-bk-chain-', async ({ dir, keyPath, publicKey, store, ssh }) => {
    const disks = join(dir, 'disks');
    const engine = new PushBackupEngine({ exec: execProgram, libvirtUri: 'test:///default', dir: join(dir, 'node'), keyPath, publicKey, diskPath: (id) => join(disks, `${id}.qcow2`) });
    const serverId = randomUUID();
    // what push mode writes: a full qcow2, then incrementals holding only the changed clusters, with no backing file named
    const full = join(dir, 'full.qcow2');
    await execProgram('qemu-img', ['create', '-q', '-f', 'qcow2', full, String(64 * 1024 ** 2)]);
    await execProgram('qemu-io', ['-f', 'qcow2', '-c', 'write -P 1 0 4M', '-c', 'write -P 2 8M 1M', full]);
    const inc = async (file: string, parent: string, write: string) => {
      await execProgram('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', parent, '-F', 'qcow2', file]);
      await execProgram('qemu-io', ['-f', 'qcow2', '-c', write, file]);
      await execProgram('qemu-img', ['rebase', '-u', '-f', 'qcow2', '-b', '', file]);
    };
    await inc(join(dir, 'i1.qcow2'), full, 'write -P 3 1M 64k');
    await inc(join(dir, 'i2.qcow2'), join(dir, 'i1.qcow2'), 'write -P 4 8M 64k');
    const up = async (file: string) => { const b = { id: randomUUID(), serverId }; return { ...b, sha256: (await ssh.upload(store, b, file)).sha256 }; };
    const [f, i1, i2] = [await up(full), await up(join(dir, 'i1.qcow2')), await up(join(dir, 'i2.qcow2'))];
    assert.ok((await readFile(backupFilePath(store, i2))).length < 1024 ** 2, 'the incremental holds only its changed clusters');

    const rec = new StepRecorder();
    const newId = randomUUID();
    await engine.newDiskFrom(store, { ...i2, parents: [f, i1] }, newId, 1, rec);
    const disk = join(disks, `${newId}.qcow2`);
    const info = JSON.parse((await execProgram('qemu-img', ['info', '--output=json', disk])).stdout) as { 'backing-filename'?: string; 'virtual-size': number };
    assert.equal(info['backing-filename'], undefined, 'one flat file, no backing chain');
    assert.equal(info['virtual-size'], 1024 ** 3);
    // every write of the chain reads back, each from the backup that made it, the rest from the full one
    for (const [pattern, offset, len] of [[1, '0', '1M'], [3, '1M', '64k'], [1, '1088k', '3008k'], [4, '8M', '64k'], [2, '8256k', '960k'], [0, '16M', '1M']] as const) {
      await execProgram('qemu-io', ['-f', 'qcow2', '-r', '-c', `read -P ${pattern} ${offset} ${len}`, disk]).then(({ stdout }) => assert.doesNotMatch(stdout, /Pattern verification failed/, `${offset}+${len} reads ${pattern}`));
    }
    assert.ok(['restore_download_0', 'restore_download_1', 'restore_download_2', 'restore_assemble', 'restore_check'].every((k) => k in rec.steps), Object.keys(rec.steps).join(','));
    assert.deepEqual((await readdir(join(dir, 'node', 'staging'))).filter((n) => n.endsWith('.qcow2')), [], 'nothing of the chain is left staged');

    // a parent whose file differs from its recorded checksum: refused, nothing placed
    const other = randomUUID();
    await assert.rejects(engine.newDiskFrom(store, { ...i2, parents: [{ ...f, sha256: 'e'.repeat(64) }, i1] }, other, 1, new StepRecorder()), (err: Error & { code?: string }) => err.code === 'checksum_mismatch');
    assert.equal(existsSync(join(disks, `${other}.qcow2`)), false);
    assert.deepEqual((await readdir(join(dir, 'node', 'staging'))).filter((n) => n.endsWith('.qcow2')), []);
  });
});
