import { isIP } from 'node:net';
import { isAbsolute, resolve } from 'node:path';
import { natsUrlProblem, STREAM_REPLICAS_DEFAULT, STREAM_REPLICAS_MAX, streamReplicasProblem } from '@oblako/contracts';

/** Which hypervisor domain type the XML asks for. `test` only on libvirt's test driver. */
export type DomainType = 'kvm' | 'qemu' | 'test';

/**
 * How much of the host work the daemon does for a server:
 * - `minimal`: define + start a domain with vCPU and memory only (libvirt's test driver, fleets of simulated nodes);
 * - `full`: qcow2 overlay, cloud-init seed, tap + routes, limits in the domain XML (real hosts).
 */
export type ProvisioningMode = 'minimal' | 'full';

/** Everything the daemon needs, validated once at start-up. Nothing else reads process.env. */
export interface DaemonConfig {
  nodeId: string;
  natsUrl: string;
  /** Subject prefix, default `oblako`. */
  subjectPrefix: string;
  natsUser?: string;
  natsPassword?: string;
  /** Path of a NATS credentials (.creds) file. */
  natsCredsFile?: string;
  /** PEM file of the CA (or the self-signed certificate) NATS' TLS certificate is checked against; implies TLS. */
  natsCaFile?: string;
  /** Replicas of the command stream when the daemon has to create it (the API normally does, with its own NATS_STREAM_REPLICAS). */
  streamReplicas: number;
  libvirtUri: string;
  domainType: DomainType;
  provisioning: ProvisioningMode;
  /** Root of the node's files: `images/` (base cache), `disks/`, `seeds/`. */
  dataDir: string;
  /**
   * Directory of the guests' console sockets (VNC and serial, one pair per server). Short on
   * purpose: a UNIX socket path must fit in 108 bytes. Serial logs go to `<dataDir>/console`.
   */
  consoleDir: string;
  /** Seconds an ACPI shutdown may take (reboot, rebuild) before the domain is destroyed. */
  stopGraceSeconds: number;
  heartbeatIntervalMs: number;
  /** How often each running server's usage is sampled (CPU, disk, tap traffic); 0 = no metering. */
  usageIntervalMs: number;
  /** Commands executed at the same time (different servers; one server's commands run one by one). */
  maxConcurrentCommands: number;
  /** Network namespace the taps and routes live in (libvirtd runs in it too); unset = the daemon's own. */
  netns?: string;
  /** Host uplink that answers ARP for the guests' addresses (proxy_arp), optional. */
  uplink?: string;
  /** Host-side MAC of every tap (OBLAKO_TAP_MAC, default fe:ff:ff:ff:ff:ff): the same on every node, for migration. */
  tapMac?: string;
  /**
   * Boot every guest from this kernel (and initrd, command line) instead of the disk's boot
   * loader: the test guest (tools/guest-image) is a kernel + initramfs. Unset on real hosts.
   */
  directKernel?: { kernel: string; initrd?: string; cmdline?: string };
  /**
   * The rescue system's disk image (qcow2; the project's test guest, tools/guest-image, booted with the direct
   * kernel): a throwaway overlay on it is the first disk of a server in rescue. Unset: this node offers no rescue.
   */
  rescueImage?: string;
  /**
   * How the plan's network rate is enforced: `libvirt` (`<bandwidth>` in the domain XML; needs
   * sch_sfq and act_police in the kernel), `tc` (htb on the tap + ifb, applied after start), or
   * `auto` (libvirt when /proc/config.gz shows both, else tc).
   */
  bandwidth: 'libvirt' | 'tc' | 'auto';
  /**
   * Where /metrics (Prometheus) listens: METRICS_LISTEN=`host:port`, default 127.0.0.1:9465 from the environment,
   * `off` for none; unset in a configuration built in code (tests, simulated fleets). Port 0 = any free port.
   */
  metricsListen?: { host: string; port: number };
  /** Run the host checks at start-up and refuse to start when something is missing (full mode). */
  hostChecks: boolean;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid node daemon configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

const NODE_ID = /^[A-Za-z0-9_-]{1,64}$/;
const PREFIX = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;
const NETNS = /^[A-Za-z0-9_.-]{1,64}$/;

export type Env = Record<string, string | undefined>;

/** Build and validate the configuration from environment variables (names in the README). */
export function loadConfig(env: Env = process.env): DaemonConfig {
  const problems: string[] = [];
  const str = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const int = (name: string, def: number, min: number, max: number): number => {
    const raw = str(name);
    if (raw === undefined) return def;
    if (!/^\d+$/.test(raw)) {
      problems.push(`${name}="${raw}" must be a whole number between ${min} and ${max}`);
      return def;
    }
    const n = Number(raw);
    if (n < min || n > max) problems.push(`${name}=${n} must be between ${min} and ${max}`);
    return n;
  };

  const nodeId = str('NODE_ID') ?? '';
  const natsUrl = str('NATS_URL') ?? '';
  const libvirtUri = str('LIBVIRT_URI') ?? 'test:///default';
  const isTestDriver = isTestDriverUri(libvirtUri);
  const domainType = (str('DOMAIN_TYPE') ?? (isTestDriver ? 'test' : 'kvm')) as DomainType;
  const provisioning = (str('OBLAKO_PROVISIONING') ?? (isTestDriver ? 'minimal' : 'full')) as ProvisioningMode;
  const logLevel = (str('LOG_LEVEL') ?? 'info') as DaemonConfig['logLevel'];

  const config: DaemonConfig = {
    nodeId,
    natsUrl,
    subjectPrefix: str('NATS_SUBJECT_PREFIX') ?? 'oblako',
    natsUser: str('NATS_USER'),
    natsPassword: env.NATS_PASSWORD,
    natsCredsFile: str('NATS_CREDS'),
    natsCaFile: str('NATS_CA'),
    streamReplicas: int('NATS_STREAM_REPLICAS', STREAM_REPLICAS_DEFAULT, 1, STREAM_REPLICAS_MAX),
    libvirtUri,
    domainType,
    provisioning,
    dataDir: str('OBLAKO_DATA_DIR') ?? '/var/lib/oblako',
    consoleDir: str('OBLAKO_CONSOLE_DIR') ?? '/run/oblako-console',
    stopGraceSeconds: int('STOP_GRACE_SECONDS', 60, 0, 3600),
    heartbeatIntervalMs: int('HEARTBEAT_INTERVAL_MS', 5000, 100, 600_000),
    usageIntervalMs: int('USAGE_INTERVAL_MS', 60_000, 0, 3_600_000),
    maxConcurrentCommands: int('MAX_CONCURRENT_COMMANDS', 4, 1, 256),
    netns: str('OBLAKO_NETNS'),
    uplink: str('OBLAKO_UPLINK'),
    tapMac: str('OBLAKO_TAP_MAC')?.toLowerCase(),
    hostChecks: (str('OBLAKO_HOST_CHECKS') ?? 'on') !== 'off',
    bandwidth: (str('OBLAKO_BANDWIDTH') ?? 'auto') as DaemonConfig['bandwidth'],
    // OBLAKO_DIRECT_* (test/real-guest uses these); OBLAKO_GUEST_* accepted as aliases
    directKernel:
      (str('OBLAKO_DIRECT_KERNEL') ?? str('OBLAKO_GUEST_KERNEL'))
        ? {
            kernel: (str('OBLAKO_DIRECT_KERNEL') ?? str('OBLAKO_GUEST_KERNEL'))!,
            initrd: str('OBLAKO_DIRECT_INITRD') ?? str('OBLAKO_GUEST_INITRD'),
            cmdline: str('OBLAKO_DIRECT_CMDLINE') ?? str('OBLAKO_GUEST_CMDLINE'),
          }
        : undefined,
    rescueImage: str('OBLAKO_RESCUE_IMAGE'),
    metricsListen: parseListen(str('METRICS_LISTEN') ?? DEFAULT_METRICS_LISTEN, problems),
    logLevel,
  };
  problems.push(...validateConfig(config));
  if (problems.length) throw new ConfigError(problems);
  return config;
}

export const DEFAULT_METRICS_LISTEN = '127.0.0.1:9465';

/** `host:port` (`[v6]:port` for IPv6) or `off`. */
export function parseListen(raw: string, problems: string[]): { host: string; port: number } | undefined {
  if (raw === 'off') return undefined;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+|localhost)):(\d{1,5})$/.exec(raw);
  const host = m ? (m[1] ?? m[2]!) : '';
  const port = m ? Number(m[3]) : NaN;
  if (!m || (host !== 'localhost' && !isIP(host)) || port > 65535) {
    problems.push(`METRICS_LISTEN="${raw}" must be an address and port such as ${DEFAULT_METRICS_LISTEN} (or [::1]:9465), or off`);
    return undefined;
  }
  return { host, port };
}

/**
 * libvirt's test driver: `test:///default` in this process, or `test+unix:///default?socket=...`
 * hosted by a libvirtd, whose domains then outlive this process as a real hypervisor's do (the
 * fault-injection test kills daemons that way).
 */
export function isTestDriverUri(uri: string): boolean {
  return /^test(\+[a-z]+)?:\/\//.test(uri);
}

/** Check a configuration built in code (tests, the demo) the same way as one read from the environment. */
export function validateConfig(c: DaemonConfig): string[] {
  const problems: string[] = [];
  if (!c.nodeId) problems.push('NODE_ID is required (the node id the API gave this node at registration)');
  else if (!NODE_ID.test(c.nodeId)) problems.push(`NODE_ID="${c.nodeId}" may contain only letters, digits, "-" and "_" (1-64 characters)`);
  if (!c.natsUrl) problems.push('NATS_URL is required, e.g. nats://127.0.0.1:4222');
  else {
    const bad = natsUrlProblem('NATS_URL', c.natsUrl);
    if (bad) problems.push(bad);
  }
  if (!PREFIX.test(c.subjectPrefix)) problems.push(`NATS_SUBJECT_PREFIX="${c.subjectPrefix}" must be dot-separated tokens of letters, digits, "-" and "_"`);
  const replicasProblem = streamReplicasProblem(c.streamReplicas);
  if (replicasProblem) problems.push(`NATS_STREAM_REPLICAS: ${replicasProblem}`);
  if (c.natsCredsFile && (c.natsUser || c.natsPassword)) problems.push('Set either NATS_CREDS or NATS_USER/NATS_PASSWORD, not both');
  if (c.natsUser && c.natsPassword === undefined) problems.push('NATS_USER is set but NATS_PASSWORD is not');
  if (!c.natsUser && c.natsPassword !== undefined && c.natsPassword !== '') problems.push('NATS_PASSWORD is set but NATS_USER is not');
  if (!/^[a-z0-9+]+:\/\/[^\s]*$/.test(c.libvirtUri)) problems.push(`LIBVIRT_URI="${c.libvirtUri}" is not a libvirt URI (e.g. test:///default, qemu:///system)`);
  const isTest = isTestDriverUri(c.libvirtUri);
  if (!['kvm', 'qemu', 'test'].includes(c.domainType)) problems.push(`DOMAIN_TYPE="${c.domainType}" must be kvm or qemu`);
  else if (isTest && c.domainType !== 'test') problems.push(`DOMAIN_TYPE="${c.domainType}" cannot be used with the test driver (${c.libvirtUri}); leave DOMAIN_TYPE unset`);
  else if (!isTest && c.domainType === 'test') problems.push(`DOMAIN_TYPE=test only works with LIBVIRT_URI=test:///... (or test+unix:///... through a libvirtd); use kvm (real hosts) or qemu (no hardware virtualisation)`);
  if (!['minimal', 'full'].includes(c.provisioning)) problems.push(`OBLAKO_PROVISIONING="${c.provisioning}" must be minimal or full`);
  if (!c.dataDir || !isAbsolute(c.dataDir)) problems.push(`OBLAKO_DATA_DIR="${c.dataDir}" must be an absolute path`);
  else if (resolve(c.dataDir) !== (c.dataDir.length > 1 ? c.dataDir.replace(/\/+$/, '') : c.dataDir)) problems.push(`OBLAKO_DATA_DIR="${c.dataDir}" must be a normalised path (no "..", no "//")`);
  if (!c.consoleDir || !isAbsolute(c.consoleDir) || !/^\/[A-Za-z0-9._/+-]*$/.test(c.consoleDir) || c.consoleDir.split('/').includes('..')) problems.push(`OBLAKO_CONSOLE_DIR="${c.consoleDir}" must be an absolute path of letters, digits, ".", "_", "+", "-" and "/"`);
  else if (c.consoleDir.length > 80) problems.push(`OBLAKO_CONSOLE_DIR="${c.consoleDir}" is ${c.consoleDir.length} characters; at most 80 (console socket paths must fit in 108 bytes)`);
  if (c.netns !== undefined && !NETNS.test(c.netns)) problems.push(`OBLAKO_NETNS="${c.netns}" may contain only letters, digits, ".", "-" and "_"`);
  if (c.tapMac !== undefined && !/^[0-9a-f][02468ace](:[0-9a-f]{2}){5}$/.test(c.tapMac)) problems.push(`OBLAKO_TAP_MAC="${c.tapMac}" must be a unicast MAC address such as fe:ff:ff:ff:ff:ff`);
  if (c.uplink !== undefined && !IFNAME.test(c.uplink)) problems.push(`OBLAKO_UPLINK="${c.uplink}" is not an interface name (at most 15 letters, digits, ".", "-", "_")`);
  if (!['libvirt', 'tc', 'auto'].includes(c.bandwidth)) problems.push(`OBLAKO_BANDWIDTH="${c.bandwidth}" must be libvirt, tc or auto`);
  if (c.directKernel) {
    for (const [name, v] of [['OBLAKO_DIRECT_KERNEL', c.directKernel.kernel], ['OBLAKO_DIRECT_INITRD', c.directKernel.initrd]] as const) {
      if (v !== undefined && (!/^\/[A-Za-z0-9._/+-]*$/.test(v) || v.split('/').includes('..'))) problems.push(`${name}="${v}" must be an absolute path of letters, digits, ".", "_", "+", "-" and "/"`);
    }
    if (c.directKernel.cmdline !== undefined && !/^[\x20-\x7e]{0,1024}$/.test(c.directKernel.cmdline)) problems.push('OBLAKO_DIRECT_CMDLINE must be printable ASCII, at most 1024 characters');
  }
  if (c.rescueImage !== undefined && (!/^\/[A-Za-z0-9._/+-]*$/.test(c.rescueImage) || c.rescueImage.split('/').includes('..'))) {
    problems.push(`OBLAKO_RESCUE_IMAGE="${c.rescueImage}" must be an absolute path of letters, digits, ".", "_", "+", "-" and "/"`);
  }
  if (!['debug', 'info', 'warn', 'error'].includes(c.logLevel)) problems.push(`LOG_LEVEL="${c.logLevel}" must be debug, info, warn or error`);
  if (!Number.isInteger(c.stopGraceSeconds) || c.stopGraceSeconds < 0) problems.push('STOP_GRACE_SECONDS must be a whole number >= 0');
  if (!Number.isInteger(c.heartbeatIntervalMs) || c.heartbeatIntervalMs < 100) problems.push('HEARTBEAT_INTERVAL_MS must be >= 100');
  if (!Number.isInteger(c.usageIntervalMs) || (c.usageIntervalMs !== 0 && c.usageIntervalMs < 100)) problems.push('USAGE_INTERVAL_MS must be 0 (off) or >= 100');
  if (!Number.isInteger(c.maxConcurrentCommands) || c.maxConcurrentCommands < 1) problems.push('MAX_CONCURRENT_COMMANDS must be >= 1');
  return problems;
}

/** Defaults for a configuration built in code; `nodeId` and `natsUrl` are still required. */
export function defineConfig(partial: Partial<DaemonConfig> & Pick<DaemonConfig, 'nodeId' | 'natsUrl'>): DaemonConfig {
  const libvirtUri = partial.libvirtUri ?? 'test:///default';
  const isTest = isTestDriverUri(libvirtUri);
  const config: DaemonConfig = {
    subjectPrefix: 'oblako',
    streamReplicas: STREAM_REPLICAS_DEFAULT,
    libvirtUri,
    domainType: isTest ? 'test' : 'kvm',
    provisioning: isTest ? 'minimal' : 'full',
    dataDir: '/var/lib/oblako',
    consoleDir: '/run/oblako-console',
    stopGraceSeconds: 60,
    heartbeatIntervalMs: 5000,
    usageIntervalMs: 60_000,
    maxConcurrentCommands: 4,
    hostChecks: true,
    bandwidth: 'auto',
    logLevel: 'info',
    ...partial,
  };
  const problems = validateConfig(config);
  if (problems.length) throw new ConfigError(problems);
  return config;
}
