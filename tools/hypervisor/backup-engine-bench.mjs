#!/usr/bin/env node
// Times the node's own backup engine (apps/node-daemon/dist, PushBackupEngine) on a 1 GiB disk of random data against
// a plain scp of the same file to the same store, in the same run: the store is Debian's sshd in a network namespace
// reached over a veth (as tools/hypervisor/backup-bench.sh). No guest: the disk is a stopped server's (qemu-img
// convert path), so this measures staging + upload with the checksum on both ends, and the restore's download +
// SHA-256 + qemu-img check (newDiskFrom), not backup-begin. Usage (root): node tools/hypervisor/backup-engine-bench.mjs
// With BENCH_LIBVIRT_URI (a libvirtd, e.g. `OBLAKO_LIBVIRT_PRIVATE=1 tools/hypervisor/netns-libvirtd.sh start NS` and its
// `uri`), it also runs the disk in a bare TCG domain and times a full backup-begin (with its checkpoint), an incremental
// after 10 MiB written through the monitor's qemu-io, and the restore of that chain (both files fetched, checked,
// rebased and flattened), each against scp of the same bytes in the same run.
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
const repo = new URL('../..', import.meta.url).pathname;
const { PushBackupEngine, ensureBackupKey } = await import(join(repo, 'apps/node-daemon/dist/src/backups/engine.js'));
const { StepRecorder } = await import(join(repo, 'apps/node-daemon/dist/src/commands/recorder.js'));
const { execProgram } = await import(join(repo, 'apps/node-daemon/dist/src/host/exec.js'));
const MIB = Number(process.env.BENCH_SIZE_MIB ?? 1024);
const W = execFileSync('mktemp', ['-d', '/var/tmp/bkeng.XXXX']).toString().trim();
const NS = `bkeng${process.pid}`; const A = '10.252.77.1'; const B = '10.252.77.2';
const sh = (f, a) => execFileSync(f, a, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
let sshd;
const cleanup = () => { try { sshd?.kill(); } catch {} try { sh('ip', ['link', 'del', `${NS}h`]); } catch {} try { sh('ip', ['netns', 'del', NS]); } catch {} try { sh('rm', ['-rf', W]); } catch {} };
process.on('exit', cleanup);
try {
  sh('ip', ['netns', 'add', NS]); sh('ip', ['link', 'add', `${NS}h`, 'type', 'veth', 'peer', 'name', `${NS}s`]); sh('ip', ['link', 'set', `${NS}s`, 'netns', NS]);
  sh('ip', ['addr', 'add', `${A}/30`, 'dev', `${NS}h`]); sh('ip', ['link', 'set', `${NS}h`, 'up']);
  sh('ip', ['-n', NS, 'addr', 'add', `${B}/30`, 'dev', `${NS}s`]); sh('ip', ['-n', NS, 'link', 'set', `${NS}s`, 'up']); sh('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
  mkdirSync(join(W, 'ssh')); mkdirSync(join(W, 'store')); mkdirSync(join(W, 'disks')); mkdirSync('/run/sshd', { recursive: true });
  const { keyPath, publicKey } = await ensureBackupKey(execProgram, join(W, 'node'), 'bench');
  sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(W, 'ssh', 'host')]);
  writeFileSync(join(W, 'ssh', 'authorized_keys'), `${publicKey}\n`, { mode: 0o600 });
  writeFileSync(join(W, 'ssh', 'cfg'), `ListenAddress ${B}\nHostKey ${W}/ssh/host\nAuthorizedKeysFile ${W}/ssh/authorized_keys\nPasswordAuthentication no\nUsePAM no\nStrictModes no\nPermitRootLogin prohibit-password\nPidFile ${W}/sshd.pid\nSubsystem sftp internal-sftp\n`);
  sshd = spawn('ip', ['netns', 'exec', NS, '/usr/sbin/sshd', '-D', '-f', join(W, 'ssh', 'cfg')], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) { try { if (sh('ssh-keyscan', ['-T', '1', B]).includes('ed25519')) break; } catch {} await new Promise((r) => setTimeout(r, 100)); }
  const pub = readFileSync(join(W, 'ssh', 'host.pub'), 'utf8').trim().split(' ');
  const store = { id: randomUUID(), host: B, port: 22, username: 'root', basePath: join(W, 'store'), hostKey: `${B} ${pub[0]} ${pub[1]}` };
  const serverId = randomUUID();
  sh('sh', ['-c', `head -c ${MIB * 1024 * 1024} /dev/urandom > ${W}/data.raw`]);
  sh('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'qcow2', `${W}/data.raw`, join(W, 'disks', `${serverId}.qcow2`)]);
  const engine = new PushBackupEngine({ exec: execProgram, libvirtUri: 'test:///default', dir: join(W, 'node'), keyPath, publicKey, diskPath: (id) => join(W, 'disks', `${id}.qcow2`) });
  const ssh = ['-i', keyPath, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'Ciphers=aes128-gcm@openssh.com'];
  const t = () => performance.now();
  const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
  console.log(`disk: ${MIB} MiB of random data (qcow2 ${(statSync(join(W, 'disks', `${serverId}.qcow2`)).size / 2 ** 20).toFixed(0)} MiB); store: sshd in netns ${NS} over a veth; load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
  for (let r = 1; r <= rounds; r++) {
    let t0 = t(); sh('scp', ['-q', ...ssh, join(W, 'disks', `${serverId}.qcow2`), `root@${B}:${W}/store/scp-${r}.qcow2`]); const scpUp = t() - t0;
    const backup = { id: randomUUID(), serverId };
    const rec = new StepRecorder();
    t0 = t(); const out = await engine.backup(store, backup, 'shutoff', rec); const up = t() - t0;
    t0 = t(); sh('scp', ['-q', ...ssh, `root@${B}:${W}/store/scp-${r}.qcow2`, `${W}/back-${r}.qcow2`]); const scpDown = t() - t0;
    const rec2 = new StepRecorder(); const newId = randomUUID();
    t0 = t(); await engine.newDiskFrom(store, { ...backup, sha256: out.sha256 }, newId, Math.ceil(MIB / 1024), rec2); const down = t() - t0;
    const steps = (x) => Object.entries(x.steps).map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`).join(', ');
    console.log(`round ${r}: scp up ${(scpUp / 1000).toFixed(1)} s | engine backup ${(up / 1000).toFixed(1)} s (${out.bytes} bytes moved; ${steps(rec)}) = ${(up / scpUp).toFixed(2)}x scp`);
    console.log(`round ${r}: scp down ${(scpDown / 1000).toFixed(1)} s | engine restore (new disk) ${(down / 1000).toFixed(1)} s (${steps(rec2)}) = ${(down / scpDown).toFixed(2)}x scp`);
    sh('rm', ['-f', join(W, 'disks', `${newId}.qcow2`), `${W}/back-${r}.qcow2`, `${W}/store/scp-${r}.qcow2`]);
  }
  const URI = process.env.BENCH_LIBVIRT_URI;
  if (URI) {
    const disk = join(W, 'disks', `${serverId}.qcow2`);
    sh('chmod', ['0755', W, join(W, 'disks')]); sh('chmod', ['0666', disk]);
    const dom = `oblako-${serverId}`;
    writeFileSync(join(W, 'dom.xml'), `<domain type='qemu'><name>${dom}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os><devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${disk}'/><target dev='vda' bus='virtio'/></disk></devices></domain>`);
    const virsh = (...a) => sh('virsh', ['-q', '-c', URI, ...a]);
    virsh('define', join(W, 'dom.xml')); virsh('start', dom);
    try {
      const live = new PushBackupEngine({ exec: execProgram, libvirtUri: URI, dir: join(W, 'node'), keyPath, publicKey, diskPath: (id) => join(W, 'disks', `${id}.qcow2`) });
      const steps = (x) => Object.entries(x.steps).map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`).join(', ');
      const bF = { id: randomUUID(), serverId }; const recF = new StepRecorder();
      let t0 = t(); const outF = await live.backup(store, bF, 'running', recF); const upF = t() - t0;
      const fileF = join(W, 'store', serverId, `${bF.id}.qcow2`);
      t0 = t(); sh('scp', ['-q', ...ssh, fileF, `root@${B}:${W}/store/scp-full.qcow2`]); const scpF = t() - t0;
      console.log(`live full: engine backup ${(upF / 1000).toFixed(1)} s (${outF.bytes} bytes moved, ${outF.kind}; ${steps(recF)}) | scp of the same file ${(scpF / 1000).toFixed(1)} s = ${(upF / scpF).toFixed(2)}x scp`);
      virsh('qemu-monitor-command', dom, '--hmp', 'qemu-io -d /machine/peripheral/virtio-disk0/virtio-backend "write -P 0x5a 100M 10M"');
      const bI = { id: randomUUID(), serverId }; const recI = new StepRecorder();
      t0 = t(); const outI = await live.backup(store, bI, 'running', recI, bF.id); const upI = t() - t0;
      if (outI.kind !== 'incremental') throw new Error(`expected an incremental, got ${outI.kind}: ${outI.fullBecause}`);
      const fileI = join(W, 'store', serverId, `${bI.id}.qcow2`);
      t0 = t(); sh('scp', ['-q', ...ssh, fileI, `root@${B}:${W}/store/scp-inc.qcow2`]); const scpI = t() - t0;
      console.log(`live incremental after 10 MiB written: engine backup ${(upI / 1000).toFixed(1)} s (${outI.bytes} bytes moved; ${steps(recI)}) | scp of the same file ${(scpI / 1000).toFixed(1)} s = ${(upI / scpI).toFixed(2)}x scp; full/incremental bytes ${(outF.bytes / outI.bytes).toFixed(0)}x`);
      const recR = new StepRecorder(); const newId = randomUUID();
      t0 = t(); await live.newDiskFrom(store, { ...bI, sha256: outI.sha256, parents: [{ ...bF, sha256: outF.sha256 }] }, newId, Math.ceil(MIB / 1024), recR); const down = t() - t0;
      t0 = t(); sh('scp', ['-q', ...ssh, `root@${B}:${fileF}`, `root@${B}:${fileI}`, `${W}/`]); const scpD = t() - t0;
      console.log(`restore of the chain (full + incremental, into a new disk): engine ${(down / 1000).toFixed(1)} s (${steps(recR)}) | scp of both files ${(scpD / 1000).toFixed(1)} s = ${(down / scpD).toFixed(2)}x scp`);
    } finally {
      try { virsh('destroy', dom); } catch {}
      try { virsh('undefine', dom, '--checkpoints-metadata'); } catch {}
    }
  }
} finally { cleanup(); }
