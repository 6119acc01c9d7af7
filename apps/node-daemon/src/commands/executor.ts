import { DomainState, TaskOp, type CommandOf, type NodeCommand } from '@oblako/contracts';
import { DomainLifecycle } from '../hypervisor/lifecycle.js';
import { HypervisorError, HypervisorErrorCode, type HypervisorPort } from '../hypervisor/port.js';
import { errorMessage } from '../log.js';
import { domainName } from '../naming.js';
import type { ServerProvisioner } from './provisioner.js';
import type { StepRecorder } from './recorder.js';

export interface Outcome {
  ok: boolean;
  domainState: DomainState;
  error?: { code: string; message: string };
}

/** A command that cannot succeed, with a machine-readable code and a message a person can act on. */
export class CommandFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'CommandFailure';
  }
}

export const FailureCode = {
  DomainMissing: 'domain_missing',
  NotSupported: 'not_supported',
  InvalidCommand: 'invalid_command',
  WrongNode: 'wrong_node',
  HostError: 'host_error',
  NotRunning: 'not_running',
  NotPaused: 'not_paused',
} as const;

export interface ExecutorOptions {
  /** Grace for ACPI shutdowns the command does not specify (reboot, rebuild). */
  stopGraceSeconds: number;
}

/**
 * Executes one validated command against the hypervisor, idempotently: each handler looks at
 * the domain's current state first, so a redelivered command converges on the same result
 * (a second create finds the domain it made, a second delete finds nothing to delete).
 */
export class CommandExecutor {
  readonly lifecycle: DomainLifecycle;

  constructor(
    private readonly hv: HypervisorPort,
    private readonly provisioner: ServerProvisioner,
    private readonly opts: ExecutorOptions,
    lifecycle?: DomainLifecycle,
  ) {
    this.lifecycle = lifecycle ?? new DomainLifecycle(hv);
  }

  async execute(cmd: NodeCommand, rec: StepRecorder): Promise<Outcome> {
    try {
      await this.dispatch(cmd, rec);
    } catch (err) {
      const domainState = await this.hv.state(domainName(cmd.serverId)).catch(() => DomainState.Other);
      if (err instanceof CommandFailure) return { ok: false, domainState, error: { code: err.code, message: err.message } };
      if (err instanceof HypervisorError) return { ok: false, domainState, error: { code: err.code, message: err.message } };
      return { ok: false, domainState, error: { code: FailureCode.HostError, message: errorMessage(err) } };
    }
    const domainState = await rec.step('state', () => this.hv.state(domainName(cmd.serverId)));
    return { ok: true, domainState };
  }

  private dispatch(cmd: NodeCommand, rec: StepRecorder): Promise<void> {
    switch (cmd.op) {
      case TaskOp.Create:
        return this.create(cmd, rec);
      case TaskOp.Start:
        return this.start(cmd, rec);
      case TaskOp.Stop:
        return this.stop(cmd.serverId, cmd.graceSeconds, rec);
      case TaskOp.Reboot:
        return this.reboot(cmd, rec);
      case TaskOp.Rebuild:
        return this.rebuild(cmd, rec);
      case TaskOp.Delete:
        return this.delete(cmd, rec);
      case TaskOp.Suspend:
        // Billing/staff suspension powers the server off; the API keeps it from being started.
        return this.stop(cmd.serverId, cmd.graceSeconds, rec);
      case TaskOp.Unsuspend:
        return cmd.start ? this.start(cmd, rec) : this.requireDomain(cmd.serverId, rec).then(() => undefined);
      case TaskOp.Resize:
        return this.resize(cmd, rec);
      case TaskOp.Pause:
        return this.pause(cmd.serverId, rec);
      case TaskOp.Resume:
        return this.resume(cmd.serverId, rec);
    }
  }

  /** Freeze a running guest in memory; a paused one stays paused (a redelivery converges). */
  private async pause(serverId: string, rec: StepRecorder): Promise<void> {
    const state = await this.requireDomain(serverId, rec);
    if (state === DomainState.Paused) return;
    if (state !== DomainState.Running) throw new CommandFailure(FailureCode.NotRunning, `server ${serverId} is ${state}, not running; only a running server can be paused`);
    await rec.step('pause', () => this.hv.pause(domainName(serverId)), { hypervisor: true, progress: 50 });
  }

  /** Let a paused guest run on; a running one is left as it is. */
  private async resume(serverId: string, rec: StepRecorder): Promise<void> {
    const state = await this.requireDomain(serverId, rec);
    if (state === DomainState.Running) return;
    if (state !== DomainState.Paused) throw new CommandFailure(FailureCode.NotPaused, `server ${serverId} is ${state}, not paused; start it instead`);
    await rec.step('resume', () => this.hv.resume(domainName(serverId)), { hypervisor: true, progress: 50 });
  }

  private async requireDomain(serverId: string, rec: StepRecorder): Promise<DomainState> {
    const name = domainName(serverId);
    const state = await rec.step('lookup', () => this.hv.state(name), { hypervisor: true });
    if (state === DomainState.Missing) throw new CommandFailure(FailureCode.DomainMissing, `server ${serverId} has no domain on this node`);
    return state;
  }

  private async create(cmd: CommandOf<'create'>, rec: StepRecorder): Promise<void> {
    if (cmd.spec.serverId !== cmd.serverId) {
      throw new CommandFailure(FailureCode.InvalidCommand, `spec.serverId ${cmd.spec.serverId} differs from the command's serverId ${cmd.serverId}`);
    }
    const name = domainName(cmd.serverId);
    let state = await rec.step('lookup', () => this.hv.state(name), { hypervisor: true, progress: 5 });
    if (state === DomainState.Missing) {
      const xml = await this.provisioner.prepare(cmd.spec, rec);
      await rec.step('define', () => this.hv.define(xml), { hypervisor: true, progress: 80 });
      state = DomainState.ShutOff;
    } else {
      await this.provisioner.beforeStart(cmd.serverId, rec);
    }
    if (state !== DomainState.Running) {
      await rec.step('start', () => this.lifecycle.ensureRunning(name), { hypervisor: true, progress: 90 });
      await this.provisioner.afterStart(cmd.serverId, rec);
    }
  }

  private async start(cmd: { serverId: string }, rec: StepRecorder): Promise<void> {
    const state = await this.requireDomain(cmd.serverId, rec);
    if (state === DomainState.Running) return;
    await this.provisioner.beforeStart(cmd.serverId, rec);
    await rec.step('start', () => this.lifecycle.ensureRunning(domainName(cmd.serverId)), { hypervisor: true, progress: 50 });
    await this.provisioner.afterStart(cmd.serverId, rec);
  }

  private async stop(serverId: string, graceSeconds: number, rec: StepRecorder): Promise<void> {
    await this.requireDomain(serverId, rec);
    await rec.step('stop', () => this.lifecycle.stop(domainName(serverId), graceSeconds, () => rec.keepAlive()), { hypervisor: true, progress: 50 });
  }

  private async reboot(cmd: CommandOf<'reboot'>, rec: StepRecorder): Promise<void> {
    const state = await this.requireDomain(cmd.serverId, rec);
    const name = domainName(cmd.serverId);
    if (state !== DomainState.ShutOff && state !== DomainState.Crashed) {
      await rec.step('stop', () => this.lifecycle.stop(name, this.opts.stopGraceSeconds, () => rec.keepAlive()), { hypervisor: true, progress: 30 });
    }
    await this.provisioner.beforeStart(cmd.serverId, rec);
    await rec.step('start', () => this.lifecycle.ensureRunning(name), { hypervisor: true, progress: 70 });
    await this.provisioner.afterStart(cmd.serverId, rec);
  }

  /** Rebuild from spec.image keeping the server's addresses; the server runs afterwards. */
  private async rebuild(cmd: CommandOf<'rebuild'>, rec: StepRecorder): Promise<void> {
    if (cmd.spec.serverId !== cmd.serverId) {
      throw new CommandFailure(FailureCode.InvalidCommand, `spec.serverId ${cmd.spec.serverId} differs from the command's serverId ${cmd.serverId}`);
    }
    const name = domainName(cmd.serverId);
    const state = await rec.step('lookup', () => this.hv.state(name), { hypervisor: true, progress: 5 });
    if (state !== DomainState.Missing) {
      // The old disk is thrown away: no need to wait for a graceful shutdown.
      await rec.step('stop', () => this.lifecycle.stop(name, 0), { hypervisor: true, progress: 10 });
    }
    const xml = await this.provisioner.rebuild(cmd.spec, rec);
    await rec.step('define', () => this.hv.define(xml), { hypervisor: true, progress: 80 });
    await this.provisioner.beforeStart(cmd.serverId, rec);
    await rec.step('start', () => this.lifecycle.ensureRunning(name), { hypervisor: true, progress: 90 });
    await this.provisioner.afterStart(cmd.serverId, rec);
  }

  /** Cold resize: stop (graceful), grow the disk, redefine with the new vCPU/memory/limits, start again if it was running. */
  private async resize(cmd: CommandOf<'resize'>, rec: StepRecorder): Promise<void> {
    if (cmd.spec.serverId !== cmd.serverId) {
      throw new CommandFailure(FailureCode.InvalidCommand, `spec.serverId ${cmd.spec.serverId} differs from the command's serverId ${cmd.serverId}`);
    }
    const name = domainName(cmd.serverId);
    const state = await this.requireDomain(cmd.serverId, rec);
    const wasRunning = state === DomainState.Running || state === DomainState.Paused;
    if (wasRunning) {
      await rec.step('stop', () => this.lifecycle.stop(name, this.opts.stopGraceSeconds, () => rec.keepAlive()), { hypervisor: true, progress: 20 });
    }
    try {
      const xml = await this.provisioner.resize(cmd.spec, rec);
      await rec.step('define', () => this.hv.define(xml), { hypervisor: true, progress: 70 });
    } catch (err) {
      // leave the server as it was: running with its old definition
      if (wasRunning) await this.lifecycle.ensureRunning(name).catch(() => undefined);
      throw err;
    }
    if (wasRunning) {
      await this.provisioner.beforeStart(cmd.serverId, rec);
      await rec.step('start', () => this.lifecycle.ensureRunning(name), { hypervisor: true, progress: 90 });
      await this.provisioner.afterStart(cmd.serverId, rec);
    }
  }

  private async delete(cmd: CommandOf<'delete'>, rec: StepRecorder): Promise<void> {
    const name = domainName(cmd.serverId);
    await rec.step('undefine', () => this.lifecycle.remove(name), { hypervisor: true, progress: 30 });
    await this.provisioner.cleanup(cmd.serverId, cmd.addresses, rec);
  }
}

export function isHypervisorUnreachable(err: unknown): boolean {
  return err instanceof HypervisorError && err.code === HypervisorErrorCode.Connection;
}
