// The build tool seals every output folder (tools/build/build.mjs): these tests drive it on a
// small TypeScript project of their own in a temporary folder, with the workspace's real tsc,
// from each starting state a build can meet: clean, built, damaged behind an "up to date"
// .tsbuildinfo, interrupted, failed, and a command that writes an empty script.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, existsSync, rmSync, statSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const tool = join(root, 'tools/build/build.mjs');
const tsc = join(root, 'node_modules/typescript/bin/tsc');

function project(): string {
  const dir = mkdtempSync(join(tmpdir(), 'oblako-build-'));
  mkdirSync(join(dir, 'src'));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { composite: true, rootDir: 'src', outDir: 'dist', tsBuildInfoFile: 'dist/.tsbuildinfo', module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, types: [] },
    include: ['src/**/*.ts'],
  }));
  writeFileSync(join(dir, 'src/a.ts'), "export const WIRE_VERSION = 3;\n");
  writeFileSync(join(dir, 'src/b.ts'), "import { WIRE_VERSION } from './a.js';\nexport const v = WIRE_VERSION + 1;\n");
  return dir;
}

function build(dir: string, cmd = [process.execPath, tsc, '-p', join(dir, 'tsconfig.json')]) {
  return spawnSync(process.execPath, [tool, 'run', '--out', join(dir, 'dist'), '--sources', join(dir, 'src'), '--', ...cmd], { encoding: 'utf8' });
}

const manifest = (dir: string) => join(dir, 'dist/.build-manifest.json');

test('a clean build is sealed, and a second build of unchanged sources keeps it sealed', () => {
  const dir = project();
  try {
    const first = build(dir);
    assert.equal(first.status, 0, first.stderr);
    assert.ok(existsSync(manifest(dir)));
    const files = Object.keys(JSON.parse(readFileSync(manifest(dir), 'utf8')).files).sort();
    assert.deepEqual(files.filter((f) => f.endsWith('.js')), ['a.js', 'b.js']);
    const again = build(dir);
    assert.equal(again.status, 0, again.stderr);
    assert.equal(again.stderr, '', 'nothing to repair on a second run');
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('an emptied output behind an up-to-date .tsbuildinfo is rebuilt from clean, not trusted', () => {
  const dir = project();
  try {
    assert.equal(build(dir).status, 0);
    writeFileSync(join(dir, 'dist/a.js'), '');
    // tsc alone calls this project up to date and would leave the empty file in place:
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(dir, 'dist/.tsbuildinfo'), later, later);
    const plain = spawnSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8' });
    assert.equal(plain.status, 0);
    assert.equal(statSync(join(dir, 'dist/a.js')).size, 0, 'tsc by itself does not repair it');
    const r = build(dir);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /cannot be trusted \(a\.js has 0 bytes/);
    assert.match(readFileSync(join(dir, 'dist/a.js'), 'utf8'), /WIRE_VERSION = 3/);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('a file written into the output by something else is noticed', () => {
  const dir = project();
  try {
    assert.equal(build(dir).status, 0);
    writeFileSync(join(dir, 'dist/stray.js'), 'export {};\n');
    const v = spawnSync(process.execPath, [tool, 'run', '--out', join(dir, 'dist'), '--', process.execPath, '-e', ''], { encoding: 'utf8' });
    assert.match(v.stderr, /stray\.js was written by something other than this build/);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('a build killed half-way leaves no seal, and the next build starts clean', async () => {
  const dir = project();
  try {
    assert.equal(build(dir).status, 0);
    writeFileSync(join(dir, 'src/a.ts'), "export const WIRE_VERSION = 4;\n");
    // A command that writes half its output, then hangs until it is killed.
    const half = `require('fs').writeFileSync(${JSON.stringify(join(dir, 'dist/a.js'))}, ''); setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, [tool, 'run', '--out', join(dir, 'dist'), '--', process.execPath, '-e', half], { stdio: 'ignore', detached: true });
    for (let i = 0; i < 100 && !(existsSync(join(dir, 'dist/a.js')) && statSync(join(dir, 'dist/a.js')).size === 0); i++) await new Promise((r) => setTimeout(r, 50));
    process.kill(-child.pid!, 'SIGKILL');
    await new Promise((r) => child.once('exit', r));
    assert.equal(existsSync(manifest(dir)), false, 'no seal on an interrupted build');
    const r = build(dir);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /not sealed/);
    assert.match(readFileSync(join(dir, 'dist/a.js'), 'utf8'), /WIRE_VERSION = 4/);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('a failing compile and a command that leaves an empty script both fail loudly and leave no seal', () => {
  const dir = project();
  try {
    writeFileSync(join(dir, 'src/b.ts'), "export const v: number = 'not a number';\n");
    const r = build(dir);
    assert.notEqual(r.status, 0);
    assert.equal(existsSync(manifest(dir)), false);
    writeFileSync(join(dir, 'src/b.ts'), "export const v = 1;\n");
    const empty = `const fs=require('fs');fs.mkdirSync(${JSON.stringify(join(dir, 'dist'))},{recursive:true});fs.writeFileSync(${JSON.stringify(join(dir, 'dist/a.js'))},'');`;
    const e = build(dir, [process.execPath, '-e', empty]);
    assert.notEqual(e.status, 0);
    assert.match(e.stderr, /left broken output .*a\.js is empty/);
    assert.match(e.stderr, /b\.ts produced no b\.js/);
    assert.equal(existsSync(manifest(dir)), false);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('every TypeScript project reference is an Nx dependency (no two builds share a folder), and every build hashes its dependencies (no cached build outlives a dependency change)', () => {
  const r = spawnSync(process.execPath, [tool, 'check-graph'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});
