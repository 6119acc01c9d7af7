import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeHypervisor } from './fake.js';
import { DomainLifecycle } from './lifecycle.js';

const xml = (name: string) => `<domain type='test'><name>${name}</name></domain>`;

async function running(name = 'd1') {
  const hv = new FakeHypervisor();
  await hv.define(xml(name));
  await hv.start(name);
  return { hv, lc: new DomainLifecycle(hv, { pollMinMs: 5, pollMaxMs: 20 }) };
}

test('stop: ACPI shutdown that the guest obeys is not followed by destroy', async () => {
  const { hv, lc } = await running();
  hv.acpi = 'delayed';
  hv.acpiDelayMs = 30;
  assert.equal(await lc.stop('d1', 5), 'acpi');
  assert.ok(!hv.calls.includes('destroy:d1'));
});

test('stop: a guest that ignores ACPI is destroyed after the grace period', async () => {
  const { hv, lc } = await running();
  hv.acpi = 'ignore';
  const t0 = performance.now();
  assert.equal(await lc.stop('d1', 0.2), 'destroyed');
  assert.ok(performance.now() - t0 >= 190);
  assert.equal(await hv.state('d1'), 'shutoff');
});

test('stop of a stopped domain is a no-op; of a missing one a not-found error', async () => {
  const { hv, lc } = await running();
  await hv.destroy('d1');
  assert.equal(await lc.stop('d1', 5), 'already-off');
  await assert.rejects(lc.stop('nope', 5), /not defined/);
});

test('reboot is stop + start; remove is safe to repeat', async () => {
  const { hv, lc } = await running();
  await lc.reboot('d1', 1);
  assert.equal(await hv.state('d1'), 'running');
  assert.deepEqual(hv.calls.filter((c) => /shutdown|start/.test(c)).slice(-2), ['shutdown:d1', 'start:d1']);
  assert.equal(await lc.remove('d1'), true);
  assert.equal(await lc.remove('d1'), false);
  assert.equal(await hv.state('d1'), 'missing');
});

test('ensureRunning resumes a paused domain and leaves a running one alone', async () => {
  const { hv, lc } = await running();
  await hv.pause('d1');
  assert.equal(await lc.ensureRunning('d1'), 'running');
  const before = hv.calls.length;
  await lc.ensureRunning('d1');
  assert.ok(!hv.calls.slice(before).some((c) => c.startsWith('start')));
});

test('the transition table covers every action from every state', async () => {
  const { DOMAIN_STATES } = await import('@oblako/contracts');
  const { POWER_TRANSITIONS } = await import('./transitions.js');
  for (const action of Object.keys(POWER_TRANSITIONS) as (keyof typeof POWER_TRANSITIONS)[]) {
    for (const st of DOMAIN_STATES) assert.ok(['act', 'noop', 'refuse'].includes(POWER_TRANSITIONS[action][st]), `${action} from ${st}`);
  }
  assert.equal(POWER_TRANSITIONS.start.missing, 'refuse');
  assert.equal(POWER_TRANSITIONS.remove.missing, 'noop');
  assert.equal(POWER_TRANSITIONS.stop.shutoff, 'noop');
});
