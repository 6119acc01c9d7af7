import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { subjects } from '@oblako/contracts';
import { TEST_NATS_URL, uniqueName, uniqueSubjectPrefix } from '@oblako/testing';

const MAIN = fileURLToPath(new URL('../main.js', import.meta.url));

function run(env: Record<string, string>) {
  const child = spawn(process.execPath, [MAIN], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, exited, output: () => out };
}

test('main.js: a bad configuration exits 2 naming every bad setting', async () => {
  const p = run({ NODE_ID: 'no good', NATS_URL: '', STOP_GRACE_SECONDS: '-1' });
  assert.equal(await p.exited, 2);
  assert.match(p.output(), /NODE_ID="no good"/);
  assert.match(p.output(), /NATS_URL is required/);
  assert.match(p.output(), /STOP_GRACE_SECONDS/);
});

test('main.js: runs, heartbeats, and exits 0 on SIGTERM after a graceful stop', async () => {
  const prefix = uniqueSubjectPrefix();
  const nodeId = uniqueName('p');
  const s = subjects(prefix);
  const nc = await connect({ servers: TEST_NATS_URL });
  const sub = nc.subscribe(s.nodeHeartbeat(nodeId), { max: 1 });
  const p = run({ NODE_ID: nodeId, NATS_URL: TEST_NATS_URL, NATS_SUBJECT_PREFIX: prefix, HEARTBEAT_INTERVAL_MS: '200', OBLAKO_DATA_DIR: '/tmp' });
  try {
    for await (const m of sub) assert.equal((m.json() as { nodeId: string }).nodeId, nodeId);
    p.child.kill('SIGTERM');
    assert.equal(await p.exited, 0, p.output());
    assert.match(p.output(), /node daemon stopped/);
  } finally {
    p.child.kill('SIGKILL');
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(s.commandStream).catch(() => undefined);
    await nc.close();
  }
});
