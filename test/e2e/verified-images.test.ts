/**
 * Verified images end to end (issues 13 and 15), as production and the demo run it (REQUIRE_VERIFIED_IMAGES on):
 * the API and a real node daemon (libvirt's test driver) as processes. With no manual step the node's heartbeat has
 * it fetch the seeded images and check their sha256; the image whose seeded checksum is wrong stays failed with
 * the node's reason and is not offered; the good one is offered and a server ordered with it runs.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerView } from '@oblako/contracts';
import { waitFor } from '@oblako/testing';
import { newCustomer, startE2E, waitForState, type E2E } from './support.js';

let e: E2E;
let dir: string;
let goodSha: string;
const WRONG = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'oblako-verified-images-'));
  const good = join(dir, 'good.qcow2');
  const bad = join(dir, 'bad.qcow2');
  for (const f of [good, bad]) execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', f, '1G']);
  goodSha = createHash('sha256').update(readFileSync(good)).digest('hex');
  e = await startE2E({
    apiEnv: { REQUIRE_VERIFIED_IMAGES: 'true' },
    seed: {
      images: [
        { name: 'Good image', osFamily: 'debian', version: '12', url: `file://${good}`, sha256: goodSha, format: 'qcow2' },
        // the made-up checksum an earlier install test used: the node must refuse it
        { name: 'Bad checksum', osFamily: 'alpine', version: '3.20', url: `file://${bad}`, sha256: WRONG, format: 'qcow2' },
      ],
    },
  });
});
after(async () => {
  await e?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('the node verifies the seeded images by itself; a wrong checksum stays failed with the reason and unoffered', async () => {
  const images = await e.admin.ok<{ id: string; name: string }[]>('GET', '/api/v1/admin/images');
  const good = images.find((i) => i.name === 'Good image')!;
  const bad = images.find((i) => i.name === 'Bad checksum')!;
  const started = Date.now();
  const states = async (id: string) => (await e.admin.ok<{ nodeId: string; state: string; reason: string | null }[]>('GET', `/api/v1/admin/images/${id}/nodes`)).find((s) => s.nodeId === e.stack.seed.nodeId)!;
  await waitFor('both images checked by the node', async () => ((await states(good.id)).state === 'verified' && (await states(bad.id)).state === 'failed') || undefined, { timeoutMs: 60_000, intervalMs: 100 });
  console.log(`# seeded images checked by the node ${Date.now() - started} ms after the stack was up`);
  assert.match(String((await states(bad.id)).reason), new RegExp(`has sha256 [0-9a-f]{64}, expected ${WRONG}: not stored`));

  const customer = await newCustomer(e.stack, 'verified');
  const offered = await customer.ok<{ name: string }[]>('GET', '/api/v1/images');
  assert.deepEqual(offered.map((i) => i.name), ['Good image']);
  const refused = await customer.call<{ code: string; message: string }>('POST', '/api/v1/servers', { planId: e.stack.seed.planIds.small, imageId: bad.id, locationId: e.stack.seed.locationId, hostname: 'bad-1', rootPassword: 'a long enough root password' });
  assert.equal(refused.status, 409);
  assert.equal(refused.body.code, 'image_unverified');
  const s = await customer.ok<ServerView>('POST', '/api/v1/servers', { planId: e.stack.seed.planIds.small, imageId: good.id, locationId: e.stack.seed.locationId, hostname: 'good-1', rootPassword: 'a long enough root password' });
  await waitForState(customer, s.id, 'running', 30_000);
});
