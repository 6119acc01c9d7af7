import { access, constants, mkdir, readFile } from 'node:fs/promises';
import type { DaemonConfig } from '../config.js';
import type { HypervisorPort } from '../hypervisor/port.js';
import { errorMessage } from '../log.js';
import type { Exec } from './exec.js';

export interface HostProblem {
  what: string;
  fix: string;
}

export class HostCheckError extends Error {
  constructor(readonly problems: HostProblem[]) {
    super(`this host cannot run servers (full provisioning):\n${problems.map((p) => `  - ${p.what}: ${p.fix}`).join('\n')}`);
    this.name = 'HostCheckError';
  }
}

async function program(exec: Exec, file: string, args: string[], what: string, fix: string): Promise<HostProblem | null> {
  try {
    await exec(file, args, { timeoutMs: 10_000 });
    return null;
  } catch (err) {
    return { what: `${what} (${errorMessage(err).split('\n')[0]})`, fix };
  }
}

/**
 * What full provisioning needs, each missing piece named with the command that fixes it:
 * libvirt reachable, qemu-img, ip, genisoimage, sysctl, tc, nft, /dev/net/tun, the CPU cgroup controller,
 * IPv4 forwarding (enabled here if it is off), rp_filter not loose, a writable data directory,
 * and the network namespace when one is configured.
 */
export async function checkHost(config: DaemonConfig, hv: HypervisorPort, exec: Exec): Promise<HostProblem[]> {
  const ns = config.netns;
  const checks: Promise<HostProblem | null>[] = [
    hv.capacity().then(
      () => null,
      (err: unknown) => ({ what: `libvirt at ${config.libvirtUri} is not reachable (${errorMessage(err)})`, fix: 'start libvirtd (virtlogd -d && libvirtd -d), or fix LIBVIRT_URI' }),
    ),
    program(exec, 'qemu-img', ['--version'], 'qemu-img is missing', 'apt-get install qemu-utils'),
    program(exec, 'ip', ['-V'], 'ip is missing', 'apt-get install iproute2'),
    program(exec, 'genisoimage', ['-version'], 'genisoimage (cloud-init seed images) is missing', 'apt-get install genisoimage'),
    program(exec, 'sysctl', ['-n', 'kernel.ostype'], 'sysctl is missing', 'apt-get install procps'),
    program(exec, 'tc', ['-V'], 'tc (rate limits) is missing', 'apt-get install iproute2'),
    program(exec, 'nft', ['--version'], 'nft (nftables: the per-server source address guard) is missing', 'apt-get install nftables'),
    access('/dev/net/tun', constants.R_OK | constants.W_OK).then(
      () => null,
      () => ({ what: '/dev/net/tun is missing or not writable (tap devices)', fix: 'modprobe tun, and run the daemon as root' }),
    ),
    (async () => {
      const v1 = await access('/sys/fs/cgroup/cpu/cpu.cfs_quota_us').then(() => true, () => false);
      const v2 = await readFile('/sys/fs/cgroup/cgroup.controllers', 'utf8').then((s) => s.split(/\s+/).includes('cpu'), () => false);
      return v1 || v2 ? null : { what: 'no CPU cgroup controller (cgroup v1 cpu or v2 with cpu enabled)', fix: 'mount the cpu cgroup controller; libvirt applies <cputune> through it' };
    })(),
    mkdir(config.dataDir, { recursive: true }).then(
      () => access(config.dataDir, constants.W_OK).then(() => null),
      (err: unknown) => ({ what: `OBLAKO_DATA_DIR ${config.dataDir} is not writable (${errorMessage(err)})`, fix: 'create it, owned by the daemon\'s user' }),
    ),
  ];
  if (ns) {
    checks.push(program(exec, 'ip', ['netns', 'exec', ns, 'true'], `network namespace ${ns} does not exist`, `ip netns add ${ns} (and run libvirtd inside it), or unset OBLAKO_NETNS`));
    checks.push(program(exec, 'nsenter', ['--version'], 'nsenter is missing', 'apt-get install util-linux'));
  }
  const problems = (await Promise.all(checks)).filter((p): p is HostProblem => p !== null);
  if (problems.length) return problems;

  // forwarding: turn it on if it is off (the daemon would do so for the first server anyway)
  const sysctl = (args: string[]) => (ns ? exec('ip', ['netns', 'exec', ns, 'sysctl', ...args]) : exec('sysctl', args));
  try {
    const fwd = (await sysctl(['-n', 'net.ipv4.ip_forward'])).stdout.trim();
    if (fwd !== '1') await sysctl(['-q', '-w', 'net.ipv4.ip_forward=1']);
    const rp = (await sysctl(['-n', 'net.ipv4.conf.all.rp_filter'])).stdout.trim();
    if (rp === '2') problems.push({ what: 'net.ipv4.conf.all.rp_filter is 2 (loose): guests could send from a neighbour\'s address', fix: 'sysctl -w net.ipv4.conf.all.rp_filter=0 (each tap gets 1) or 1' });
  } catch (err) {
    problems.push({ what: `IPv4 forwarding cannot be enabled (${errorMessage(err)})`, fix: 'run the daemon as root: sysctl -w net.ipv4.ip_forward=1' });
  }
  return problems;
}
