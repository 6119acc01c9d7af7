import { DomainState } from '@oblako/contracts';
import { execProgram, ExecError, type Exec } from '../host/exec.js';
import { errorMessage, type Logger, silentLogger } from '../log.js';
import { HypervisorError, HypervisorErrorCode, type DomainSummary, type HypervisorPort, type NodeCapacity } from './port.js';

/*
 * The shapes of @unraid/libvirt we use, declared here so that the daemon compiles (and the API
 * and panel install) on machines where the optional native addon is absent.
 */
export interface LvDomain {
  create(): Promise<void>;
  shutdown(): Promise<void>;
  destroy(): Promise<void>;
  undefine(): Promise<void>;
  suspend(): Promise<void>;
  resume(): Promise<void>;
  getInfo(): Promise<{ state: number; maxMem: number; memory: number; nrVirtCpu: number; cpuTime: number }>;
  getName(): Promise<string>;
  getXMLDesc(flags?: number): Promise<string>;
}
export interface LvHypervisor {
  connectOpen(): Promise<void>;
  connectClose(): Promise<void>;
  connectListAllDomains(flags?: number): Promise<LvDomain[]>;
  domainDefineXML(xml: string): Promise<LvDomain>;
  domainLookupByName(name: string): Promise<LvDomain>;
  nodeGetInfo(): Promise<{ memory: number; cpus: number }>;
}
export interface LvModule {
  Hypervisor: new (opts: { uri: string }) => LvHypervisor;
}

export const LIBVIRT_ADDON_HELP =
  'The libvirt native addon (@unraid/libvirt) could not be loaded. Install libvirt\'s headers and rebuild it: ' +
  '`apt-get install libvirt-dev` then `npm rebuild @unraid/libvirt`.';

let addon: Promise<LvModule> | undefined;
/** Load the ESM-only addon once; a clear instruction when it is missing or not built. */
export function loadLibvirtAddon(): Promise<LvModule> {
  addon ??= (async () => {
    const specifier = '@unraid/libvirt';
    try {
      return (await import(specifier)) as LvModule;
    } catch (err) {
      addon = undefined;
      throw new HypervisorError(HypervisorErrorCode.AddonMissing, `${LIBVIRT_ADDON_HELP} (${errorMessage(err)})`, err);
    }
  })();
  return addon;
}

/** libvirt's numeric domain states reduced to the contract's. */
export function toDomainState(code: number): DomainState {
  switch (code) {
    case 1: // running
    case 2: // blocked (running, waiting on I/O)
    case 4: // being shut down: still running until it is off
      return DomainState.Running;
    case 3: // paused
    case 7: // pmsuspended
      return DomainState.Paused;
    case 5:
      return DomainState.ShutOff;
    case 6:
      return DomainState.Crashed;
    default:
      return DomainState.Other;
  }
}

/* The addon reports every error with code -1; classify by libvirt's message. */
const NOT_FOUND = /domain not found|no domain with matching/i;
const NOT_RUNNING = /not running|domain is not active/i;
const ALREADY_RUNNING = /already running|domain is already active/i;
const CONNECTION =
  /failed to connect|cannot recv data|client socket is closed|end of file while reading|broken pipe|connection reset|not connected|invalid connection|no connection driver|unable to connect|cannot write data|connection closed/i;

export function classifyLibvirtError(err: unknown): HypervisorError {
  if (err instanceof HypervisorError) return err;
  const msg = errorMessage(err);
  const code = NOT_FOUND.test(msg)
    ? HypervisorErrorCode.NotFound
    : ALREADY_RUNNING.test(msg)
      ? HypervisorErrorCode.AlreadyRunning
      : NOT_RUNNING.test(msg)
        ? HypervisorErrorCode.NotRunning
        : CONNECTION.test(msg)
          ? HypervisorErrorCode.Connection
          : HypervisorErrorCode.Other;
  return new HypervisorError(code, msg, err);
}

/**
 * HypervisorPort on libvirt through @unraid/libvirt. One connection, opened at start (concurrent
 * callers share one in-flight connect), reopened once when a call fails with a connection error,
 * closed at shutdown.
 */
export class LibvirtHypervisor implements HypervisorPort {
  private conn: LvHypervisor | undefined;
  private connecting: Promise<LvHypervisor> | undefined;
  private closed = false;
  /** Domain objects with a call in flight (see onDomain). */
  private readonly inUse = new Set<LvDomain>();

  constructor(
    readonly uri: string,
    private readonly log: Logger = silentLogger,
    /** The addon; replaced in tests of the connection handling. */
    private readonly loadAddon: () => Promise<LvModule> = loadLibvirtAddon,
    /** Runs virsh for what the addon lacks (snapshots, undefine with flags). */
    private readonly exec: Exec = execProgram,
  ) {}

  describe(): string {
    return `libvirt ${this.uri}`;
  }

  async connect(): Promise<void> {
    await this.connection();
  }

  private connection(): Promise<LvHypervisor> {
    if (this.closed) return Promise.reject(new HypervisorError(HypervisorErrorCode.Connection, 'the hypervisor connection is closed (daemon shutting down)'));
    if (this.conn) return Promise.resolve(this.conn);
    this.connecting ??= (async () => {
      try {
        const lv = await this.loadAddon();
        const h = new lv.Hypervisor({ uri: this.uri });
        try {
          await h.connectOpen();
        } catch (err) {
          throw new HypervisorError(HypervisorErrorCode.Connection, `cannot connect to libvirt at ${this.uri}: ${errorMessage(err)}`, err);
        }
        this.conn = h;
        return h;
      } finally {
        this.connecting = undefined;
      }
    })();
    return this.connecting;
  }

  /** Run one call; on a connection error drop the connection, reconnect once and retry once. */
  private async call<T>(what: string, fn: (h: LvHypervisor) => Promise<T>): Promise<T> {
    const h = await this.connection();
    try {
      return await fn(h);
    } catch (err) {
      const e = classifyLibvirtError(err);
      if (e.code !== HypervisorErrorCode.Connection || this.closed) throw e;
      this.log.warn('libvirt connection lost, reconnecting once', { uri: this.uri, call: what, error: e.message });
      if (this.conn === h) this.conn = undefined;
      const again = await this.connection();
      try {
        return await fn(again);
      } catch (err2) {
        throw classifyLibvirtError(err2);
      }
    }
  }

  private lookup(h: LvHypervisor, name: string): Promise<LvDomain> {
    return h.domainLookupByName(name);
  }

  async close(): Promise<void> {
    this.closed = true;
    const h = this.conn ?? (await this.connecting?.catch(() => undefined));
    this.conn = undefined;
    if (h) await h.connectClose().catch((err: unknown) => this.log.warn('closing libvirt failed', { error: errorMessage(err) }));
  }

  capacity(): Promise<NodeCapacity> {
    return this.call('nodeGetInfo', async (h) => {
      const info = await h.nodeGetInfo();
      return { vcpus: info.cpus, memoryMiB: Math.floor(info.memory / 1024) };
    });
  }

  async state(name: string): Promise<DomainState> {
    try {
      return await this.onDomain('state', name, async (d) => toDomainState((await d.getInfo()).state));
    } catch (err) {
      if (err instanceof HypervisorError && err.code === HypervisorErrorCode.NotFound) return DomainState.Missing;
      throw err;
    }
  }

  list(): Promise<DomainSummary[]> {
    return this.call('list', async (h) => {
      const domains = await h.connectListAllDomains();
      const out: DomainSummary[] = [];
      for (const d of domains) {
        try {
          out.push({ name: await d.getName(), state: toDomainState((await d.getInfo()).state) });
        } catch (err) {
          // a domain undefined between list and getInfo is simply gone
          if (classifyLibvirtError(err).code !== HypervisorErrorCode.NotFound) throw err;
        }
      }
      return out;
    });
  }

  async define(xml: string): Promise<void> {
    await this.call('define', (h) => h.domainDefineXML(xml));
  }

  start(name: string): Promise<void> {
    return this.onDomain('start', name, (d) => d.create());
  }
  shutdown(name: string): Promise<void> {
    return this.onDomain('shutdown', name, (d) => d.shutdown());
  }
  destroy(name: string): Promise<void> {
    return this.onDomain('destroy', name, (d) => d.destroy());
  }
  /**
   * A plain virDomainUndefine refuses a domain with snapshot (or checkpoint, or nvram) metadata; the addon has no
   * flags, so such a domain is undefined through virsh with them.
   */
  async undefine(name: string): Promise<void> {
    try {
      await this.onDomain('undefine', name, (d) => d.undefine());
    } catch (err) {
      if (!/snapshot|checkpoint|nvram/i.test(errorMessage(err))) throw err;
      await this.virsh('undefine', ['undefine', name, '--snapshots-metadata', '--checkpoints-metadata', '--nvram']);
    }
  }
  pause(name: string): Promise<void> {
    return this.onDomain('pause', name, (d) => d.suspend());
  }
  resume(name: string): Promise<void> {
    return this.onDomain('resume', name, (d) => d.resume());
  }
  xml(name: string): Promise<string> {
    return this.onDomain('xml', name, (d) => d.getXMLDesc());
  }

  async snapshotNames(name: string): Promise<string[]> {
    const out = await this.virsh('snapshotNames', ['snapshot-list', name, '--name']);
    return out.split('\n').map((l) => l.trim()).filter(Boolean);
  }
  /** Internal snapshot: disk and, for a running or paused guest, its memory (the guest is paused while it is written). */
  async snapshotCreate(name: string, snapshot: string): Promise<void> {
    if ((await this.snapshotNames(name)).includes(snapshot)) return;
    await this.virsh('snapshotCreate', ['snapshot-create-as', name, snapshot, '--atomic'], 30 * 60_000);
  }
  async snapshotRevert(name: string, snapshot: string): Promise<void> {
    await this.virsh('snapshotRevert', ['snapshot-revert', name, snapshot], 30 * 60_000);
  }
  async snapshotDelete(name: string, snapshot: string): Promise<void> {
    if (!(await this.snapshotNames(name)).includes(snapshot)) return;
    await this.virsh('snapshotDelete', ['snapshot-delete', name, snapshot], 30 * 60_000);
  }

  /** One virsh call on this connection (argument array, never a shell), its errors classified like the addon's. */
  private async virsh(what: string, args: string[], timeoutMs = 120_000): Promise<string> {
    try {
      return (await this.exec('virsh', ['-q', '-c', this.uri, ...args], { timeoutMs })).stdout;
    } catch (err) {
      const e = classifyLibvirtError(err instanceof ExecError ? new Error(err.stderr || err.message) : err);
      this.log.warn(`virsh ${what} failed`, { error: e.message });
      throw e;
    }
  }

  /**
   * Look a domain up and run one call on it, keeping the domain object reachable until the call
   * returns. The addon frees the native virDomainPtr when its JS object is garbage-collected, even
   * while a call on it is still running in a worker thread: without this, a GC at the wrong moment
   * gave "invalid domain pointer in virDomainGetInfo" or a segmentation fault under load.
   */
  private onDomain<T>(what: string, name: string, fn: (d: LvDomain) => Promise<T>): Promise<T> {
    return this.call(what, async (h) => {
      const d = await this.lookup(h, name);
      this.inUse.add(d);
      try {
        return await fn(d);
      } finally {
        this.inUse.delete(d);
      }
    });
  }
}
