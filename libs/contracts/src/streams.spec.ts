import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  apiEventConsumerDefinition,
  changeableConsumerFields,
  commandStreamDefinition,
  eventStreamDefinition,
  nodeConsumerDefinition,
  NS_PER_MS,
  STREAM_SETTINGS,
  streamReplicasProblem,
} from './streams.js';
import { subjects } from './subjects.js';

const s = subjects('t9');

test('both streams carry an age limit, a duplicate window and file storage, in nanoseconds', () => {
  const cmd = commandStreamDefinition(s);
  assert.deepEqual(cmd, {
    name: 'T9_COMMANDS',
    subjects: ['t9.node.*.cmd.>'],
    retention: 'workqueue',
    storage: 'file',
    num_replicas: 1,
    max_age: 7 * 24 * 3600 * 1000 * NS_PER_MS,
    duplicate_window: 120 * 1000 * NS_PER_MS,
  });
  const evt = eventStreamDefinition(s);
  assert.equal(evt.name, 'T9_EVENTS');
  assert.deepEqual(evt.subjects, ['t9.node.*.evt.>']);
  assert.equal(evt.retention, 'limits');
  assert.ok(evt.max_age > 0 && evt.duplicate_window > 0);
});

test('replicas are configurable and bad counts are refused with the range', () => {
  assert.equal(commandStreamDefinition(s, { replicas: 3 }).num_replicas, 3);
  assert.equal(eventStreamDefinition(s, { replicas: 3 }).num_replicas, 3);
  for (const bad of [0, 6, 1.5, Number.NaN]) {
    assert.match(streamReplicasProblem(bad) ?? '', /from 1 to 5/);
    assert.throws(() => commandStreamDefinition(s, { replicas: bad }), /from 1 to 5/);
  }
  assert.equal(streamReplicasProblem(1), null);
});

test('consumers: explicit ack, every message, ack wait and delivery limits from one table', () => {
  const node = nodeConsumerDefinition(s, 'node-1');
  assert.equal(node.durable_name, 'node-node-1');
  assert.equal(node.filter_subject, 't9.node.node-1.cmd.>');
  assert.equal(node.ack_policy, 'explicit');
  assert.equal(node.deliver_policy, 'all');
  assert.equal(node.ack_wait, STREAM_SETTINGS.nodeConsumer.ackWaitMs * NS_PER_MS);
  assert.equal(node.max_deliver, STREAM_SETTINGS.nodeConsumer.maxDeliver);
  const api = apiEventConsumerDefinition(s);
  assert.equal(api.durable_name, 'api-events');
  assert.equal(api.filter_subject, 't9.node.*.evt.>');
  // what an existing durable may be changed to leaves identity and delivery alone
  assert.deepEqual(Object.keys(changeableConsumerFields(node)).sort(), ['ack_wait', 'max_ack_pending', 'max_deliver']);
  assert.throws(() => nodeConsumerDefinition(s, 'a.>'), /node id/);
});

test('NATS_URL may list the servers of a cluster, separated by commas', async () => {
  const { natsServerList, natsUrlProblem } = await import('./streams.js');
  assert.deepEqual(natsServerList('nats://a:4222'), ['nats://a:4222']);
  assert.deepEqual(natsServerList(' nats://a:1, nats://b:2 ,,tls://c:3'), ['nats://a:1', 'nats://b:2', 'tls://c:3']);
  assert.equal(natsUrlProblem('NATS_URL', 'nats://a:1,nats://b:2'), null);
  assert.equal(natsUrlProblem('NATS_URL', '127.0.0.1:4222'), null);
  assert.equal(natsUrlProblem('NATS_URL', 'localhost:4222'), null);
  assert.match(natsUrlProblem('NATS_URL', 'nats://a:1,http://b:2') ?? '', /NATS_URL: "http:\/\/b:2" is not a NATS server URL/);
  assert.match(natsUrlProblem('NATS_URL', ' , ') ?? '', /NATS_URL is empty/);
});
