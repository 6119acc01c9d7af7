/**
 * An image's fetch shows its progress to staff (issue 13): the node daemon (a separate process, its real image cache
 * and verifier) downloads an image from a slow HTTP server that sends it in chunks; while it does, staff's view of
 * the image on that node reads `verifying` with bytes that rise towards the file's size; then it is verified.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitFor } from '@oblako/testing';
import { startE2E, type E2E } from './support.js';

const SIZE = 1024 * 1024;
const CHUNK = 64 * 1024;
const EVERY_MS = 400;
let e: E2E;
let http: Server;
let requests = 0;
// a raw disk image (qemu-img sees any file as raw): 1 MiB, not all zeros so its checksum is its own
const file = Buffer.alloc(SIZE);
for (let i = 0; i < SIZE; i += 4096) file.writeUInt32LE(i, i);
const sha = createHash('sha256').update(file).digest('hex');

before(async () => {
  http = createServer((req, res) => {
    requests++;
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(SIZE) });
    let off = 0;
    const tick = setInterval(() => {
      if (res.destroyed) return clearInterval(tick);
      res.write(file.subarray(off, off + CHUNK));
      off += CHUNK;
      if (off >= SIZE) {
        clearInterval(tick);
        res.end();
      }
    }, EVERY_MS);
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  e = await startE2E();
});
after(async () => {
  await e?.close();
  http?.closeAllConnections();
  await new Promise((r) => http?.close(r));
});

test('staff see a slow fetch rise towards the file size on the node, then verified', async () => {
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/slow.raw`;
  const image = await e.admin.ok<{ id: string }>('POST', '/api/v1/admin/images', { name: 'Slow Raw', osFamily: 'linux', version: '1', url, sha256: sha, format: 'raw' });
  const seen: { bytes: number; total: number | null }[] = [];
  const final = await waitFor('the node to fetch and verify the slow image', async () => {
    const [s] = await e.admin.ok<{ state: string; progressBytes: number | null; progressTotal: number | null; reason: string | null }[]>('GET', `/api/v1/admin/images/${image.id}/nodes`);
    if (s?.state === 'verifying' && s.progressBytes !== null && seen.at(-1)?.bytes !== s.progressBytes) seen.push({ bytes: s.progressBytes, total: s.progressTotal });
    return s?.state === 'verified' || s?.state === 'failed' ? s : undefined;
  }, { timeoutMs: 60_000, intervalMs: 100 });
  assert.equal(final.state, 'verified', final.reason ?? '');
  assert.equal(final.progressBytes, null, 'progress is shown only while it fetches');
  assert.equal(requests, 1, 'one download');
  console.log(`# progress seen by staff: ${seen.map((p) => `${Math.floor((100 * p.bytes) / SIZE)}%`).join(' ')}`);
  assert.ok(seen.length >= 3, `staff saw the fetch move at least 3 times (saw ${JSON.stringify(seen)})`);
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i]!.bytes > seen[i - 1]!.bytes, 'it only rises');
  assert.ok(seen.every((p) => p.total === SIZE), 'the total is the file\'s size (Content-Length)');
  assert.ok(seen[0]!.bytes < SIZE / 2, 'the first report came early in the download');
  // what a guest of it would see is known now: the plan check uses it
  const [listed] = (await e.admin.ok<{ id: string; virtualSizeBytes: number | null }[]>('GET', '/api/v1/admin/images')).filter((i) => i.id === image.id);
  assert.equal(listed?.virtualSizeBytes, SIZE);
});
