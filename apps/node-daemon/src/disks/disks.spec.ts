import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, existsSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execProgram } from '../host/exec.js';
import { ImageCache } from './images.js';
import { Overlays } from './overlays.js';

let dir: string;
let base: string;
let sha: string;
let http: Server;
let port: number;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'disks-'));
  base = join(dir, 'base.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', base, '64M']);
  sha = createHash('sha256').update(readFileSync(base)).digest('hex');
  http = createServer((req, res) => {
    if (req.url === '/base.qcow2') res.end(readFileSync(base));
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  port = (http.address() as { port: number }).port;
});
after(async () => {
  http.close();
  await rm(dir, { recursive: true, force: true });
});

test('a file:// image is fetched once, checked and named by its checksum', async () => {
  const cache = new ImageCache(join(dir, 'cache1'));
  const img = { url: pathToFileURL(base).href, sha256: sha, format: 'qcow2' as const };
  const [a, b] = await Promise.all([cache.ensure(img), cache.ensure(img)]);
  assert.equal(a, join(dir, 'cache1', `${sha}.qcow2`));
  assert.equal(a, b);
  assert.equal(createHash('sha256').update(readFileSync(a)).digest('hex'), sha);
});

test('an http image from 127.0.0.1 is fetched; a wrong checksum is never stored', async () => {
  const cache = new ImageCache(join(dir, 'cache2'));
  const url = `http://127.0.0.1:${port}/base.qcow2`;
  assert.equal(await cache.ensure({ url, sha256: sha, format: 'qcow2' }), join(dir, 'cache2', `${sha}.qcow2`));
  const wrong = 'b'.repeat(64);
  await assert.rejects(cache.ensure({ url, sha256: wrong, format: 'qcow2' }), /expected b{64}: not stored/);
  assert.equal(existsSync(join(dir, 'cache2', `${wrong}.qcow2`)), false);
  await assert.rejects(cache.ensure({ url: `http://127.0.0.1:${port}/missing`, sha256: wrong, format: 'qcow2' }), /HTTP 404/);
  await assert.rejects(cache.ensure({ url: 'ftp://example.org/x', sha256: sha, format: 'qcow2' }), /not supported/);
  await assert.rejects(cache.ensure({ url: 'file://otherhost/x', sha256: sha, format: 'qcow2' }), /local path/);
  await assert.rejects(cache.ensure({ url: pathToFileURL(base).href, sha256: '../../x', format: 'qcow2' }), /hex/);
});

test('a transient fetch failure (HTTP 503, a cut connection) is retried and reports progress; a 404 or a mismatch is not retried; nothing half-made stays', async () => {
  const hits = new Map<string, number>();
  const flaky = createServer((req, res) => {
    const n = (hits.get(req.url ?? '') ?? 0) + 1;
    hits.set(req.url ?? '', n);
    const body = readFileSync(base);
    if (req.url === '/twice-503' && n <= 2) return void res.writeHead(503).end();
    if (req.url === '/cut' && n === 1) {
      res.writeHead(200, { 'content-length': String(body.length) });
      res.write(body.subarray(0, 1024));
      return void res.destroy();
    }
    if (req.url === '/always-503') return void res.writeHead(503).end();
    if (req.url === '/gone') return void res.writeHead(404).end();
    res.writeHead(200, { 'content-length': String(body.length) }).end(body);
  });
  await new Promise<void>((r) => flaky.listen(0, '127.0.0.1', r));
  const at = `http://127.0.0.1:${(flaky.address() as { port: number }).port}`;
  try {
    const progress: [number, number | null][] = [];
    const cacheDir = join(dir, 'cache-retry');
    const cache = (d = cacheDir) => new ImageCache(d, { attempts: 3, retryDelayMs: 10, onProgress: (_i, bytes, total) => progress.push([bytes, total]) });
    assert.equal(await cache().ensure({ url: `${at}/twice-503`, sha256: sha, format: 'qcow2' }), join(cacheDir, `${sha}.qcow2`));
    assert.equal(hits.get('/twice-503'), 3, 'two 503s, then the file');
    const size = statSync(base).size;
    assert.deepEqual(progress.at(-1), [size, size], 'the last report is the whole file of its total');

    const cutDir = join(dir, 'cache-cut');
    assert.equal(await cache(cutDir).ensure({ url: `${at}/cut`, sha256: sha, format: 'qcow2' }), join(cutDir, `${sha}.qcow2`));
    assert.equal(hits.get('/cut'), 2, 'a download cut mid-way is tried again');

    const failDir = join(dir, 'cache-fail');
    await assert.rejects(cache(failDir).ensure({ url: `${at}/always-503`, sha256: sha, format: 'qcow2' }), /answered HTTP 503 \(tried 3 times\)/);
    assert.equal(hits.get('/always-503'), 3);
    await assert.rejects(cache(failDir).ensure({ url: `${at}/gone`, sha256: sha, format: 'qcow2' }), /answered HTTP 404$/);
    assert.equal(hits.get('/gone'), 1, 'a 404 is final');
    await assert.rejects(cache(failDir).ensure({ url: `${at}/file`, sha256: 'c'.repeat(64), format: 'qcow2' }), /expected c{64}: not stored/);
    assert.equal(hits.get('/file'), 1, 'a checksum mismatch is final');
    assert.deepEqual(readdirSync(failDir), [], 'no partial or bad file is left');
  } finally {
    flaky.close();
  }
});

test('hardened cache: not a disk image, a raw that is qcow2, a backing file, a partial download: none becomes a base; a damaged cached copy is fetched again', async () => {
  const d = join(dir, 'cache3');
  const cache = new ImageCache(d, { exec: execProgram });
  const refused = async (file: string, format: 'qcow2' | 'raw', why: RegExp) => {
    const s256 = createHash('sha256').update(readFileSync(file)).digest('hex');
    await assert.rejects(cache.ensure({ url: pathToFileURL(file).href, sha256: s256, format }), why);
    assert.equal(existsSync(join(d, `${s256}.${format}`)), false, `${file} was stored`);
  };
  const html = join(dir, 'page.html');
  writeFileSync(html, '<html>not found</html>');
  await refused(html, 'qcow2', /not a qcow2 image \(qemu-img sees raw\); not stored/);
  await refused(base, 'raw', /not a raw image \(qemu-img sees qcow2\)/);
  // the known attack: a qcow2 whose backing file is a path on the node (here /etc/passwd)
  const evil = join(dir, 'evil.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-u', '-b', '/etc/passwd', '-F', 'raw', evil, '64M']);
  await refused(evil, 'qcow2', /has a backing file \(\/etc\/passwd\)/);

  // a server that hangs up half-way: the checksum of what arrived is wrong, nothing is stored, no partial file stays
  const cut = createServer((_req, res) => {
    res.writeHead(200, { 'content-length': String(statSync(base).size) });
    res.write(readFileSync(base).subarray(0, 4096), () => res.destroy());
  });
  await new Promise<void>((r) => cut.listen(0, '127.0.0.1', r));
  try {
    await assert.rejects(cache.ensure({ url: `http://127.0.0.1:${(cut.address() as { port: number }).port}/base.qcow2`, sha256: sha, format: 'qcow2' }), /cannot fetch|expected|broke off after 4096 bytes: .* \(tried 3 times\)/);
  } finally {
    cut.close();
  }
  assert.deepEqual(readdirSync(d).filter((n) => n.startsWith('.fetch-') || n.startsWith(sha)), []);

  // a good one is stored; a later process finds it damaged on disk, removes it and fetches it again
  const good = await cache.ensure({ url: pathToFileURL(base).href, sha256: sha, format: 'qcow2' });
  writeFileSync(good, 'damaged');
  writeFileSync(join(d, '.fetch-leftover'), 'partial download of a crashed process');
  const later = new ImageCache(d, { exec: execProgram });
  assert.equal(await later.ensure({ url: pathToFileURL(base).href, sha256: sha, format: 'qcow2' }), good);
  assert.equal(createHash('sha256').update(readFileSync(good)).digest('hex'), sha);
  assert.equal(existsSync(join(d, '.fetch-leftover')), false, 'the leftover partial file was swept');
});

test('overlay: qcow2 on the base, plan size, kept on redelivery, replaced on rebuild, removed twice', async () => {
  const ov = new Overlays(join(dir, 'disks'), execProgram);
  const id = randomUUID();
  const t0 = performance.now();
  const path = await ov.ensure(id, base, 'qcow2', 2);
  const ms = performance.now() - t0;
  const info = JSON.parse(execFileSync('qemu-img', ['info', '--output=json', path], { encoding: 'utf8' })) as Record<string, unknown>;
  assert.equal(info['format'], 'qcow2');
  assert.equal(info['virtual-size'], 2 * 1024 ** 3);
  assert.equal(info['backing-filename'], base);
  assert.equal(info['backing-filename-format'], 'qcow2');
  const ino = execFileSync('stat', ['-c', '%i', path], { encoding: 'utf8' });
  await ov.ensure(id, base, 'qcow2', 2);
  assert.equal(execFileSync('stat', ['-c', '%i', path], { encoding: 'utf8' }), ino, 'a redelivered create keeps the disk');
  await ov.create(id, base, 'qcow2', 3);
  assert.equal((JSON.parse(execFileSync('qemu-img', ['info', '--output=json', path], { encoding: 'utf8' })) as Record<string, number>)['virtual-size'], 3 * 1024 ** 3);
  await ov.remove(id);
  await ov.remove(id);
  assert.equal(existsSync(path), false);
  assert.ok(ms < 3000, `overlay made in ${ms.toFixed(1)} ms`);
});

test('a plan disk smaller than the image is refused with both sizes', async () => {
  const big = join(dir, 'big.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', big, '3G']);
  const ov = new Overlays(join(dir, 'disks'), execProgram);
  await assert.rejects(ov.ensure(randomUUID(), big, 'qcow2', 1), /1 GiB\) is smaller than the image \(3\.00 GiB\)/);
  await assert.rejects(ov.ensure('../../etc', big, 'qcow2', 1), /UUID/);
});
