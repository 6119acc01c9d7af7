import { DomainState, type CommandOf, type NodeCommand, type OrphanDestroyCommand, type OrphanOutcome, type StoreDeleteCommand, type TaskOp } from '@oblako/contracts';
import type { BackupEngine } from '../backups/engine.js';
import { NO_GUEST_AGENT, type GuestAgent } from '../guest-agent.js';
import { DomainLifecycle } from '../hypervisor/lifecycle.js';
import { HypervisorError, HypervisorErrorCode, type HypervisorPort } from '../hypervisor/port.js';
import { errorMessage } from '../log.js';
import { domainName } from '../naming.js';
import { COMMAND_HANDLERS, CommandFailure, FailureCode, type CommandHandler, type HandlerContext, type TaskOutput } from './handlers/index.js';
import { destroyOrphan } from './orphans.js';
import type { ServerProvisioner } from './provisioner.js';
import { StepRecorder } from './recorder.js';

export { CommandFailure, FailureCode } from './handlers/index.js';

export interface Outcome {
  ok: boolean;
  domainState: DomainState;
  error?: { code: string; message: string };
  output?: TaskOutput;
}

export interface ExecutorOptions {
  /** Grace for ACPI shutdowns the command does not specify (reboot, rebuild). */
  stopGraceSeconds: number;
  /** Watchdog of a handler that names no timeout of its own. */
  defaultTimeoutMs?: number;
  /** The guests' agent (through libvirt); none on libvirt's test driver. */
  agent?: GuestAgent;
  /** Backups to SFTP/SSH stores (full provisioning only). */
  backups?: BackupEngine;
}

/** A handler that names no timeout gets this long (a create fetches an image the first time). */
export const DEFAULT_HANDLER_TIMEOUT_MS = 10 * 60 * 1000;

/**
 * Runs one validated command through its handler (commands/handlers/<op>.ts), under the handler's watchdog,
 * and turns whatever happened into an outcome with the domain's state afterwards.
 */
export class CommandExecutor {
  readonly lifecycle: DomainLifecycle;

  constructor(
    private readonly hv: HypervisorPort,
    private readonly provisioner: ServerProvisioner,
    private readonly opts: ExecutorOptions,
    lifecycle?: DomainLifecycle,
    private readonly handlers: { readonly [Op in TaskOp]: CommandHandler<Op> } = COMMAND_HANDLERS,
  ) {
    this.lifecycle = lifecycle ?? new DomainLifecycle(hv, { agent: opts.agent ?? NO_GUEST_AGENT });
  }

  /** The watchdog of this command: the handler's own timeout, or the default. */
  timeoutOf(cmd: NodeCommand, rec: StepRecorder): number {
    const handler = this.handlers[cmd.op] as CommandHandler;
    return handler.timeoutMs?.(cmd as CommandOf<TaskOp>, this.context(rec)) ?? this.opts.defaultTimeoutMs ?? DEFAULT_HANDLER_TIMEOUT_MS;
  }

  async execute(cmd: NodeCommand, rec: StepRecorder): Promise<Outcome> {
    const handler = this.handlers[cmd.op] as CommandHandler;
    const ctx = this.context(rec);
    const timeoutMs = this.timeoutOf(cmd, rec);
    let timer: NodeJS.Timeout | undefined;
    let output: TaskOutput | void;
    try {
      const watchdog = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new CommandFailure(FailureCode.Timeout, `the ${cmd.op} did not finish within ${Math.round(timeoutMs / 1000)} s on this node; it was abandoned`)),
          timeoutMs,
        );
      });
      output = await Promise.race([handler.run(cmd as CommandOf<TaskOp>, ctx), watchdog]);
    } catch (err) {
      const domainState = await this.hv.state(domainName(cmd.serverId)).catch(() => DomainState.Other);
      if (err instanceof CommandFailure) return { ok: false, domainState, error: { code: err.code, message: err.message } };
      if (err instanceof HypervisorError) return { ok: false, domainState, error: { code: err.code, message: err.message } };
      return { ok: false, domainState, error: { code: FailureCode.HostError, message: errorMessage(err) } };
    } finally {
      clearTimeout(timer);
    }
    const domainState = await rec.step('state', () => this.hv.state(domainName(cmd.serverId)));
    return { ok: true, domainState, ...(output ? { output } : {}) };
  }

  /** A domain the API says this node should no longer hold (orphans.ts: only Oblako's own domains are touched). */
  destroyOrphan(cmd: OrphanDestroyCommand): Promise<{ outcome: OrphanOutcome; message: string }> {
    return destroyOrphan({ hv: this.hv, lifecycle: this.lifecycle, provisioner: this.provisioner }, cmd);
  }

  /**
   * `store_delete`: remove a deleted server's backup (and any `.tmp` of it) from its store. No domain is involved;
   * a node without a backup engine says so.
   */
  async deleteFromStore(cmd: StoreDeleteCommand): Promise<{ ok: boolean; reason?: string }> {
    if (!this.opts.backups) return { ok: false, reason: 'this node takes no backups (it has no disk provisioning: OBLAKO_PROVISIONING is not "full")' };
    try {
      await this.opts.backups.remove(cmd.store, cmd.backup, new StepRecorder());
      return { ok: true };
    } catch (err) {
      const code = (err as { code?: string }).code;
      return { ok: false, reason: `${code ?? 'failed'}: ${errorMessage(err)}` };
    }
  }

  private context(rec: StepRecorder): HandlerContext {
    return { hv: this.hv, provisioner: this.provisioner, lifecycle: this.lifecycle, rec, agent: this.opts.agent ?? NO_GUEST_AGENT, stopGraceSeconds: this.opts.stopGraceSeconds, ...(this.opts.backups ? { backups: this.opts.backups } : {}) };
  }
}

export function isHypervisorUnreachable(err: unknown): boolean {
  return err instanceof HypervisorError && err.code === HypervisorErrorCode.Connection;
}
