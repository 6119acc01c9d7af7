import { DomainState } from '@oblako/contracts';
import { HypervisorError, HypervisorErrorCode, type DomainSummary, type HypervisorPort, type NodeCapacity } from './port.js';

interface FakeDomain {
  xml: string;
  state: DomainState;
  /** snapshot name -> the state the domain had when it was taken */
  snapshots?: Map<string, DomainState>;
}

/**
 * In-memory HypervisorPort for unit tests. `acpi: 'ignore'` makes guests ignore shutdown
 * requests (to exercise destroy-after-grace); `failNext` makes the next call of a method fail.
 */
export class FakeHypervisor implements HypervisorPort {
  readonly uri = 'fake:///';
  readonly domains = new Map<string, FakeDomain>();
  readonly calls: string[] = [];
  acpi: 'obey' | 'ignore' | 'delayed' = 'obey';
  acpiDelayMs = 50;
  /** Make every start take this long (a slow host, or a daemon frozen mid-command). */
  startDelayMs = 0;
  private failures = new Map<string, Error>();
  connected = false;

  failNext(method: keyof HypervisorPort, err: Error = new HypervisorError(HypervisorErrorCode.Other, `injected ${method} failure`)): void {
    this.failures.set(method, err);
  }
  private hit(method: string, name?: string): void {
    this.calls.push(name ? `${method}:${name}` : method);
    const f = this.failures.get(method);
    if (f) {
      this.failures.delete(method);
      throw f;
    }
  }
  private get(name: string): FakeDomain {
    const d = this.domains.get(name);
    if (!d) throw new HypervisorError(HypervisorErrorCode.NotFound, `Domain not found: ${name}`);
    return d;
  }

  describe() {
    return 'fake';
  }
  async connect() {
    this.hit('connect');
    this.connected = true;
  }
  async close() {
    this.hit('close');
    this.connected = false;
  }
  async capacity(): Promise<NodeCapacity> {
    this.hit('capacity');
    return { vcpus: 16, memoryMiB: 65536 };
  }
  async state(name: string) {
    this.hit('state', name);
    return this.domains.get(name)?.state ?? DomainState.Missing;
  }
  async list(): Promise<DomainSummary[]> {
    this.hit('list');
    return [...this.domains].map(([name, d]) => ({ name, state: d.state }));
  }
  async define(xml: string) {
    this.hit('define');
    const name = /<name>([^<]+)<\/name>/.exec(xml)?.[1];
    if (!name) throw new HypervisorError(HypervisorErrorCode.Other, 'XML has no <name>');
    const existing = this.domains.get(name);
    this.domains.set(name, { xml, state: existing?.state ?? DomainState.ShutOff });
  }
  async start(name: string) {
    this.hit('start', name);
    if (this.startDelayMs) await new Promise((r) => setTimeout(r, this.startDelayMs));
    const d = this.get(name);
    if (d.state === DomainState.Running) throw new HypervisorError(HypervisorErrorCode.AlreadyRunning, 'domain is already running');
    d.state = DomainState.Running;
  }
  async shutdown(name: string) {
    this.hit('shutdown', name);
    const d = this.get(name);
    if (d.state !== DomainState.Running) throw new HypervisorError(HypervisorErrorCode.NotRunning, 'domain is not running');
    if (this.acpi === 'obey') d.state = DomainState.ShutOff;
    else if (this.acpi === 'delayed') setTimeout(() => (d.state = DomainState.ShutOff), this.acpiDelayMs);
  }
  async destroy(name: string) {
    this.hit('destroy', name);
    const d = this.get(name);
    if (d.state === DomainState.ShutOff) throw new HypervisorError(HypervisorErrorCode.NotRunning, 'domain is not running');
    d.state = DomainState.ShutOff;
  }
  async undefine(name: string) {
    this.hit('undefine', name);
    this.get(name);
    this.domains.delete(name);
  }
  async pause(name: string) {
    this.hit('pause', name);
    this.get(name).state = DomainState.Paused;
  }
  async resume(name: string) {
    this.hit('resume', name);
    this.get(name).state = DomainState.Running;
  }
  async xml(name: string) {
    this.hit('xml', name);
    return this.get(name).xml;
  }
  async snapshotNames(name: string): Promise<string[]> {
    this.hit('snapshotNames', name);
    return [...(this.get(name).snapshots?.keys() ?? [])];
  }
  async snapshotCreate(name: string, snapshot: string): Promise<void> {
    this.hit('snapshotCreate', name);
    const d = this.get(name);
    d.snapshots ??= new Map();
    if (!d.snapshots.has(snapshot)) d.snapshots.set(snapshot, d.state);
  }
  async snapshotRevert(name: string, snapshot: string): Promise<void> {
    this.hit('snapshotRevert', name);
    const d = this.get(name);
    const was = d.snapshots?.get(snapshot);
    if (was === undefined) throw new HypervisorError(HypervisorErrorCode.Other, `no domain snapshot with matching name '${snapshot}'`);
    d.state = was;
  }
  async snapshotDelete(name: string, snapshot: string): Promise<void> {
    this.hit('snapshotDelete', name);
    this.get(name).snapshots?.delete(snapshot);
  }
}
