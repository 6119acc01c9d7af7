import { DomainState, type CommandOf, type TaskOp } from '@oblako/contracts';
import type { BackupEngine } from '../../backups/engine.js';
import type { GuestAgent } from '../../guest-agent.js';
import type { DomainLifecycle } from '../../hypervisor/lifecycle.js';
import type { HypervisorPort } from '../../hypervisor/port.js';
import { domainName } from '../../naming.js';
import type { ServerProvisioner } from '../provisioner.js';
import type { StepRecorder } from '../recorder.js';

/** What a handler may report back with its result (`TaskResultEvent.output`). */
export type TaskOutput = Record<string, number | string | boolean>;

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
  /** No QEMU guest agent answers in the guest (reset_password needs one). */
  AgentUnavailable: 'agent_unavailable',
  SnapshotMissing: 'snapshot_missing',
  /** The handler did not finish within its watchdog timeout. */
  Timeout: 'timeout',
} as const;

/** What every handler gets: the hypervisor, the host work around a domain, the lifecycle helpers and the step recorder. */
export interface HandlerContext {
  readonly hv: HypervisorPort;
  readonly provisioner: ServerProvisioner;
  readonly lifecycle: DomainLifecycle;
  readonly rec: StepRecorder;
  /** The guest agent inside the node's guests (through libvirt); answers `agent_unavailable` where none runs. */
  readonly agent: GuestAgent;
  /** Grace for ACPI shutdowns the command does not specify (reboot, rebuild, resize). */
  readonly stopGraceSeconds: number;
  /** Backups to SFTP/SSH stores; absent where the node provisions no disks (libvirt's test driver). */
  readonly backups?: BackupEngine;
}

/**
 * The node side of one operation: `commands/handlers/<op>.ts`, listed in `handlers/index.ts`. `run` must be
 * idempotent: it looks at the domain first, so a redelivered command converges on the same result. `timeoutMs`
 * is the watchdog: past it the command fails with `timeout` and its worker moves on (default in the executor).
 */
export interface CommandHandler<Op extends TaskOp = TaskOp> {
  readonly op: Op;
  /** May return what it made (e.g. a snapshot's size): it goes back to the API as the result's `output`. */
  run(cmd: CommandOf<Op>, ctx: HandlerContext): Promise<void | TaskOutput>;
  /** Undefined: the executor's default. */
  timeoutMs?(cmd: CommandOf<Op>, ctx: HandlerContext): number | undefined;
}

/** The domain's state; a server with no domain here fails with `domain_missing`. */
export async function requireDomain(ctx: HandlerContext, serverId: string): Promise<DomainState> {
  const state = await ctx.rec.step('lookup', () => ctx.hv.state(domainName(serverId)), { hypervisor: true });
  if (state === DomainState.Missing) throw new CommandFailure(FailureCode.DomainMissing, `server ${serverId} has no domain on this node`);
  return state;
}

/** A command whose spec names another server is refused before anything is touched. */
export function requireOwnSpec(cmd: { serverId: string; spec: { serverId: string } }): void {
  if (cmd.spec.serverId !== cmd.serverId) {
    throw new CommandFailure(FailureCode.InvalidCommand, `spec.serverId ${cmd.spec.serverId} differs from the command's serverId ${cmd.serverId}`);
  }
}

/** Start an existing domain with the host work around it (tap and routes before, rate limits after); running stays running. */
export async function startDomain(ctx: HandlerContext, serverId: string, progress: number): Promise<void> {
  await ctx.provisioner.beforeStart(serverId, ctx.rec);
  await ctx.rec.step('start', () => ctx.lifecycle.ensureRunning(domainName(serverId)), { hypervisor: true, progress });
  await ctx.provisioner.afterStart(serverId, ctx.rec);
}

/**
 * Graceful stop (the guest agent, else ACPI; destroy after the grace), keeping the command alive at the broker
 * while it waits. How it ended is recorded as a step of its own (`stop_via_agent`, `stop_via_acpi`, ...).
 */
export async function stopDomain(ctx: HandlerContext, serverId: string, graceSeconds: number, progress: number): Promise<void> {
  const how = await ctx.rec.step('stop', () => ctx.lifecycle.stop(domainName(serverId), graceSeconds, () => ctx.rec.keepAlive()), { hypervisor: true, progress });
  await ctx.rec.step(`stop_via_${how.replace('-', '_')}`, async () => undefined);
}
