import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, credsAuthenticator } from '@nats-io/transport-node';
import { subjects } from '@oblako/contracts';
import { waitFor } from '@oblako/testing';
import { readFileSync } from 'node:fs';
import { newCustomer, startE2E, waitForState, type E2E } from './support.js';

/** The demo's supervisor: a crashed API, node daemon or nats-server comes back, and the stack keeps its data. */
let e: E2E;
const said: string[] = [];
before(async () => {
  // Its own nats-server (the demo's shape), so the test may kill it.
  e = await startE2E({ natsUrl: undefined, natsAuth: true, supervise: (m) => said.push(m) });
});
after(async () => {
  await e?.close();
});

async function healthy(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/health`)).ok;
  } catch {
    return false;
  }
}

test('a killed API, daemon and nats-server are restarted with backoff, say so, and the product works after', async () => {
  const { stack } = e;
  const customer = await newCustomer(stack, 'sup');
  const apiPid = stack.api.child.pid;
  stack.api.child.kill('SIGKILL');
  await waitFor('the API to be restarted and healthy', async () => stack.api.child.pid !== apiPid && (await healthy(stack.apiUrl)), { timeoutMs: 30_000, intervalMs: 100 });
  assert.equal(stack.api.restarts, 1);
  assert.ok(said.some((m) => /^api was killed by SIGKILL; restarting it in 1 s \(restart 1; log: .*api\.log\)$/.test(m)), said.join('\n'));
  assert.ok(said.some((m) => /^api restarted \(pid \d+\)$/.test(m)), said.join('\n'));

  // The customer's session survived (same JWT secret and database) and ordering works.
  const keys = await customer.ok<unknown[]>('GET', '/api/v1/ssh-keys');
  assert.ok(Array.isArray(keys));

  // A second crash soon after backs off longer.
  const pid2 = stack.api.child.pid;
  stack.api.child.kill('SIGKILL');
  await waitFor('the API back a second time', async () => stack.api.child.pid !== pid2 && (await healthy(stack.apiUrl)), { timeoutMs: 30_000, intervalMs: 100 });
  assert.ok(said.some((m) => /^api was killed by SIGKILL; restarting it in 2 s \(restart 2;/.test(m)), said.join('\n'));

  // The daemon: killed, restarted, heartbeating again.
  const daemon = stack.daemon!;
  const watch = await connect({ servers: stack.natsUrl, authenticator: credsAuthenticator(readFileSync(stack.natsAuth!.apiCredsFile)) });
  try {
    const dPid = daemon.child.pid;
    daemon.child.kill('SIGKILL');
    await waitFor('the daemon to be restarted', async () => daemon.child.pid !== dPid && daemon.child.exitCode === null, { timeoutMs: 15_000, intervalMs: 100 });
    const sub = watch.subscribe(subjects(stack.subjectPrefix).nodeHeartbeat(stack.seed.nodeId), { max: 1, timeout: 20_000 });
    for await (const _ of sub) break;
    assert.ok(said.some((m) => /^daemon was killed by SIGKILL; restarting it/.test(m)), said.join('\n'));
  } finally {
    await watch.close();
  }

  // nats-server: killed, restarted on the same port with its JetStream store; an order still goes through.
  const nats = stack.nats!.process;
  const nPid = nats.child.pid;
  nats.child.kill('SIGKILL');
  await waitFor('nats-server to be restarted', async () => nats.child.pid !== nPid && nats.child.exitCode === null, { timeoutMs: 15_000, intervalMs: 100 });
  assert.ok(said.some((m) => /^nats-server was killed by SIGKILL; restarting it/.test(m)), said.join('\n'));
  const [location] = await customer.ok<{ id: string }[]>('GET', '/api/v1/locations');
  const [plan] = await customer.ok<{ id: string }[]>('GET', '/api/v1/plans');
  const [image] = await customer.ok<{ id: string }[]>('GET', '/api/v1/images');
  const server = await waitFor('an order to be accepted after nats-server came back', async () => {
    const r = await customer.call('POST', '/api/v1/servers', { planId: plan!.id, imageId: image!.id, locationId: location!.id, hostname: 'after-crash' });
    return r.status === 201 ? (r.body as { id: string }) : undefined;
  }, { timeoutMs: 30_000, intervalMs: 500 });
  await waitForState(customer, server.id, 'running', 30_000);
});

test('stop() after a crash does not restart anything', async () => {
  const p = e.stack.api;
  await e.stack.stop();
  assert.notEqual(p.child.exitCode ?? p.child.signalCode, null);
  const before = p.restarts;
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(p.restarts, before);
});
