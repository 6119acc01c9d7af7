/**
 * The installed product, for tests: tools/install/install.sh into a temporary root, its services started from
 * their own units' ExecStart lines (no systemd as PID 1 here), and a second "host" (a network namespace) linked
 * to this one by a veth pair. Used by test/e2e/install.test.ts (every step asserted) and by
 * test/real-guest/joined-host.test.ts (a real guest on the joined host).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomInt } from 'node:crypto';
import pg from 'pg';
import { ApiClient } from '@oblako/devstack';
import { TEST_PG_ADMIN_URL, waitFor } from '@oblako/testing';

/** Repository root (this file is compiled to test/dist/e2e/install-support.js). */
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export interface ShResult {
  code: number | null;
  out: string;
  err: string;
}

/** Run a program (no shell) with only PATH and `env` in its environment. */
export const sh = (file: string, args: string[], env: NodeJS.ProcessEnv = {}): ShResult => {
  const r = spawnSync(file, args, { encoding: 'utf8', env: { PATH: process.env.PATH, ...env }, timeout: 600_000 });
  return { code: r.status, out: r.stdout ?? '', err: r.stderr ?? '' };
};
export const must = (file: string, args: string[]): string => {
  const r = sh(file, args);
  assert.equal(r.code, 0, `${file} ${args.join(' ')}: ${r.err}`);
  return r.out;
};

function portFree(port: number, host: string): Promise<boolean> {
  return new Promise((ok) => {
    const s = createServer();
    s.once('error', () => ok(false));
    s.listen(port, host, () => s.close(() => ok(true)));
  });
}
/** The first of `n` consecutive free ports on 127.0.0.1. */
export async function freeRun(n: number): Promise<number> {
  for (;;) {
    const base = randomInt(20_000, 60_000);
    let all = true;
    for (let i = 0; i < n; i++) if (!(await portFree(base + i, '127.0.0.1'))) all = false;
    if (all) return base;
  }
}

/** What systemd would run for a unit: its ExecStart split as systemd splits it, with Environment= and EnvironmentFile=. */
export function readUnit(file: string, instance = ''): { argv: string[]; env: Record<string, string> } {
  const text = readFileSync(file, 'utf8').replaceAll('%i', instance);
  const split = (s: string) => [...s.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) => (m[1] !== undefined ? JSON.parse(`"${m[1]}"`) : m[2]) as string);
  let argv: string[] = [];
  const env: Record<string, string> = {};
  const files: Record<string, string>[] = [];
  for (const raw of text.split('\n')) {
    const m = /^(ExecStart|Environment|EnvironmentFile)=(.*)$/.exec(raw.trim());
    if (!m) continue;
    if (m[1] === 'ExecStart') argv = split(m[2]!);
    else if (m[1] === 'Environment') for (const kv of split(m[2]!)) env[kv.slice(0, kv.indexOf('='))] = kv.slice(kv.indexOf('=') + 1);
    else files.push(parseEnvFile(m[2]!.replace(/^-/, '')));
  }
  assert.ok(argv.length, `${file} has an ExecStart`);
  return { argv, env: Object.assign(env, ...files) };
}
export function parseEnvFile(file: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m) env[m[1]!] = m[2]!.startsWith('"') ? (JSON.parse(m[2]!) as string) : m[2]!;
  }
  return env;
}

/** Services started from their units, with their output kept for failure messages. */
export class Units {
  readonly procs: { name: string; child: ChildProcess; log: string[] }[] = [];

  /** Start `file`'s ExecStart (in network namespace `netns` if given: the second host). */
  start(name: string, file: string, opts: { instance?: string; netns?: string } = {}): ChildProcess {
    const u = readUnit(file, opts.instance);
    const [cmd, ...args] = opts.netns ? ['nsenter', `--net=/run/netns/${opts.netns}`, ...u.argv] : u.argv;
    const child = spawn(cmd!, args, { env: { PATH: process.env.PATH, ...u.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const log: string[] = [];
    child.stdout!.on('data', (d: Buffer) => log.push(d.toString()));
    child.stderr!.on('data', (d: Buffer) => log.push(d.toString()));
    this.procs.push({ name, child, log });
    return child;
  }

  logsOf(name: string): string {
    return this.procs.filter((p) => p.name === name).flatMap((p) => p.log).join('').slice(-4000);
  }

  /** SIGTERM every service (newest first), SIGKILL what is left a second later. */
  async stopAll(): Promise<void> {
    for (const p of [...this.procs].reverse()) if (p.child.exitCode === null) p.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 1000));
    for (const p of this.procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  }
}

/** HTTPS to `host:port` (the installed nginx), checked against the installed (self-signed) certificate `caFile`. */
export function httpsClient(host: string, port: () => number, caFile: string) {
  return (method: string, path: string, body?: unknown): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> =>
    new Promise((ok, fail) => {
      const req = request(
        { host, port: port(), path, method, ca: readFileSync(caFile), headers: body ? { 'content-type': 'application/json' } : {} },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => ok({ status: res.statusCode ?? 0, headers: res.headers, text }));
        },
      );
      req.on('error', fail);
      req.end(body ? JSON.stringify(body) : undefined);
    });
}

/** tools/install/install.sh into `root` (no packages, no build: the tests run from a built checkout). */
export const runInstall = (root: string, extra: string[]): ShResult => sh(join(REPO, 'tools/install/install.sh'), ['--root', root, '--no-packages', '--no-build', ...extra]);

/** Link network namespace `netns` (which exists) to this one: `hostIp`/24 here on `vethHost`, `nsIp`/24 there on `vethNs`. */
export function linkNetns(netns: string, link: { vethHost: string; vethNs: string; hostIp: string; nsIp: string }): void {
  must('ip', ['link', 'add', link.vethHost, 'type', 'veth', 'peer', 'name', link.vethNs]);
  must('ip', ['link', 'set', link.vethNs, 'netns', netns]);
  must('ip', ['addr', 'add', `${link.hostIp}/24`, 'dev', link.vethHost]);
  must('ip', ['link', 'set', link.vethHost, 'up']);
  must('ip', ['-n', netns, 'addr', 'add', `${link.nsIp}/24`, 'dev', link.vethNs]);
  must('ip', ['-n', netns, 'link', 'set', link.vethNs, 'up']);
  must('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
}

/** A customer registered on the installed API, with the address marked verified in its database `db` (no mail here). */
export async function verifiedCustomer(apiUrl: string, db: string, email: string, team: string): Promise<ApiClient> {
  const customer = new ApiClient(apiUrl);
  await customer.register(email, 'correct horse battery staple', team);
  const c = new pg.Client({ connectionString: new URL(`/${db}`, TEST_PG_ADMIN_URL).toString() });
  await c.connect();
  try {
    await c.query(`UPDATE users SET email_verified_at = now() WHERE email = $1`, [email]);
  } finally {
    await c.end();
  }
  return customer;
}

/** Wait until the node's heartbeat has had it fetch and verify the image (its sha256): only then is it offered. */
export async function waitImageVerified(admin: ApiClient, imageId: string, nodeId: string, timeoutMs: number): Promise<void> {
  await waitFor('the image verified on the joined node', async () => {
    const states = await admin.ok<{ nodeId: string; state: string; reason: string | null }[]>('GET', `/api/v1/admin/images/${imageId}/nodes`);
    const mine = states.find((x) => x.nodeId === nodeId);
    if (mine?.state === 'failed') throw new Error(`the node could not verify the image: ${mine.reason}`);
    return mine?.state === 'verified' || undefined;
  }, { timeoutMs });
}
