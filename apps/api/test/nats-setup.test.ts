import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { AckPolicy, DeliverPolicy, jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { subjects } from '@oblako/contracts';
import { TEST_NATS_URL, uniqueSubjectPrefix } from '@oblako/testing';
import { loadConfig } from '../src/config/config.js';
import { NatsService } from '../src/messaging/nats.service.js';

const prefix = uniqueSubjectPrefix();
const s = subjects(prefix);
const config = loadConfig({ DATABASE_URL: 'postgres://x@127.0.0.1/x', NATS_URL: TEST_NATS_URL, NATS_SUBJECT_PREFIX: prefix, JWT_SECRET: 'x'.repeat(40) });

after(async () => {
  const nc = await connect({ servers: TEST_NATS_URL });
  const jsm = await jetstreamManager(nc);
  for (const name of [s.commandStream, s.eventStream]) await jsm.streams.delete(name).catch(() => undefined);
  await nc.close();
});

test('the API adopts a command stream and node consumer that a daemon created on its own', async () => {
  const nodeId = '11111111-1111-4111-8111-111111111111';
  const nc = await connect({ servers: TEST_NATS_URL });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: s.commandStream, subjects: [s.allCommands()], retention: RetentionPolicy.Workqueue, storage: StorageType.File, duplicate_window: 120e9 });
  await jsm.consumers.add(s.commandStream, { durable_name: s.nodeConsumer(nodeId), filter_subject: s.nodeCommands(nodeId), ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, ack_wait: 30e9, max_deliver: 10 });
  const api = new NatsService(config);
  try {
    await api.start();
    await api.ensureNodeConsumer(nodeId);
    await api.ensureNodeConsumer(nodeId);
    const info = await jsm.consumers.info(s.commandStream, s.nodeConsumer(nodeId));
    assert.equal(info.config.max_deliver, 20);
    assert.equal((await jsm.streams.info(s.eventStream)).config.name, s.eventStream);
  } finally {
    await api.onApplicationShutdown();
    await nc.close();
  }
});
