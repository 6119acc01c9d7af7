import { DomainState } from '@oblako/contracts';
import { sleep } from '../clock.js';
import { NO_GUEST_AGENT, type GuestAgent } from '../guest-agent.js';
import { HypervisorError, HypervisorErrorCode, type HypervisorPort } from './port.js';
import { decide } from './transitions.js';

/** How a stop ended: the guest agent's clean shutdown, ACPI's, destroyed after the grace, or it was off. */
export type StopOutcome = 'already-off' | 'agent' | 'acpi' | 'destroyed';

const ACTIVE: readonly DomainState[] = [DomainState.Running, DomainState.Paused, DomainState.Other];

/**
 * Policies on top of the port: graceful stop (ACPI shutdown, wait up to the grace period,
 * then destroy), reboot as stop + start (the addon has no virDomainReboot: a cold reboot that
 * also applies the current definition), ensure-running and remove, each safe to repeat.
 */
export class DomainLifecycle {
  constructor(
    private readonly hv: HypervisorPort,
    private readonly opts: { pollMinMs?: number; pollMaxMs?: number; agent?: GuestAgent } = {},
  ) {}

  private get agent(): GuestAgent {
    return this.opts.agent ?? NO_GUEST_AGENT;
  }

  private notFound(name: string): HypervisorError {
    return new HypervisorError(HypervisorErrorCode.NotFound, `domain ${name} is not defined on this node`);
  }

  /** Start unless running; resume when paused. Returns the state after. */
  async ensureRunning(name: string): Promise<DomainState> {
    const state = await this.hv.state(name);
    const d = decide('start', state);
    if (d === 'refuse') throw this.notFound(name);
    if (d === 'noop') return state;
    if (state === DomainState.Paused) {
      await this.hv.resume(name);
      return DomainState.Running;
    }
    try {
      await this.hv.start(name);
    } catch (err) {
      if (!(err instanceof HypervisorError && err.code === HypervisorErrorCode.AlreadyRunning)) throw err;
    }
    return DomainState.Running;
  }

  /**
   * Clean shutdown, wait up to graceSeconds for the guest to power off, then destroy. The shutdown goes through
   * the guest agent (`guest-shutdown`) when it answers a ping, else (or when the agent refuses) ACPI.
   */
  async stop(name: string, graceSeconds: number, onWait?: () => void): Promise<StopOutcome> {
    const state = await this.hv.state(name);
    const d = decide('stop', state);
    if (d === 'refuse') throw this.notFound(name);
    if (d === 'noop') return 'already-off';
    if (state === DomainState.Paused || graceSeconds === 0) return this.destroy(name);
    let via: 'agent' | 'acpi' = 'acpi';
    if (await this.agent.ping(name, 1).catch(() => false)) {
      via = await this.agent.shutdown(name).then(() => 'agent' as const, () => 'acpi' as const);
    }
    if (via === 'acpi') {
      try {
        await this.hv.shutdown(name);
      } catch (err) {
        if (err instanceof HypervisorError && err.code === HypervisorErrorCode.NotRunning) return 'already-off';
        throw err;
      }
    }
    const deadline = performance.now() + graceSeconds * 1000;
    let wait = this.opts.pollMinMs ?? 10;
    const maxWait = this.opts.pollMaxMs ?? 250;
    for (;;) {
      const s = await this.hv.state(name);
      if (!ACTIVE.includes(s)) return via;
      const left = deadline - performance.now();
      if (left <= 0) break;
      onWait?.();
      await sleep(Math.min(wait, left));
      wait = Math.min(wait * 2, maxWait);
    }
    return this.destroy(name);
  }

  private async destroy(name: string): Promise<StopOutcome> {
    try {
      await this.hv.destroy(name);
      return 'destroyed';
    } catch (err) {
      if (err instanceof HypervisorError && err.code === HypervisorErrorCode.NotRunning) return 'already-off';
      throw err;
    }
  }

  /** Cold reboot: graceful stop (destroy after grace), then start. */
  async reboot(name: string, graceSeconds: number, onWait?: () => void): Promise<StopOutcome> {
    const how = await this.stop(name, graceSeconds, onWait);
    await this.ensureRunning(name);
    return how;
  }

  /** Destroy if active and undefine; a missing domain is fine. Returns whether one existed. */
  async remove(name: string): Promise<boolean> {
    const state = await this.hv.state(name);
    if (decide('remove', state) === 'noop') return false;
    if (ACTIVE.includes(state)) await this.destroy(name);
    try {
      await this.hv.undefine(name);
    } catch (err) {
      if (!(err instanceof HypervisorError && err.code === HypervisorErrorCode.NotFound)) throw err;
    }
    return true;
  }
}
