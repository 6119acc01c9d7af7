import { ExecError, type Exec } from './host/exec.js';
import { errorMessage } from './log.js';

/**
 * The QEMU guest agent (qemu-guest-agent inside the guest), reached through libvirt. Every domain has the
 * agent's virtio-serial channel (`org.qemu.guest_agent.0`); whether anything answers on it depends on the
 * image: real distributions ship the agent, the busybox test guest does not.
 *
 * The @unraid/libvirt addon has no agent calls, so this goes through `virsh` (execFile, argument arrays; a
 * password hash travels on virsh's standard input, never in a process's argument list). Where libvirt has
 * its own call (agent shutdown, fsfreeze, set-user-password) it is used, so libvirt tracks the guest's
 * state; only the ping is a raw agent command (`guest-ping`).
 */
export interface GuestAgent {
  /** Whether the agent answers `guest-ping` within `timeoutSeconds`. Never throws for a silent agent. */
  ping(domain: string, timeoutSeconds?: number): Promise<boolean>;
  /** `guest-shutdown` (powerdown): returns once the agent took the request; the guest powers off after. */
  shutdown(domain: string): Promise<void>;
  /** `guest-fsfreeze-freeze`: flush and freeze every mounted filesystem; returns how many were frozen. */
  fsFreeze(domain: string): Promise<number>;
  /** `guest-fsfreeze-thaw`; returns how many were thawed. */
  fsThaw(domain: string): Promise<number>;
  /** `guest-set-user-password` with a crypt(3) hash (`crypted: true`): the clear password never reaches the node. */
  setUserPassword(domain: string, user: string, cryptHash: string): Promise<void>;
}

export const GuestAgentErrorCode = {
  /** No agent answers in the guest (none installed, not started yet, or it hung). */
  Unavailable: 'agent_unavailable',
  NotRunning: 'not_running',
  /** The agent answered with an error. */
  Failed: 'agent_error',
} as const;
export type GuestAgentErrorCode = (typeof GuestAgentErrorCode)[keyof typeof GuestAgentErrorCode];

export class GuestAgentError extends Error {
  constructor(
    readonly code: GuestAgentErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'GuestAgentError';
  }
}

/* libvirt 9's words for each case (qemu_agent.c, qemu_domain.c). */
const UNAVAILABLE = /guest agent is not (configured|connected|responding)|agent not available|not available for now|agent is not configured|timed out|timeout|not supported by the connection driver/i;
const NOT_RUNNING = /domain is not running|not active|domain not found|no domain with matching|failed to get domain/i;

/** A virsh failure as a GuestAgentError the handlers can act on. */
export function classifyAgentError(err: unknown): GuestAgentError {
  if (err instanceof GuestAgentError) return err;
  const msg = err instanceof ExecError ? err.stderr.trim() || err.message : errorMessage(err);
  if (err instanceof ExecError && err.exitCode === 'ETIMEDOUT') return new GuestAgentError(GuestAgentErrorCode.Unavailable, `the guest agent did not answer in time (${msg.slice(0, 300)})`);
  if (NOT_RUNNING.test(msg)) return new GuestAgentError(GuestAgentErrorCode.NotRunning, `the server is not running (${msg.slice(0, 300)})`);
  if (UNAVAILABLE.test(msg)) return new GuestAgentError(GuestAgentErrorCode.Unavailable, `no guest agent answers in this server (${msg.slice(0, 300)})`);
  return new GuestAgentError(GuestAgentErrorCode.Failed, `the guest agent failed: ${msg.slice(0, 500)}`);
}

const DOMAIN = /^[A-Za-z0-9_.-]{1,128}$/;
const USER = /^[a-z_][a-z0-9_-]{0,31}$/;
/** crypt(3) alphabet only: safe inside virsh's single quotes, and nothing a shell-like parser would expand. */
const CRYPT = /^\$[0-9a-z]{1,4}(\$[A-Za-z0-9./=,+-]{1,256}){1,4}$/;

function checkDomain(domain: string): string {
  if (!DOMAIN.test(domain)) throw new GuestAgentError(GuestAgentErrorCode.Failed, `"${domain.slice(0, 80)}" is not a domain name`);
  return domain;
}

/** The guest agent through `virsh -c <uri>`. */
export class VirshGuestAgent implements GuestAgent {
  constructor(
    private readonly uri: string,
    private readonly exec: Exec,
    private readonly opts: { timeoutSeconds?: number } = {},
  ) {}

  private get timeoutMs(): number {
    return (this.opts.timeoutSeconds ?? 30) * 1000;
  }

  private async virsh(args: string[], opts: { input?: string; timeoutMs?: number; quiet?: boolean } = {}): Promise<string> {
    return (await this.virshFull(args, opts)).stdout;
  }

  private async virshFull(args: string[], opts: { input?: string; timeoutMs?: number; quiet?: boolean } = {}): Promise<{ stdout: string; stderr: string }> {
    try {
      return await this.exec('virsh', [...(opts.quiet === false ? [] : ['-q']), '-c', this.uri, ...args], { timeoutMs: opts.timeoutMs ?? this.timeoutMs, ...(opts.input !== undefined ? { input: opts.input } : {}) });
    } catch (err) {
      throw classifyAgentError(err);
    }
  }

  async ping(domain: string, timeoutSeconds = 2): Promise<boolean> {
    try {
      const out = await this.virsh(['qemu-agent-command', checkDomain(domain), '--timeout', String(timeoutSeconds), '{"execute":"guest-ping"}'], { timeoutMs: (timeoutSeconds + 10) * 1000 });
      return /"return"/.test(out);
    } catch (err) {
      if (err instanceof GuestAgentError && err.code !== GuestAgentErrorCode.Failed) return false;
      throw err;
    }
  }

  async shutdown(domain: string): Promise<void> {
    await this.virsh(['shutdown', checkDomain(domain), '--mode', 'agent']);
  }

  async fsFreeze(domain: string): Promise<number> {
    return countOf(await this.virsh(['domfsfreeze', checkDomain(domain)], { quiet: false }));
  }

  async fsThaw(domain: string): Promise<number> {
    return countOf(await this.virsh(['domfsthaw', checkDomain(domain)], { quiet: false }));
  }

  async setUserPassword(domain: string, user: string, cryptHash: string): Promise<void> {
    if (!USER.test(user)) throw new GuestAgentError(GuestAgentErrorCode.Failed, `"${user.slice(0, 40)}" is not a user name`);
    if (!CRYPT.test(cryptHash)) throw new GuestAgentError(GuestAgentErrorCode.Failed, 'the password hash is not a crypt(3) hash');
    // virsh's own shell reads the command from stdin: the hash never appears in /proc/<pid>/cmdline. The shell
    // echoes its input on stdout, which is dropped; it reports a failed command on stderr and still exits 0.
    const { stderr } = await this.virshFull([], { input: `set-user-password --domain ${checkDomain(domain)} --user ${user} --password '${cryptHash}' --encrypted\n` });
    if (/^error:/m.test(stderr)) throw classifyAgentError(new Error(stderr.trim()));
  }
}

/** virsh's `Froze 2 filesystem(s)` / `Thawed 2 filesystem(s)`. */
function countOf(out: string): number {
  const m = /(\d+)/.exec(out);
  return m ? Number(m[1]) : 0;
}

/** A node without an agent channel to talk to (libvirt's test driver): every call says so. */
export const NO_GUEST_AGENT: GuestAgent = {
  ping: async () => false,
  shutdown: async () => {
    throw new GuestAgentError(GuestAgentErrorCode.Unavailable, 'this node has no guest agent access');
  },
  fsFreeze: async () => {
    throw new GuestAgentError(GuestAgentErrorCode.Unavailable, 'this node has no guest agent access');
  },
  fsThaw: async () => {
    throw new GuestAgentError(GuestAgentErrorCode.Unavailable, 'this node has no guest agent access');
  },
  setUserPassword: async () => {
    throw new GuestAgentError(GuestAgentErrorCode.Unavailable, 'this node has no guest agent access');
  },
};

export interface FrozenRun<T> {
  value: T;
  /** Whether the filesystems were frozen while `fn` ran (false: no agent answered; the copy is crash-consistent). */
  frozen: boolean;
}

/**
 * For snapshots and backups: freeze the guest's filesystems, run `fn` (take the snapshot), thaw them whatever
 * happened. With no agent answering, `fn` runs anyway on the unfrozen guest (a crash-consistent copy) and
 * `frozen` says so. A freeze the agent refuses with an error is thrown: better no snapshot than a wrong claim.
 */
export async function withFrozenFilesystems<T>(agent: GuestAgent, domain: string, fn: () => Promise<T>): Promise<FrozenRun<T>> {
  let frozen = false;
  if (await agent.ping(domain)) {
    try {
      await agent.fsFreeze(domain);
      frozen = true;
    } catch (err) {
      if (!(err instanceof GuestAgentError && err.code === GuestAgentErrorCode.Unavailable)) throw err;
    }
  }
  try {
    return { value: await fn(), frozen };
  } finally {
    if (frozen) await agent.fsThaw(domain);
  }
}
