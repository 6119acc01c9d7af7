#!/usr/bin/env node
// Sealed build outputs: a build either leaves a complete, verified output folder or none.
//
//   node tools/build/build.mjs run --out DIR [--sources SRC --ext .ts] -- CMD ARG...
//       Checks DIR against its manifest first (a damaged or unsealed folder is removed, so a
//       compiler's incremental state can never vouch for a broken file), removes the manifest,
//       runs CMD without a shell, checks what it wrote (no empty scripts, one .js per source) and
//       writes DIR/.build-manifest.json last, atomically. A build that is killed or fails leaves
//       no manifest, so the next one starts clean.
//   node tools/build/build.mjs verify [PROJECT...]
//       Checks every (or the named) Nx project's build outputs against their manifests, for
//       outputs restored from a cache. Prints the damaged projects and exits 1.
//   node tools/build/build.mjs check-graph
//       Every TypeScript project reference must also be an Nx dependency, or Nx would run the two
//       builds side by side. And every build of a project with dependencies must hash their
//       sources (`^default` in its inputs), or Nx hands out a cached build that was type-checked
//       against the dependencies as they were: a change in libs/contracts that breaks the daemon
//       then "builds" from the cache and fails only without it.
//
// Why: `tsc -b` builds referenced projects itself, so a project whose Nx task did not wait for a
// reference rewrote the reference's files while Nx stored them in its cache (an empty
// libs/contracts/dist/commands.js was handed to every later build). Builds are now `tsc -p`
// (each task writes only its own folder) and every output folder is sealed by this script.
import { spawnSync, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

export const MANIFEST = '.build-manifest.json';
const SCRIPT_EXT = /\.(m?js|css|html|d\.ts)$/;

function walk(dir, base = dir, out = [], skip = new Set()) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) { if (!skip.has(e.name)) walk(p, base, out, skip); }
    else if (e.isFile() && !(dir === base && e.name === MANIFEST)) out.push(relative(base, p));
  }
  return out.sort();
}

function sha256(file) {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** Why DIR cannot be trusted, or null when it matches its manifest exactly. */
export function damage(dir) {
  if (!existsSync(dir)) return 'missing';
  const mf = join(dir, MANIFEST);
  if (!existsSync(mf)) return `not sealed (no ${MANIFEST}: an earlier build was interrupted, failed, or wrote it from outside)`;
  let manifest;
  try { manifest = JSON.parse(readFileSync(mf, 'utf8')); } catch { return `${MANIFEST} is unreadable`; }
  const files = manifest.files ?? {};
  for (const [name, want] of Object.entries(files)) {
    const p = join(dir, name);
    if (!existsSync(p)) return `${name} is missing`;
    const size = statSync(p).size;
    if (size !== want.size) return `${name} has ${size} bytes, the build wrote ${want.size}`;
    if (sha256(p) !== want.sha256) return `${name} differs from what the build wrote`;
  }
  const extra = walk(dir).filter((f) => !(f in files));
  if (extra.length) return `${extra[0]} was written by something other than this build${extra.length > 1 ? ` (and ${extra.length - 1} more)` : ''}`;
  return null;
}

/** Problems in freshly built output: empty scripts, sources without output. */
function problems(dir, sources, ext) {
  const found = [];
  const files = walk(dir);
  for (const f of files) if (SCRIPT_EXT.test(f) && statSync(join(dir, f)).size === 0) found.push(`${f} is empty`);
  if (sources) {
    const have = new Set(files);
    for (const s of walk(sources, sources, [], new Set(['dist', 'node_modules']))) {
      if (!s.endsWith(ext) || s.endsWith('.d.ts')) continue;
      const js = s.slice(0, -ext.length) + '.js';
      if (!have.has(js)) found.push(`${join(sources, s)} produced no ${js}`);
    }
  }
  return found;
}

function seal(dir) {
  const files = {};
  for (const f of walk(dir)) {
    const p = join(dir, f);
    files[f] = { size: statSync(p).size, sha256: sha256(p) };
  }
  const tmp = join(dir, `${MANIFEST}.tmp`);
  writeFileSync(tmp, JSON.stringify({ files }, null, 0) + '\n');
  const fd = openSync(tmp, 'r'); fsyncSync(fd); closeSync(fd);
  renameSync(tmp, join(dir, MANIFEST));
  return Object.keys(files).length;
}

function fail(msg) {
  process.stderr.write(`build: ${msg}\n`);
  process.exit(1);
}

function run(argv) {
  const sep = argv.indexOf('--');
  if (sep < 0 || sep === argv.length - 1) fail('usage: build.mjs run --out DIR [--sources SRC --ext .ts] -- CMD ARG...');
  const opts = {};
  for (let i = 0; i < sep; i += 2) opts[argv[i].replace(/^--/, '')] = argv[i + 1];
  if (!opts.out) fail('run needs --out DIR');
  const out = resolve(opts.out);
  const cmd = argv.slice(sep + 1);
  if (existsSync(out)) {
    const why = damage(out);
    if (why && why !== 'missing') {
      process.stderr.write(`build: ${relative(process.cwd(), out) || out} cannot be trusted (${why}); building it again from clean\n`);
      rmSync(out, { recursive: true, force: true });
    }
  }
  rmSync(join(out, MANIFEST), { force: true });
  const r = spawnSync(cmd[0], cmd.slice(1), { stdio: 'inherit' });
  if (r.error) fail(`could not run ${cmd[0]}: ${r.error.message}`);
  if (r.status !== 0) process.exit(r.status ?? 1);
  if (!existsSync(out)) fail(`${cmd.join(' ')} succeeded but wrote nothing to ${opts.out}`);
  const bad = problems(out, opts.sources && resolve(opts.sources), opts.ext ?? '.ts');
  if (bad.length) fail(`${cmd.join(' ')} left broken output in ${opts.out}: ${bad.slice(0, 5).join('; ')}`);
  seal(out);
}

/** The build outputs of each Nx project (project.json files tracked by git). */
function projects(root) {
  const list = execFileSync('git', ['ls-files', '--', '*project.json'], { cwd: root, encoding: 'utf8' }).split('\n').filter(Boolean);
  const result = [];
  for (const file of list) {
    if (file.includes('node_modules/')) continue;
    const cfg = JSON.parse(readFileSync(join(root, file), 'utf8'));
    const dir = dirname(file);
    const outs = cfg.targets?.build?.outputs ?? [];
    result.push({
      name: cfg.name, dir, config: cfg,
      outputs: outs.map((o) => join(root, o.replace('{projectRoot}', dir).replace('{workspaceRoot}', '.'))),
    });
  }
  return result;
}

function verify(root, names) {
  const all = projects(root).filter((p) => p.outputs.length && (names.length === 0 || names.includes(p.name)));
  const damaged = [];
  for (const p of all) {
    for (const o of p.outputs) {
      const why = damage(o);
      if (why) damaged.push(p.name), process.stderr.write(`build: ${p.name}: ${relative(root, o)} ${why}\n`);
    }
  }
  if (damaged.length) { process.stdout.write([...new Set(damaged)].join(' ') + '\n'); process.exit(1); }
}

function checkGraph(root) {
  const tmp = join(root, '.nx', `graph-${process.pid}.json`);
  execFileSync('npx', ['nx', 'graph', `--file=${tmp}`], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, NX_DAEMON: 'false' } });
  const graph = JSON.parse(readFileSync(tmp, 'utf8')).graph;
  rmSync(tmp, { force: true });
  const deps = (name, seen = new Set()) => {
    for (const d of graph.dependencies[name] ?? []) if (!seen.has(d.target)) { seen.add(d.target); deps(d.target, seen); }
    return seen;
  };
  const byDir = new Map(projects(root).map((p) => [resolve(root, p.dir), p.name]));
  const missing = [];
  for (const p of projects(root)) {
    const tsconfig = join(root, p.dir, 'tsconfig.json');
    if (!existsSync(tsconfig)) continue;
    const refs = JSON.parse(readFileSync(tsconfig, 'utf8')).references ?? [];
    const have = deps(p.name);
    for (const r of refs) {
      const target = byDir.get(resolve(root, p.dir, r.path));
      if (target && !have.has(target)) missing.push(`${p.name} references ${target} in tsconfig.json but Nx does not build ${target} first (add it to implicitDependencies)`);
    }
  }
  for (const p of projects(root)) {
    const build = graph.nodes[p.name]?.data?.targets?.build;
    if (!build || !(graph.dependencies[p.name] ?? []).length) continue;
    if (!build.inputs) continue; // Nx's own default is ["default", "^default"]
    const hashesDeps = build.inputs.some((i) => (typeof i === 'string' ? i.startsWith('^') : i.dependencies === true || i.input?.startsWith?.('^')));
    if (!hashesDeps) missing.push(`${p.name}:build does not hash its dependencies' sources: add "^default" to its inputs, or its cache entry outlives a dependency change`);
  }
  if (missing.length) fail(missing.join('\n       '));
}

const [mode, ...rest] = process.argv.slice(2);
const root = resolve(dirname(new URL(import.meta.url).pathname), '../..');
if (mode === 'run') run(rest);
else if (mode === 'verify') verify(root, rest);
else if (mode === 'check-graph') checkGraph(root);
else fail('usage: build.mjs run|verify|check-graph ...');
