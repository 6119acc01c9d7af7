/**
 * `image_verify` on a real daemon (libvirt's test driver, real NATS): the node fetches the image into its cache,
 * checks its sha256 and what qemu-img says of it, and answers with `image.state`; a wrong checksum or a file that
 * is not the declared image is refused with the reason and never becomes a base.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IMAGE_VERIFY_OP, WIRE_VERSION, type ImageVerifyCommand } from '@oblako/contracts';
import { waitFor } from '@oblako/testing';
import { Harness } from './harness.js';

let h: Harness;
let dir: string;
let image: string;
let sha: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'oblako-image-verify-'));
  image = join(dir, 'base.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', image, '64M']);
  sha = createHash('sha256').update(readFileSync(image)).digest('hex');
  h = await Harness.start({ dataDir: join(dir, 'node') }, {}, { eventStream: true });
});
after(async () => {
  await h?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function verify(over: Partial<ImageVerifyCommand>): Promise<Record<string, unknown>> {
  const cmd: ImageVerifyCommand = { v: WIRE_VERSION, kind: IMAGE_VERIFY_OP, requestId: randomUUID(), nodeId: h.nodeId, imageId: randomUUID(), url: `file://${image}`, sha256: sha, format: 'qcow2', issuedAt: Date.now(), ...over };
  await h.publish(cmd as unknown as Record<string, unknown>, IMAGE_VERIFY_OP);
  const ev = await waitFor(`image.state for ${cmd.requestId}`, () => h.events.find((e) => e.kind === 'image.state' && e.data.requestId === cmd.requestId), { timeoutMs: 30_000, intervalMs: 10 });
  return ev.data;
}

test('a good image is fetched into the node cache under its checksum and answered verified', async () => {
  const answer = await verify({});
  assert.equal(answer.ok, true, JSON.stringify(answer));
  assert.equal(answer.sha256, sha);
  assert.equal(answer.nodeId, h.nodeId);
  assert.ok(typeof answer.bytes === 'number' && answer.bytes > 0);
  assert.equal(answer.virtualBytes, 64 * 1024 * 1024, 'the disk a guest of it sees, as qemu-img says (the API refuses smaller plans by it)');
  const cached = join(dir, 'node', 'images', `${sha}.qcow2`);
  assert.ok(existsSync(cached), 'the verified base is in the cache');
  assert.equal(createHash('sha256').update(readFileSync(cached)).digest('hex'), sha);
  // asked again: answered from the cache, still verified
  assert.equal((await verify({})).ok, true);
});

test('a checksum mismatch is refused with both checksums named and nothing is stored', async () => {
  const wrong = 'f'.repeat(64);
  const answer = await verify({ sha256: wrong });
  assert.equal(answer.ok, false);
  assert.match(String(answer.reason), new RegExp(`has sha256 ${sha}, expected ${wrong}`));
  assert.ok(!existsSync(join(dir, 'node', 'images', `${wrong}.qcow2`)));
  assert.deepEqual(readdirSync(join(dir, 'node', 'images')).filter((n) => n.startsWith('.fetch-')), [], 'no partial file left');
});

test('a file that is not the declared image, and a URL that fails, are refused with the reason', async () => {
  const html = join(dir, 'not-an-image.qcow2');
  writeFileSync(html, '<html>404 Not Found</html>\n');
  const htmlSha = createHash('sha256').update(readFileSync(html)).digest('hex');
  const notImage = await verify({ url: `file://${html}`, sha256: htmlSha });
  assert.equal(notImage.ok, false);
  assert.match(String(notImage.reason), /not a qcow2 image/);
  const missing = await verify({ url: `file://${join(dir, 'missing.qcow2')}`, sha256: 'e'.repeat(64) });
  assert.equal(missing.ok, false);
  assert.match(String(missing.reason), /cannot fetch image file:\/\/.*missing\.qcow2/);
});

test('an image_verify for another node is refused unanswered; the daemon keeps serving', async () => {
  const requestId = randomUUID();
  await h.publish({ v: WIRE_VERSION, kind: IMAGE_VERIFY_OP, requestId, nodeId: 'someone-else', imageId: randomUUID(), url: `file://${image}`, sha256: sha, format: 'qcow2', issuedAt: Date.now() }, IMAGE_VERIFY_OP);
  assert.equal((await verify({})).ok, true, 'the next request is answered');
  assert.ok(!h.events.some((e) => e.kind === 'image.state' && e.data.requestId === requestId));
});
