import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { DomainState, ORPHAN_DESTROY, OrphanReportSchema, WIRE_VERSION, type OrphanDestroyCommand } from '@oblako/contracts';
import { waitFor } from '@oblako/testing';
import { notOurs } from '../commands/orphans.js';
import { domainName } from '../naming.js';
import { command, Harness, spec } from './harness.js';

/** The node side of orphans (commands/orphans.ts) on libvirt's test driver and real NATS. */
describe('orphan commands on libvirt test:///default', () => {
  let h: Harness;
  before(async () => {
    h = await Harness.start({}, {}, { eventStream: true });
  });
  after(async () => {
    await h.stop();
  });

  const orphan = (serverId: string, issuedAt = Date.now()): OrphanDestroyCommand => ({
    v: WIRE_VERSION, kind: ORPHAN_DESTROY, nodeId: h.nodeId, serverId, reason: 'elsewhere', serverNodeId: 'other-node', issuedAt,
  });
  const report = async (serverId: string) => {
    const e = await waitFor(`orphan.report for ${serverId}`, () => h.events.find((x) => x.kind === 'orphan.report' && x.data.serverId === serverId), { timeoutMs: 10_000, intervalMs: 10 });
    return OrphanReportSchema.parse(e.data);
  };
  const created = async (serverId: string, issuedAt = Date.now()) => {
    const cmd = command(h.nodeId, 'create', serverId, { spec: spec({ serverId }), issuedAt });
    await h.publish(cmd);
    const r = await h.result(cmd.taskId);
    assert.equal(r.ok, true, JSON.stringify(r.error));
  };

  test('a domain the daemon made is destroyed and undefined; a second command finds it gone', async () => {
    const id = randomUUID();
    await created(id);
    assert.match(await h.daemon.hypervisor.xml(domainName(id)), /<oblako:server xmlns:oblako="https:\/\/oblako.dev\/xmlns\/domain\/1" id="[0-9a-f-]{36}"\/>/, 'the domain carries the mark');
    await h.publish(orphan(id), ORPHAN_DESTROY);
    const r = await report(id);
    assert.equal(r.outcome, 'destroyed', r.message);
    assert.equal(await h.daemon.hypervisor.state(domainName(id)), DomainState.Missing);
    h.events.length = 0;
    await h.publish(orphan(id), ORPHAN_DESTROY);
    assert.equal((await report(id)).outcome, 'gone');
  });

  test('a domain with Oblako\'s name but without its UUID or metadata mark is never touched', async () => {
    const hv = h.daemon.hypervisor;
    const bare = randomUUID();
    const plain = (name: string, uuid: string, metadata = '') =>
      `<domain type='test'><name>${name}</name><uuid>${uuid}</uuid>${metadata}<memory unit='MiB'>128</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain>`;
    await hv.define(plain(domainName(bare), bare));
    await hv.start(domainName(bare));
    const otherUuid = randomUUID();
    const wrongUuid = randomUUID();
    await hv.define(plain(domainName(wrongUuid), otherUuid, `<metadata><oblako:server xmlns:oblako="https://oblako.dev/xmlns/domain/1" id="${wrongUuid}"/></metadata>`));
    const foreignNs = randomUUID();
    await hv.define(plain(domainName(foreignNs), foreignNs, `<metadata><x:server xmlns:x="https://example.com/other" id="${foreignNs}"/></metadata>`));
    for (const [id, why] of [[bare, /no <metadata>/], [wrongUuid, /UUID/], [foreignNs, /has no <server/]] as const) {
      await h.publish(orphan(id), ORPHAN_DESTROY);
      const r = await report(id);
      assert.equal(r.outcome, 'refused', `${id}: ${r.message}`);
      assert.match(r.message, why);
      assert.notEqual(await hv.state(domainName(id)), DomainState.Missing, 'still there');
    }
    assert.equal(await hv.state(domainName(bare)), DomainState.Running, 'and still running');
  });

  test('a command of the server issued after the orphan command keeps the domain (a create placed back on this node)', async () => {
    const id = randomUUID();
    const toldAt = Date.now();
    await created(id, toldAt + 5); // issued after the API called it an orphan
    await h.publish(orphan(id, toldAt), ORPHAN_DESTROY);
    const r = await report(id);
    assert.equal(r.outcome, 'kept', r.message);
    assert.equal(await h.daemon.hypervisor.state(domainName(id)), DomainState.Running);
  });

  test('an orphan command for another node, or in another shape, is refused without touching anything', async () => {
    const id = randomUUID();
    await created(id);
    await h.publish({ ...orphan(id), nodeId: 'someone-else' }, ORPHAN_DESTROY);
    await h.publish({ ...orphan(id), serverId: '../../etc' }, ORPHAN_DESTROY);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(h.events.filter((x) => x.kind === 'orphan.report' && x.data.serverId === id).length, 0);
    assert.equal(await h.daemon.hypervisor.state(domainName(id)), DomainState.Running);
  });
});

describe('notOurs', () => {
  test('names what is missing, and accepts any namespace prefix libvirt writes back', () => {
    const id = randomUUID();
    assert.equal(notOurs(id, `<domain><uuid>${id}</uuid><metadata><ob:server xmlns:ob="https://oblako.dev/xmlns/domain/1" id="${id}"/></metadata></domain>`), null);
    assert.match(notOurs(id, `<domain><uuid>${id}</uuid></domain>`)!, /no <metadata>/);
    assert.match(notOurs(id, `<domain><uuid>${randomUUID()}</uuid></domain>`)!, /UUID/);
    assert.match(notOurs(id, `<domain><uuid>${id}</uuid><metadata><ob:server xmlns:ob="https://oblako.dev/xmlns/domain/1" id="${randomUUID()}"/></metadata></domain>`)!, /has no <server/);
  });
});
