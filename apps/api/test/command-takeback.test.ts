import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { subjects } from '@oblako/contracts';
import { TEST_NATS_URL, uniqueSubjectPrefix } from '@oblako/testing';
import { loadConfig } from '../src/config/config.js';
import { NatsService } from '../src/messaging/nats.service.js';

/**
 * Taking commands back from a node's queue (a create placed on another node) and handing a restarted daemon's
 * unacknowledged commands over again, against a real nats-server: the walk has no fixed cap (it used to stop after
 * 10,000 messages, leaving the rest of a long backlog to run), and a handed-over command reaches the node's consumer
 * at once instead of after the ack wait.
 */
const prefix = uniqueSubjectPrefix();
const s = subjects(prefix);
const config = loadConfig({ DATABASE_URL: 'postgres://x@127.0.0.1/x', NATS_URL: TEST_NATS_URL, NATS_SUBJECT_PREFIX: prefix, JWT_SECRET: 'x'.repeat(40) });
const nodeA = '22222222-2222-4222-8222-222222222222';
const nodeB = '33333333-3333-4333-8333-333333333333';
let api: NatsService;
let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;

before(async () => {
  api = new NatsService(config);
  await api.start();
  await api.ensureNodeConsumer(nodeA);
  await api.ensureNodeConsumer(nodeB);
  nc = await connect({ servers: TEST_NATS_URL });
  js = jetstream(nc);
  jsm = await jetstreamManager(nc);
});
after(async () => {
  for (const name of [s.commandStream, s.eventStream]) await jsm.streams.delete(name).catch(() => undefined);
  await nc.close();
  await api.onApplicationShutdown();
});

async function publishAll(items: { subject: string; payload: unknown }[]): Promise<void> {
  for (let i = 0; i < items.length; i += 500) {
    await Promise.all(items.slice(i, i + 500).map((c) => js.publish(c.subject, JSON.stringify(c.payload))));
  }
}

test('a take-back walks a backlog longer than the old 10,000 cap to its end, and touches nothing else', async () => {
  const moved = randomUUID();
  const other = randomUUID();
  const items: { subject: string; payload: unknown }[] = [];
  // 12,000 commands on A's create subject, one in three of the moved task (the last 1,000 of them past message 10,000),
  // and A's and B's other commands interleaved
  for (let i = 0; i < 12_000; i++) {
    items.push({ subject: s.nodeCommand(nodeA, 'create'), payload: { taskId: i % 3 === 0 || i >= 10_500 ? moved : other, attempt: 1, i } });
    if (i % 4 === 0) items.push({ subject: s.nodeCommand(nodeB, 'create'), payload: { taskId: moved, attempt: 1, i } });
  }
  await publishAll(items);
  const expected = items.filter((c) => c.subject === s.nodeCommand(nodeA, 'create') && (c.payload as { taskId: string }).taskId === moved).length;
  const t0 = performance.now();
  const n = await api.withdrawCommands(s.nodeCommand(nodeA, 'create'), (p) => (p as { taskId?: string }).taskId === moved);
  const ms = performance.now() - t0;
  console.log(`take-back: ${n} of 12,000 queued commands withdrawn in ${ms.toFixed(0)} ms (${((ms * 1000) / 12_000).toFixed(0)} µs per message walked)`);
  assert.equal(n, expected, 'every command of the moved task is taken back, the ones past message 10,000 too');
  const a = await jsm.consumers.info(s.commandStream, s.nodeConsumer(nodeA));
  const b = await jsm.consumers.info(s.commandStream, s.nodeConsumer(nodeB));
  assert.equal(a.num_pending, 12_000 - expected, "A's other commands are still queued");
  assert.equal(b.num_pending, 3_000, "B's queue is not touched");
  await jsm.streams.purge(s.commandStream);
});

test("a restarted daemon's unacknowledged commands are handed over at once; the others wait their ack wait", async () => {
  const consumer = await js.consumers.get(s.commandStream, s.nodeConsumer(nodeA));
  const tasks = [randomUUID(), randomUUID(), randomUUID()];
  await publishAll(tasks.map((taskId, i) => ({ subject: s.nodeCommand(nodeA, i === 2 ? 'stop' : 'create'), payload: { taskId, attempt: 1 } })));
  // the daemon that dies: it takes all three and acknowledges none
  const held = await consumer.fetch({ max_messages: 3, expires: 2000 });
  const got: string[] = [];
  for await (const m of held) got.push((m.json() as { taskId: string }).taskId);
  assert.equal(got.length, 3);
  // nothing more for the next process: the three wait out the ack wait
  const empty = await consumer.fetch({ max_messages: 3, expires: 1000 });
  for await (const m of empty) assert.fail(`delivered before its ack wait: ${m.subject}`);

  const again = await api.redeliverCommands(s.nodeCommands(nodeA), (p) => (p as { taskId?: string }).taskId !== tasks[1], randomUUID());
  assert.equal(again, 2);
  const t0 = performance.now();
  const next = await consumer.fetch({ max_messages: 3, expires: 2000 });
  const redelivered: { subject: string; taskId: string }[] = [];
  for await (const m of next) {
    redelivered.push({ subject: m.subject, taskId: (m.json() as { taskId: string }).taskId });
    m.ack();
    if (redelivered.length === 2) break;
  }
  const ms = performance.now() - t0;
  console.log(`hand-over: 2 held commands delivered to the next process ${ms.toFixed(0)} ms after they were handed over (ack wait 60 s)`);
  assert.deepEqual(
    redelivered.sort((x, y) => x.taskId.localeCompare(y.taskId)),
    [{ subject: s.nodeCommand(nodeA, 'create'), taskId: tasks[0]! }, { subject: s.nodeCommand(nodeA, 'stop'), taskId: tasks[2]! }].sort((x, y) => x.taskId.localeCompare(y.taskId)),
    'the same subjects and payloads',
  );
  assert.ok(ms < 1500);
  const info = await jsm.consumers.info(s.commandStream, s.nodeConsumer(nodeA));
  assert.equal(info.num_ack_pending, 1, 'only the command left alone still waits for the dead process');
  assert.equal((await jsm.streams.info(s.commandStream)).state.messages, 1, 'the old copies are gone from the stream');
});
