import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseNodeCommand } from './commands.js';
import { subjects } from './subjects.js';
import { hostnameProblem, HOSTNAME_PATTERN } from './validation.js';

const spec = {
  serverId: '6f1c2c3e-2d4b-4f7a-9b1e-0c2d3e4f5a6b',
  hostname: 'web-1.example.com',
  vcpus: 2, memoryMiB: 1024, diskGiB: 20, cpuQuotaPercent: 50, diskIops: 1000, diskMBps: 100, netMbit: 100,
  image: { id: '1f1c2c3e-2d4b-4f7a-9b1e-0c2d3e4f5a6b', name: 'Debian 12', url: 'file:///x.qcow2', sha256: 'a'.repeat(64), format: 'qcow2' },
  addresses: [{ family: 4, address: '10.0.0.5', prefix: 32, gateway: '10.0.0.1' }],
  sshKeys: [],
};

test('a create command parses and fills defaults', () => {
  const r = parseNodeCommand({ v: 1, taskId: '2f1c2c3e-2d4b-4f7a-9b1e-0c2d3e4f5a6b', serverId: spec.serverId, nodeId: 'n1', attempt: 1, issuedAt: 1, op: 'create', spec });
  assert.ok(r.ok);
  if (r.ok && r.command.op === 'create') {
    assert.equal(r.command.spec.cpuShares, 1024);
    assert.equal(r.command.spec.image.cloudInit, 'nocloud');
  }
});

test('a malformed command is refused with the field named', () => {
  const r = parseNodeCommand({ v: 1, taskId: 'nope', serverId: spec.serverId, nodeId: 'n1', attempt: 1, issuedAt: 1, op: 'create', spec: { ...spec, hostname: 'bad_host!' } });
  assert.equal(r.ok, false);
  assert.match(!r.ok ? r.error : '', /taskId/);
  assert.match(!r.ok ? r.error : '', /hostname/);
  assert.equal(parseNodeCommand({ op: 'format-disk' }).ok, false);
});

test('subjects derive from one prefix and refuse wildcard injection', () => {
  const s = subjects('t1.oblako');
  assert.equal(s.nodeCommand('node-1', 'create'), 't1.oblako.node.node-1.cmd.create');
  assert.equal(s.commandStream, 'T1_OBLAKO_COMMANDS');
  assert.throws(() => s.nodeCommand('a.>', 'create'), /node id/);
  assert.throws(() => s.nodeCommands('*'), /node id/);
  assert.deepEqual(s.parse('t1.oblako.node.node-1.evt.task.result'), { nodeId: 'node-1', channel: 'evt', name: 'task.result' });
  assert.equal(s.parse('other.node.x.evt.y'), null);
});

test('host names follow RFC 1123', () => {
  for (const ok of ['a', 'web-1', 'web1.example.com', '1host', 'x'.repeat(63)]) assert.ok(HOSTNAME_PATTERN.test(ok), ok);
  for (const bad of ['-a', 'a-', 'a..b', 'a_b', 'x'.repeat(64), '', 'a.', 'ünï']) {
    assert.ok(!HOSTNAME_PATTERN.test(bad), bad);
    assert.ok(hostnameProblem(bad), bad);
  }
});

test('a node may touch only its own subjects, consumer and inbox', async () => {
  const { natsNodePermissions, nodeInboxPrefix } = await import('./subjects.js');
  const s = subjects('oblako');
  const p = natsNodePermissions(s, 'node-a');
  assert.ok(p.publish.includes('oblako.node.node-a.evt.>'));
  assert.ok(p.publish.includes('$JS.API.CONSUMER.MSG.NEXT.OBLAKO_COMMANDS.node-node-a'));
  assert.deepEqual(p.subscribe, ['_INBOX_node-a.>', 'oblako.node.node-a.con.open', 'oblako.node.node-a.con.*.in', 'oblako.node.node-a.con.*.ctl.api']);
  assert.ok(p.publish.includes('oblako.node.node-a.con.*.out'));
  assert.equal(nodeInboxPrefix('node-a'), '_INBOX_node-a');
  for (const subject of [...p.publish, ...p.subscribe]) {
    assert.ok(!subject.includes('node-b'), subject);
    assert.ok(!/^oblako\.node\.\*/.test(subject) && subject !== '>' && !subject.startsWith('$JS.API.>'), `too broad: ${subject}`);
  }
});

test('console subjects: one node, one session, and nothing else parses', async () => {
  const { consoleSubjects, ConsoleOpenSchema } = await import('./console.js');
  const c = consoleSubjects(subjects('oblako'), 'node-a');
  const id = 'ab'.repeat(16);
  assert.equal(c.in(id), `oblako.node.node-a.con.${id}.in`);
  assert.deepEqual(c.parse(c.apiControl(id)), { sessionId: id, channel: 'ctl.api' });
  assert.equal(c.parse(`oblako.node.node-b.con.${id}.in`), null);
  assert.equal(c.parse(`oblako.node.node-a.con.${id}.evil`), null);
  assert.throws(() => c.out('../x'), /32 hex/);
  assert.equal(ConsoleOpenSchema.safeParse({ v: 1, sessionId: id, serverId: '6f1c2c3e-2d4b-4f7a-9b1e-0c2d3e4f5a6b', kind: 'rdp' }).success, false);
  assert.equal(ConsoleOpenSchema.parse({ v: 1, sessionId: id, serverId: '6f1c2c3e-2d4b-4f7a-9b1e-0c2d3e4f5a6b', kind: 'serial' }).replay, true);
});
