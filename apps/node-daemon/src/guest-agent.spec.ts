import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execProgram, type Exec } from './host/exec.js';
import { classifyAgentError, GuestAgentError, GuestAgentErrorCode, VirshGuestAgent, withFrozenFilesystems, type GuestAgent } from './guest-agent.js';
import { FakeHypervisor } from './hypervisor/fake.js';
import { DomainLifecycle } from './hypervisor/lifecycle.js';
import { execFileSync } from 'node:child_process';

const HASH = '$6$abcdefghijklmnop$' + 'x'.repeat(86);

test("libvirt's words for a missing or silent agent, a stopped domain and an agent error are told apart", () => {
  const c = (m: string) => classifyAgentError(new Error(m)).code;
  assert.equal(c('error: Guest agent is not responding: QEMU guest agent is not connected'), GuestAgentErrorCode.Unavailable);
  assert.equal(c('error: argument unsupported: QEMU guest agent is not configured'), GuestAgentErrorCode.Unavailable);
  assert.equal(c('error: Guest agent is not responding: Guest agent not available for now'), GuestAgentErrorCode.Unavailable);
  assert.equal(c('error: Requested operation is not valid: domain is not running'), GuestAgentErrorCode.NotRunning);
  assert.equal(c("error: failed to get domain 'x'"), GuestAgentErrorCode.NotRunning);
  assert.equal(c('error: internal error: unable to execute QEMU agent command: chpasswd failed'), GuestAgentErrorCode.Failed);
});

// libvirt's test driver implements fsfreeze and set-user-password (not agent commands or agent shutdown): the
// real virsh, the real argument lists and virsh's shell on stdin.
const virsh = (() => {
  try {
    execFileSync('virsh', ['--version']);
    return true;
  } catch {
    return false;
  }
})();
test('through the real virsh: freeze/thaw counts, a password hash set over stdin, a missing domain refused, no agent = no ping', { skip: virsh ? false : 'virsh is not installed' }, async () => {
  const argv: string[][] = [];
  const exec: Exec = (file, args, opts) => {
    argv.push([file, ...args]);
    return execProgram(file, args, opts);
  };
  const agent = new VirshGuestAgent('test:///default', exec);
  assert.equal(await agent.fsFreeze('test'), 2);
  // each virsh process opens its own test:///default, where nothing is frozen yet
  assert.equal(await agent.fsThaw('test'), 0);
  await agent.setUserPassword('test', 'root', HASH);
  assert.ok(argv.every((a) => !a.join(' ').includes(HASH)), 'the hash never is an argument of a process');
  await assert.rejects(agent.setUserPassword('missing', 'root', HASH), (e: unknown) => e instanceof GuestAgentError && e.code === GuestAgentErrorCode.NotRunning);
  await assert.rejects(agent.setUserPassword('test', 'root', "x' ; destroy test"), /crypt/);
  await assert.rejects(agent.setUserPassword('test', 'root; x', HASH), /user name/);
  assert.equal(await agent.ping('test'), false);
});

/** An agent in memory, for the policies built on the port (as FakeHypervisor is for the lifecycle). */
class MemoryAgent implements GuestAgent {
  readonly calls: string[] = [];
  constructor(
    private readonly answers: boolean,
    private readonly onShutdown?: () => Promise<void>,
  ) {}
  async ping(d: string) {
    this.calls.push(`ping:${d}`);
    return this.answers;
  }
  async shutdown(d: string) {
    this.calls.push(`shutdown:${d}`);
    await this.onShutdown?.();
  }
  async fsFreeze(d: string) {
    this.calls.push(`freeze:${d}`);
    return 1;
  }
  async fsThaw(d: string) {
    this.calls.push(`thaw:${d}`);
    return 1;
  }
  async setUserPassword(d: string, u: string) {
    this.calls.push(`password:${d}:${u}`);
  }
}

test('snapshots: filesystems frozen around the copy and thawed even when it fails; without an agent the copy is taken unfrozen and says so', async () => {
  const agent = new MemoryAgent(true);
  assert.deepEqual(await withFrozenFilesystems(agent, 'd1', async () => 'snap'), { value: 'snap', frozen: true });
  assert.deepEqual(agent.calls, ['ping:d1', 'freeze:d1', 'thaw:d1']);
  await assert.rejects(withFrozenFilesystems(agent, 'd1', async () => Promise.reject(new Error('disk full'))), /disk full/);
  assert.equal(agent.calls.at(-1), 'thaw:d1');
  const none = new MemoryAgent(false);
  assert.deepEqual(await withFrozenFilesystems(none, 'd1', async () => 1), { value: 1, frozen: false });
  assert.deepEqual(none.calls, ['ping:d1']);
});

test('stop: through the guest agent when it answers, ACPI when it does not', async () => {
  const hv = new FakeHypervisor();
  await hv.define(`<domain type='test'><name>d1</name></domain>`);
  await hv.start('d1');
  const agent = new MemoryAgent(true, () => hv.destroy('d1'));
  assert.equal(await new DomainLifecycle(hv, { pollMinMs: 5, agent }).stop('d1', 5), 'agent');
  assert.ok(!hv.calls.includes('shutdown:d1'));
  await hv.start('d1');
  hv.acpi = 'delayed';
  hv.acpiDelayMs = 20;
  assert.equal(await new DomainLifecycle(hv, { pollMinMs: 5, agent: new MemoryAgent(false) }).stop('d1', 5), 'acpi');
});
