import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { subjects, WIRE_VERSION, WireHelloSchema, WireRefusalSchema } from '@oblako/contracts';
import { TEST_NATS_URL, uniqueName, uniqueSubjectPrefix, waitFor } from '@oblako/testing';
import { domainName } from '../naming.js';
import { command, Harness, spec } from './harness.js';

/**
 * A daemon and an API one wire version apart: the daemon says what is wrong and runs nothing it
 * does not understand. The test plays the other side (an API one version newer or older).
 */
describe('wire versions: commands from an API of another version', () => {
  let h: Harness;
  before(async () => {
    h = await Harness.start({}, {}, { eventStream: true });
  });
  after(async () => {
    await h.stop();
  });

  for (const [label, v, advice] of [
    ['one version newer', WIRE_VERSION + 1, /upgrade the node daemon/],
    ['one version older', WIRE_VERSION - 1, /upgrade the API/],
  ] as const) {
    test(`a create from an API ${label} is refused before anything runs, and the API is told why`, async () => {
      const sp = spec();
      const cmd = { ...command(h.nodeId, 'create', sp.serverId, { spec: sp }), v };
      await h.publish(cmd);
      const refusal = await waitFor('wire.refused', () => h.events.find((e) => e.kind === 'wire.refused' && e.data.taskId === cmd.taskId));
      const r = WireRefusalSchema.parse(refusal.data);
      assert.equal(r.nodeWireVersion, WIRE_VERSION);
      assert.equal(r.commandWireVersion, v);
      assert.equal(r.serverId, sp.serverId);
      assert.equal(r.op, 'create');
      assert.match(r.message, new RegExp(`speaks wire version ${v}`));
      assert.match(r.message, advice);
      assert.match(r.message, /nothing was executed/);
      // nothing ran: no domain, no progress, no result in a format the other side cannot read
      const names = (await h.daemon.hypervisor.list()).map((d) => d.name);
      assert.ok(!names.includes(domainName(sp.serverId)), 'no domain was defined');
      assert.equal(h.events.filter((e) => (e.kind === 'task.progress' || e.kind === 'task.result') && e.data.taskId === cmd.taskId).length, 0);
      // terminated, not redelivered
      await waitFor('the command is gone from the consumer', async () => {
        const info = await h.jsm.consumers.info(h.s.commandStream, h.s.nodeConsumer(h.nodeId));
        return info.num_pending === 0 && info.num_ack_pending === 0;
      });
    });
  }

  test('a command of our own version still runs after the refusals', async () => {
    const sp = spec();
    const cmd = command(h.nodeId, 'create', sp.serverId, { spec: sp });
    await h.publish(cmd);
    const r = await h.result(cmd.taskId);
    assert.equal(r.ok, true, JSON.stringify(r.error));
  });
});

const MAIN = fileURLToPath(new URL('../main.js', import.meta.url));

test('main.js: an API that answers the hello with another wire version stops the daemon with exit 3 and the reason', async () => {
  const prefix = uniqueSubjectPrefix();
  const nodeId = uniqueName('w');
  const s = subjects(prefix);
  const nc = await connect({ servers: TEST_NATS_URL });
  const hellos: unknown[] = [];
  const message = `the node daemon speaks wire version ${WIRE_VERSION}, this API speaks wire version ${WIRE_VERSION + 1}: upgrade the node daemon (it is older); nothing was executed`;
  const sub = nc.subscribe(s.nodeHello(nodeId), {
    callback: (_err, m) => {
      hellos.push(m.json());
      m.respond(JSON.stringify({ ok: false, apiWireVersion: WIRE_VERSION + 1, message }));
    },
  });
  await nc.flush();
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', NODE_ID: nodeId, NATS_URL: TEST_NATS_URL, NATS_SUBJECT_PREFIX: prefix, OBLAKO_DATA_DIR: '/tmp' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  try {
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    assert.equal(code, 3, out);
    assert.match(out, /upgrade the node daemon/);
    assert.doesNotMatch(out, /node daemon started/);
    const hello = WireHelloSchema.parse(hellos[0]);
    assert.equal(hello.nodeId, nodeId);
    assert.equal(hello.wireVersion, WIRE_VERSION);
  } finally {
    child.kill('SIGKILL');
    sub.unsubscribe();
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(s.commandStream).catch(() => undefined);
    await nc.close();
  }
});
