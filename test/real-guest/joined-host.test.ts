/**
 * Issue 8, "A hypervisor that is not the control-plane host": the control plane installed by tools/install/install.sh
 * (test/e2e/install-support.ts: services from their units' ExecStart), and a second host — a network namespace with
 * its own private libvirtd on qemu:///system (startHypervisor) that reaches the API and NATS only over a veth link —
 * joined with the command the API hands out, its daemon started from the unit the join wrote, inside that
 * namespace. A customer orders a server through the API: it lands on the joined host, the real test guest boots
 * there, and answers HTTP on its address from the control-plane side, through the veth and the host's routed tap.
 * Opt-in like every real-guest file (OBLAKO_REAL_GUEST=1), run through the guest lock.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes, randomInt } from 'node:crypto';
import pg from 'pg';
import type { NodeRegistrationView, PlanView, ServerView } from '@oblako/contracts';
import { ApiClient } from '@oblako/devstack';
import { TEST_PG_ADMIN_URL, waitFor } from '@oblako/testing';
import { freeRun, httpsClient, linkNetns, parseEnvFile, readUnit, runInstall, sh, Units, verifiedCustomer, waitImageVerified } from '../e2e/install-support.js';
import { waitForState } from '../e2e/support.js';
import { destroyDomains, ensureGuestImage, realGuestSkipReason, startHypervisor, tryRun, virsh, type GuestImage, type Hypervisor } from './support.js';

const skip = realGuestSkipReason();
const id = randomBytes(3).toString('hex');
const VETH_HOST = `vjh${id}`;
const VETH_NS = `vjn${id}`;
const NET = `10.${200 + randomInt(50)}.${randomInt(1, 250)}`;
const HOST_IP = `${NET}.1`;
const NS_IP = `${NET}.2`;
/** The guests' pool: it exists only on the joined host; this side routes it over the veth (never out of the machine). */
const POOL_NET = `198.19.${randomInt(0, 250)}`;
const POOL = `${POOL_NET}.0/24`;
const GATEWAY = `${POOL_NET}.1`;
const DB = `oblako_jh_${id}`;

describe('a joined hypervisor on another host runs a real guest ordered through the API', { skip: skip ?? false }, () => {
  const ROOT = mkdtempSync('/tmp/ojh-');
  const UNITS = join(ROOT, 'etc/systemd/system');
  const units = new Units();
  let httpsPort = 0;
  let apiPort = 0;
  let hv: Hypervisor;
  let img: GuestImage;
  let admin: ApiClient;
  let routed = false;

  before(async () => {
    img = await ensureGuestImage();
    hv = await startHypervisor();
    linkNetns(hv.netns, { vethHost: VETH_HOST, vethNs: VETH_NS, hostIp: HOST_IP, nsIp: NS_IP });
    chmodSync(ROOT, 0o755);
    httpsPort = await freeRun(1);
    const natsPort = await freeRun(1);
    apiPort = await freeRun(1);
    const r = runInstall(ROOT, [
      '--domain', HOST_IP, '--listen', HOST_IP, '--https-port', String(httpsPort), '--http-port', '0',
      '--nats-listen', HOST_IP, '--nats-port', String(natsPort), '--replicas', '1', '--api-port', String(apiPort),
      '--db-admin-url', TEST_PG_ADMIN_URL, '--db-name', DB, '--admin-email', 'admin@joined.test',
    ]);
    assert.equal(r.code, 0, r.err + r.out);
    const adminPassword = /Password: +(\S+)/.exec(r.out)?.[1] ?? '';
    units.start('nats', join(UNITS, 'oblako-nats.service'));
    const migrate = readUnit(join(UNITS, 'oblako-migrate.service'));
    const m = spawnSync(migrate.argv[0]!, migrate.argv.slice(1), { env: { PATH: process.env.PATH, ...migrate.env }, encoding: 'utf8' });
    assert.equal(m.status, 0, m.stderr);
    units.start('api', join(UNITS, 'oblako-api@.service'), { instance: String(apiPort) });
    units.start('web', join(UNITS, 'oblako-web.service'));
    const https = httpsClient(HOST_IP, () => httpsPort, join(ROOT, 'etc/oblako/tls/panel.crt'));
    await waitFor('the API behind nginx', async () => (await https('GET', '/health').catch(() => null))?.status === 200 || undefined, { timeoutMs: 90_000 }).catch((err: Error) => {
      throw new Error(`${err.message}\n${units.logsOf('api')}\n${units.logsOf('web')}\n${units.logsOf('nats')}`);
    });
    admin = new ApiClient(`http://127.0.0.1:${apiPort}`);
    await admin.login('admin@joined.test', adminPassword);
  });

  after(async () => {
    if (hv) await destroyDomains(hv.uri, 'oblako-').catch(() => undefined);
    await units.stopAll();
    if (routed) sh('ip', ['route', 'del', POOL, 'via', NS_IP]);
    sh('ip', ['link', 'del', VETH_HOST]);
    if (hv) await hv.close().catch((err) => console.error(`could not clean up ${hv.netns}: ${(err as Error).message}`));
    const c = new pg.Client({ connectionString: TEST_PG_ADMIN_URL });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`).catch(() => undefined);
    await c.query(`DROP ROLE IF EXISTS ${DB}`).catch(() => undefined);
    await c.end();
    rmSync(ROOT, { recursive: true, force: true });
  });

  test('the join command run on the second host joins it; a server ordered through the API boots there and answers over the veth', async () => {
    const location = await admin.ok<{ id: string }>('POST', '/api/v1/admin/locations', { code: 'jh1', name: 'Joined host', country: 'DE' });
    await admin.ok('POST', '/api/v1/admin/ip-pools', { locationId: location.id, cidr: POOL, gateway: GATEWAY });
    const plan = await admin.ok<PlanView>('POST', '/api/v1/admin/plans', {
      name: 'Guest', vcpus: 1, memoryMiB: 256, diskGiB: 2, cpuQuotaPercent: 100, diskIops: 0, diskMBps: 0, netMbit: 0, priceMonthlyCents: 100,
    });
    const image = await admin.ok<{ id: string }>('POST', '/api/v1/admin/images', {
      name: 'Oblako test guest', osFamily: 'busybox', version: '1', url: `file://${img.image}`, sha256: img.imageSha256, format: img.imageFormat,
    });
    const reg = await admin.ok<NodeRegistrationView>('POST', '/api/v1/admin/nodes', { name: 'hv-joined', locationId: location.id, vcpus: 2, memoryMiB: 4096, diskGiB: 100 });

    // the join command as the API hands it out, run as root on the second host (inside its namespace), with this
    // host's libvirt and the test guest's kernel as the node's settings
    const hvRoot = join(ROOT, 'hv');
    const t0 = Date.now();
    // nsenter --net, not `ip netns exec`: the latter remounts /sys and hides the cgroup controllers, which a real
    // second host has (its host checks look for the cpu controller)
    const joined = sh('nsenter', [`--net=/run/netns/${hv.netns}`, 'bash', '-c', reg.join.command], {
      OBLAKO_NODE_ROOT: hvRoot, OBLAKO_SKIP_PACKAGES: '1', OBLAKO_NO_SYSTEMD: '1', OBLAKO_LIBVIRT_URI: hv.uri, OBLAKO_DOMAIN_TYPE: 'qemu',
      OBLAKO_PROVISIONING: 'full', OBLAKO_DIRECT_KERNEL: img.kernel, OBLAKO_DIRECT_INITRD: img.initrd, OBLAKO_DIRECT_CMDLINE: img.cmdline,
    });
    assert.equal(joined.code, 0, joined.err + joined.out);
    assert.match(joined.out, /joined: node hv-joined/);
    const nodeEnv = parseEnvFile(join(hvRoot, 'etc/oblako-node/node.env'));
    assert.equal(nodeEnv.LIBVIRT_URI, hv.uri);
    assert.match(nodeEnv.NATS_URL ?? '', new RegExp(`^tls://${HOST_IP.replaceAll('.', '\\.')}:`), 'the node reaches NATS over the veth link');
    units.start('daemon', join(hvRoot, 'etc/systemd/system/oblako-node.service'), { netns: hv.netns });
    await waitFor('the joined node online', async () => {
      const s = await new ApiClient(`http://127.0.0.1:${apiPort}`).call<{ online: boolean }>('GET', '/api/v1/join/status', undefined, { headers: { authorization: `Bearer ${reg.join.token}` } });
      return s.body.online || undefined;
    }, { timeoutMs: 60_000 }).catch((err: Error) => {
      throw new Error(`${err.message}\n${units.logsOf('daemon')}`);
    });
    console.log(`# joined-host: join command + daemon online in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    const email = `c-${id}@joined.test`;
    const customer = await verifiedCustomer(`http://127.0.0.1:${apiPort}`, DB, email, 'Joined Host Customer');
    await waitImageVerified(admin, image.id, reg.node.id, 120_000);
    const ordered = Date.now();
    const created = await customer.ok<ServerView>('POST', '/api/v1/servers', {
      planId: plan.id, imageId: image.id, locationId: location.id, hostname: 'far.joined.test', rootPassword: 'joined host root password',
    });
    const running = await waitForState(customer, created.id, 'running', 300_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${units.logsOf('daemon')}`);
    });
    const runningS = (Date.now() - ordered) / 1000;
    assert.equal(running.nodeId, reg.node.id, 'placed on the joined host');
    const address = running.addresses.find((a) => a.family === 4)!.address;
    assert.ok(address.startsWith(`${POOL_NET}.`), address);
    // the joined host's libvirt runs it, as a QEMU domain
    assert.match(await virsh(hv.uri, ['domstate', `oblako-${running.id}`]), /running/);
    assert.match(await virsh(hv.uri, ['dumpxml', `oblako-${running.id}`]), /<domain type='qemu'/);

    // from the control-plane side: the pool is routed to the joined host over the veth, then its tap
    const r = sh('ip', ['route', 'add', POOL, 'via', NS_IP]);
    assert.equal(r.code, 0, r.err);
    routed = true;
    let answer: string | null = null;
    await waitFor(`the guest ${address} to answer HTTP from the control-plane side`, async () => {
      const g = await tryRun('curl', ['-s', '-f', '--max-time', '2', '--interface', VETH_HOST, `http://${address}/hostname`], 10_000);
      answer = g.ok && g.stdout.trim() ? g.stdout.trim() : null;
      return answer ?? undefined;
    }, { timeoutMs: 300_000, intervalMs: 500 });
    console.log(`# joined-host: order → running ${runningS.toFixed(1)} s, order → answering from the control plane ${((Date.now() - ordered) / 1000).toFixed(1)} s`);
    assert.equal(answer, 'far', 'the guest reports the host name it was ordered with');

    // delete: the joined host's libvirt no longer holds it
    const del = await customer.call('DELETE', `/api/v1/servers/${running.id}`);
    assert.equal(del.status, 202, JSON.stringify(del.body));
    await waitFor('the server deleted', async () => {
      const g = await customer.call<ServerView>('GET', `/api/v1/servers/${running.id}`);
      return g.status === 404 || g.body.state === 'deleted' || undefined;
    }, { timeoutMs: 120_000, intervalMs: 500 });
    assert.ok(!(await virsh(hv.uri, ['list', '--all', '--name'])).includes(running.id), 'no domain left on the joined host');
  });
});
