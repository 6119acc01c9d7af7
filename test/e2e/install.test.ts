import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { connect, credsAuthenticator } from '@nats-io/transport-node';
import pg from 'pg';
import type { NodeJoinView, NodeRegistrationView, ServerView } from '@oblako/contracts';
import { ApiClient } from '@oblako/devstack';
import { TEST_PG_ADMIN_URL, waitFor } from '@oblako/testing';
import { freeRun, httpsClient, linkNetns, must, parseEnvFile, readUnit, runInstall, sh, Units, verifiedCustomer, waitImageVerified } from './install-support.js';
import { waitForState } from './support.js';

/**
 * The control plane installed by tools/install/install.sh into a temporary root, its services
 * started from their own units' ExecStart lines (no systemd as PID 1 here), and a hypervisor on a
 * second "host" — a network namespace that reaches the API and NATS only over a veth link —
 * joined with the command the panel shows.
 */
const id = randomBytes(3).toString('hex');
const NS = `oi${id}`;
const VETH_HOST = `vh${id}`;
const VETH_NS = `vn${id}`;
const NET = `10.${200 + randomInt(50)}.${randomInt(1, 250)}`;
const HOST_IP = `${NET}.1`;
const NS_IP = `${NET}.2`;
const DB = `oblako_inst_${id}`;
const ROOT = mkdtempSync('/tmp/oi-');
const units = new Units();
const startUnit = (name: string, file: string, opts: { instance?: string; netns?: string } = {}) => units.start(name, file, opts);
const logsOf = (name: string) => units.logsOf(name);
const procs = units.procs;

/** HTTPS through the installed nginx, checked against the installed (self-signed) certificate. */
const https = httpsClient(HOST_IP, () => httpsPort, join(ROOT, 'etc/oblako/tls/panel.crt'));

let httpsPort = 0;
let natsPort = 0;
let apiPort = 0;
let adminPassword = '';
let admin: ApiClient;
let installOut = '';
const UNITS = join(ROOT, 'etc/systemd/system');
const install = (extra: string[]) => runInstall(ROOT, extra);

before(() => {
  chmodSync(ROOT, 0o755); // as / is: nginx's workers (nobody here) read the panel's files below it
  must('ip', ['netns', 'add', NS]);
  linkNetns(NS, { vethHost: VETH_HOST, vethNs: VETH_NS, hostIp: HOST_IP, nsIp: NS_IP });
});

after(async () => {
  await units.stopAll();
  sh('ip', ['link', 'del', VETH_HOST]);
  sh('ip', ['netns', 'del', NS]);
  const c = new pg.Client({ connectionString: TEST_PG_ADMIN_URL });
  await c.connect();
  await c.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`).catch(() => undefined);
  await c.query(`DROP ROLE IF EXISTS ${DB}`).catch(() => undefined);
  await c.end();
  rmSync(ROOT, { recursive: true, force: true });
});

describe('installing the control plane and joining a hypervisor on a second host', () => {
  test('install.sh installs into a root: secrets 0600, the admin password printed once, units that verify', async () => {
    httpsPort = await freeRun(1);
    natsPort = await freeRun(1);
    apiPort = await freeRun(2);
    const started = Date.now();
    const r = install([
      '--domain', HOST_IP, '--listen', HOST_IP, '--https-port', String(httpsPort), '--http-port', '0',
      '--nats-listen', HOST_IP, '--nats-port', String(natsPort), '--replicas', '2', '--api-port', String(apiPort),
      '--db-admin-url', TEST_PG_ADMIN_URL, '--db-name', DB, '--admin-email', 'admin@install.test',
    ]);
    installOut = r.out;
    assert.equal(r.code, 0, r.err + r.out);
    console.log(`# first install: ${Date.now() - started} ms`);
    assert.match(r.out, new RegExp(`Panel:  https://${HOST_IP.replaceAll('.', '\\.')}:${httpsPort}`));
    adminPassword = /Password: +(\S+)/.exec(r.out)?.[1] ?? '';
    assert.ok(adminPassword.length >= 16, r.out);
    for (const f of ['etc/oblako/api.env', 'etc/oblako/nats/keys.json', 'etc/oblako/nats/api.creds', 'etc/oblako/nats/system.creds', 'etc/oblako/tls/panel.key', 'etc/oblako/tls/nats.key']) {
      assert.equal(statSync(join(ROOT, f)).mode & 0o777, 0o600, f);
    }
    // the admin's password is stored nowhere in the configuration
    const etcFiles = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? etcFiles(join(dir, e.name)) : [join(dir, e.name)]));
    for (const f of etcFiles(join(ROOT, 'etc'))) assert.ok(!readFileSync(f, 'utf8').includes(adminPassword), f);
    const env = parseEnvFile(join(ROOT, 'etc/oblako/api.env'));
    assert.match(env.NATS_OPERATOR_SIGNING_SEED ?? '', /^SO/);
    assert.match(env.PUBLIC_TLS_PIN ?? '', /^sha256\/\//);
    // systemd-analyze verify (systemd is installed here, just not PID 1): unknown keys, missing programs and bad values fail it
    const units = ['oblako.target', 'oblako-nats.service', 'oblako-migrate.service', 'oblako-api@.service', 'oblako-web.service'].map((u) => join(UNITS, u));
    const v = sh('systemd-analyze', ['verify', ...units]);
    assert.equal(v.code, 0, v.err + v.out);
    assert.equal(v.err.trim(), '', 'no warnings');
  });

  test('its services run from their units\' ExecStart; the panel and the API answer over TLS on one origin', async () => {
    startUnit('nats', join(UNITS, 'oblako-nats.service'));
    const migrate = readUnit(join(UNITS, 'oblako-migrate.service'));
    const m = spawnSync(migrate.argv[0]!, migrate.argv.slice(1), { env: { PATH: process.env.PATH, ...migrate.env }, encoding: 'utf8' });
    assert.equal(m.status, 0, m.stderr);
    assert.match(m.stdout, /up to date/);
    startUnit('api1', join(UNITS, 'oblako-api@.service'), { instance: String(apiPort) });
    startUnit('api2', join(UNITS, 'oblako-api@.service'), { instance: String(apiPort + 1) });
    startUnit('web', join(UNITS, 'oblako-web.service'));
    await waitFor('the API behind nginx', async () => (await https('GET', '/health').catch(() => null))?.status === 200 || undefined, { timeoutMs: 60_000 }).catch((err: Error) => {
      throw new Error(`${err.message}\n${logsOf('api1')}\n${logsOf('web')}\n${logsOf('nats')}`);
    });
    const index = await https('GET', '/servers');
    assert.equal(index.status, 200);
    const nonce = /'nonce-([^']+)'/.exec(String(index.headers['content-security-policy']))?.[1];
    assert.ok(nonce && index.text.toLowerCase().includes(`ngcspnonce="${nonce}"`) && !index.text.includes('__CSP_NONCE__'), 'the app shell carries the answer\'s CSP nonce');
    assert.notEqual(/'nonce-([^']+)'/.exec(String((await https('GET', '/')).headers['content-security-policy']))?.[1], nonce, 'a fresh nonce per answer');
    const login = await https('POST', '/api/v1/auth/login', { email: 'admin@install.test', password: adminPassword });
    assert.equal(login.status, 200, login.text);
    admin = new ApiClient(`http://127.0.0.1:${apiPort}`);
    await admin.login('admin@install.test', adminPassword);
    // /metrics: each replica on its loopback port with the installer's METRICS_TOKEN; never through the public front
    const metricsToken = parseEnvFile(join(ROOT, 'etc/oblako/api.env')).METRICS_TOKEN ?? '';
    assert.match(metricsToken, /^[0-9a-f]{48}$/);
    const scraped = await fetch(`http://127.0.0.1:${apiPort}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } });
    assert.equal(scraped.status, 200);
    assert.match(await scraped.text(), /oblako_http_request_duration_seconds_count\{method="POST",route="\/api\/v1\/auth\/login",status="200"\} [1-9]/);
    assert.equal((await fetch(`http://127.0.0.1:${apiPort}/metrics`)).status, 401);
    assert.equal((await https('GET', '/metrics')).status, 404, 'nginx does not route /metrics');
  });

  let reg: NodeRegistrationView;
  let locationId = '';
  const hv = (n: number) => join(ROOT, `hv${n}`);
  const runJoin = (command: string, root: string) =>
    sh('ip', ['netns', 'exec', NS, 'bash', '-c', command], { OBLAKO_NODE_ROOT: root, OBLAKO_SKIP_PACKAGES: '1', OBLAKO_NO_SYSTEMD: '1', OBLAKO_LIBVIRT_URI: 'test:///default', OBLAKO_DOMAIN_TYPE: 'test' });

  test('the join command, run on the second host, joins it; its daemon turns online and a server ordered through the API lands there', async () => {
    const location = await admin.ok<{ id: string }>('POST', '/api/v1/admin/locations', { code: 'inst1', name: 'Install test', country: 'DE' });
    locationId = location.id;
    await admin.ok('POST', '/api/v1/admin/ip-pools', { locationId, cidr: '198.51.100.0/24', gateway: '198.51.100.1' });
    const plan = await admin.ok<{ id: string }>('POST', '/api/v1/admin/plans', {
      name: 'Small', vcpus: 1, memoryMiB: 512, diskGiB: 10, cpuQuotaPercent: 100, diskIops: 500, diskMBps: 50, netMbit: 100, priceMonthlyCents: 500,
    });
    // a real file with its real sha256: production offers an image only once a node has fetched and verified it
    const imageFile = join(ROOT, 'debian-12.qcow2');
    assert.equal(spawnSync('qemu-img', ['create', '-q', '-f', 'qcow2', imageFile, '1G']).status, 0, 'qemu-img create');
    const imageSha = createHash('sha256').update(readFileSync(imageFile)).digest('hex');
    const image = await admin.ok<{ id: string }>('POST', '/api/v1/admin/images', { name: 'Debian 12', osFamily: 'debian', version: '12', url: `file://${imageFile}`, sha256: imageSha, format: 'qcow2' });
    reg = await admin.ok<NodeRegistrationView>('POST', '/api/v1/admin/nodes', { name: 'hv-second', locationId, vcpus: 8, memoryMiB: 16384, diskGiB: 200 });
    assert.ok(reg.join.command.includes(`https://${HOST_IP}:${httpsPort}`), reg.join.command);

    const started = Date.now();
    const r = runJoin(reg.join.command, hv(1));
    assert.equal(r.code, 0, r.err + r.out);
    console.log(`# join: ${Date.now() - started} ms`);
    assert.match(r.out, /joined: node hv-second/);
    assert.ok(!r.err.includes(reg.join.token) && !r.out.includes(reg.join.token), 'the token is not echoed');
    for (const f of ['etc/oblako-node/nats.creds', 'etc/oblako-node/node.env']) assert.equal(statSync(join(hv(1), f)).mode & 0o777, 0o600, f);
    const nodeEnv = parseEnvFile(join(hv(1), 'etc/oblako-node/node.env'));
    assert.equal(nodeEnv.NODE_ID, reg.node.id);
    assert.equal(nodeEnv.NATS_URL, `tls://${HOST_IP}:${natsPort}`, 'the node reaches NATS over the veth link');

    startUnit('daemon1', join(hv(1), 'etc/systemd/system/oblako-node.service'), { netns: NS });
    await waitFor('the joined node online', async () => {
      const s = await new ApiClient(`http://127.0.0.1:${apiPort}`).call<{ online: boolean }>('GET', '/api/v1/join/status', undefined, { headers: { authorization: `Bearer ${reg.join.token}` } });
      return s.body.online || undefined;
    }, { timeoutMs: 30_000 }).catch((err: Error) => {
      throw new Error(`${err.message}\n${logsOf('daemon1')}`);
    });

    const customer = await verifiedCustomer(`http://127.0.0.1:${apiPort}`, DB, `c-${id}@install.test`, 'Install Customer');
    await waitImageVerified(admin, image.id, reg.node.id, 60_000);
    assert.deepEqual((await customer.ok<{ id: string }[]>('GET', `/api/v1/images?locationId=${locationId}`)).map((i) => i.id), [image.id]);
    const s = await customer.ok<ServerView>('POST', '/api/v1/servers', { planId: plan.id, imageId: image.id, locationId, hostname: 'first.install.test', rootPassword: 'install test root password' });
    const running = await waitForState(customer, s.id, 'running', 30_000);
    assert.equal(running.nodeId, reg.node.id, 'placed on the joined host');
  });

  test('a used and an expired token are refused with a clear message; new credentials revoke the old, which can no longer connect', async () => {
    const again = runJoin(reg.join.command, hv(2));
    assert.notEqual(again.code, 0);
    assert.match(again.err, /refused the join token \(HTTP 410\): This join token was already used/);

    const expired = await admin.ok<NodeJoinView>('POST', `/api/v1/admin/nodes/${reg.node.id}/join`);
    const c = new pg.Client({ connectionString: new URL(`/${DB}`, TEST_PG_ADMIN_URL).toString() });
    await c.connect();
    await c.query(`UPDATE node_join_tokens SET expires_at = now() - interval '1 second' WHERE node_id = $1 AND used_at IS NULL`, [reg.node.id]);
    await c.end();
    const late = runJoin(expired.command, hv(2));
    assert.notEqual(late.code, 0);
    assert.match(late.err, /HTTP 410\): This join token expired at/);

    const oldCreds = readFileSync(join(hv(1), 'etc/oblako-node/nats.creds'));
    const ca = join(hv(1), 'etc/oblako-node/nats-ca.pem');
    const natsOpts = { servers: `tls://${HOST_IP}:${natsPort}`, tls: { caFile: ca }, timeout: 3000, reconnect: false };
    const before = await connect({ ...natsOpts, authenticator: credsAuthenticator(oldCreds) });
    const closed = before.closed();
    const rejoin = await admin.ok<NodeJoinView>('POST', `/api/v1/admin/nodes/${reg.node.id}/join`);
    const r = runJoin(rejoin.command, hv(2));
    assert.equal(r.code, 0, r.err);
    await closed; // the server cut the old user's connection
    await assert.rejects(connect({ ...natsOpts, authenticator: credsAuthenticator(oldCreds) }), /authorization|auth/i);
    const fresh = await connect({ ...natsOpts, authenticator: credsAuthenticator(readFileSync(join(hv(2), 'etc/oblako-node/nats.creds'))) });
    await fresh.close();
  });

  test('a re-run upgrades in place: same secrets and keys, no new admin password, the data kept', async () => {
    const envBefore = readFileSync(join(ROOT, 'etc/oblako/api.env'), 'utf8');
    const keysBefore = readFileSync(join(ROOT, 'etc/oblako/nats/keys.json'), 'utf8');
    const started = Date.now();
    const r = install([]);
    assert.equal(r.code, 0, r.err + r.out);
    console.log(`# upgrade: ${Date.now() - started} ms`);
    assert.match(r.out, /upgraded from /);
    assert.match(r.out, /Staff admin: exists already/);
    assert.ok(!/Password:/.test(r.out));
    assert.equal(readFileSync(join(ROOT, 'etc/oblako/api.env'), 'utf8'), envBefore);
    assert.equal(readFileSync(join(ROOT, 'etc/oblako/nats/keys.json'), 'utf8'), keysBefore);
    assert.ok(existsSync(join(ROOT, 'opt/oblako/current/RELEASE')));
    // restart one replica on the new release: the data and the admin's password are still there
    const api1 = procs.find((p) => p.name === 'api1')!;
    api1.child.kill('SIGTERM');
    await new Promise((ok) => api1.child.once('exit', ok));
    startUnit('api1b', join(UNITS, 'oblako-api@.service'), { instance: String(apiPort) });
    await waitFor('the restarted replica', async () => (await fetch(`http://127.0.0.1:${apiPort}/health`).catch(() => null))?.ok || undefined, { timeoutMs: 60_000 });
    const again = new ApiClient(`http://127.0.0.1:${apiPort}`);
    await again.login('admin@install.test', adminPassword);
    const nodes = await again.ok<{ id: string; name: string }[]>('GET', '/api/v1/admin/nodes');
    assert.ok(nodes.some((n) => n.id === reg.node.id));
    assert.ok(installOut.length > 0);
  });
});
