import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, credsAuthenticator } from '@nats-io/transport-node';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, RetentionPolicy } from '@nats-io/jetstream';
import { encodeAccount, encodeOperator, encodeUser, fmtCreds } from '@nats-io/jwt';
import { createAccount, createOperator, createUser } from '@nats-io/nkeys';
import { natsNodePermissions, subjects } from '@oblako/contracts';
import { freePort, waitFor } from '@oblako/testing';
import { defineConfig } from '../config.js';
import { startDaemon } from '../daemon.js';
import { silentLogger } from '../log.js';
import { command, spec } from './harness.js';

const NATS_SERVER = '/usr/sbin/nats-server';
const dec = new TextDecoder();

/**
 * The daemon with the restricted identity the API mints for a node (natsNodePermissions): a
 * nats-server of its own in operator mode on a free loopback port.
 */
test('with a node user that may touch only its own subjects, commands flow and results are stored', { skip: !existsSync(NATS_SERVER) && 'no nats-server' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'oblako-nats-auth-'));
  const operator = createOperator();
  const system = createAccount();
  const account = createAccount();
  const apiUser = createUser();
  const nodeUser = createUser();
  const s = subjects('oblako');
  const nodeId = 'node-a';
  const perms = natsNodePermissions(s, nodeId);
  const accountJwt = await encodeAccount('APP', account, { limits: { mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1, subs: -1, data: -1, payload: -1, conn: -1, imports: -1, exports: -1, wildcards: true, leaf: -1 } }, { signer: operator });
  writeFileSync(
    join(dir, 'server.conf'),
    [
      `operator: "${await encodeOperator('op', operator, { system_account: system.getPublicKey() })}"`,
      `system_account: "${system.getPublicKey()}"`,
      'resolver: MEMORY',
      'resolver_preload: {',
      `  "${system.getPublicKey()}": "${await encodeAccount('SYS', system, {}, { signer: operator })}"`,
      `  "${account.getPublicKey()}": "${accountJwt}"`,
      '}',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'api.creds'), dec.decode(fmtCreds(await encodeUser('api', apiUser, account, {}), apiUser)));
  const nodeJwt = await encodeUser('node-a', nodeUser, account, { pub: { allow: perms.publish, deny: [] }, sub: { allow: perms.subscribe, deny: [] } });
  writeFileSync(join(dir, 'node.creds'), dec.decode(fmtCreds(nodeJwt, nodeUser)));

  const port = await freePort();
  const srv = spawn(NATS_SERVER, ['-c', join(dir, 'server.conf'), '-a', '127.0.0.1', '-p', String(port), '-js', '-sd', join(dir, 'js')], { stdio: 'ignore' });
  const url = `nats://127.0.0.1:${port}`;
  try {
    const api = await waitFor('nats-server', () => connect({ servers: url, authenticator: credsAuthenticator(readFileSync(join(dir, 'api.creds'))) }), { timeoutMs: 10_000, intervalMs: 100 });
    const jsm = await jetstreamManager(api);
    await jsm.streams.add({ name: s.commandStream, subjects: [s.allCommands()], retention: RetentionPolicy.Workqueue });
    await jsm.streams.add({ name: s.eventStream, subjects: [s.allEvents()] });
    await jsm.consumers.add(s.commandStream, { durable_name: s.nodeConsumer(nodeId), filter_subject: s.nodeCommands(nodeId), ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All });
    const results: Record<string, unknown>[] = [];
    const sub = api.subscribe(s.nodeEvent(nodeId, 'task.result'));
    void (async () => {
      for await (const m of sub) results.push(m.json());
    })();
    const hb = api.subscribe(s.nodeHeartbeat(nodeId), { max: 1 });

    const daemon = await startDaemon(defineConfig({ nodeId, natsUrl: url, natsCredsFile: join(dir, 'node.creds'), heartbeatIntervalMs: 200 }), { logger: silentLogger });
    try {
      for await (const m of hb) assert.equal((m.json() as { nodeId: string }).nodeId, nodeId);
      const sp = spec();
      const cmd = command(nodeId, 'create', sp.serverId, { spec: sp });
      await jetstream(api).publish(s.nodeCommand(nodeId, 'create'), JSON.stringify(cmd));
      const r = await waitFor('the result', () => results.find((x) => x.taskId === cmd.taskId));
      assert.equal(r.ok, true);
      await waitFor('command acked', async () => (await jsm.consumers.info(s.commandStream, s.nodeConsumer(nodeId))).num_ack_pending === 0);
      assert.ok((await jsm.streams.info(s.eventStream)).state.messages >= 2, 'progress and result stored in the event stream');
    } finally {
      await daemon.stop();
      await api.close();
    }
  } finally {
    srv.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});
