#!/usr/bin/env node
// Starts the README's demo command (`./scripts/demo.sh`) as a newcomer would, waits for the API's
// /health and the panel, signs in as the demo customer through the API with the logins the demo
// printed, then stops it with Ctrl-C (SIGINT) and checks that it stopped cleanly and left no
// process behind. Run it twice to prove the second start is fast. Exit code 0 only if all held.
//
//   node tools/ci/demo-check.mjs [--runs N] [--max-second-run-seconds S]
import { spawn, execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const runs = opt('--runs', 2);
const maxSecond = opt('--max-second-run-seconds', 90);
const startTimeoutMs = opt('--start-timeout-seconds', 1800) * 1000;

const log = (m) => console.log(`[demo-check] ${m}`);
const fail = (m) => {
  console.error(`[demo-check] FAILED: ${m}`);
  process.exit(1);
};

/** The README's ports when free (a newcomer's case), free ones otherwise (documented PORT / PANEL_PORT). */
async function portFor(preferred) {
  const tryPort = (p) =>
    new Promise((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(null));
      s.listen(p, '127.0.0.1', () => {
        const got = s.address().port;
        s.close(() => resolve(got));
      });
    });
  return (await tryPort(preferred)) ?? (await tryPort(0));
}

function groupAlive(pgid) {
  try {
    const out = execFileSync('ps', ['-o', 'pid=,comm=', '-g', String(pgid)], { encoding: 'utf8' });
    return out.trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

async function once(run) {
  const port = await portFor(3000);
  const panelPort = await portFor(4200);
  const t0 = performance.now();
  const secs = () => ((performance.now() - t0) / 1000).toFixed(1);
  const env = { ...process.env, PORT: String(port), PANEL_PORT: String(panelPort) };
  const child = spawn('./scripts/demo.sh', [], { cwd: root, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const onData = (b) => {
    out += b.toString();
    process.stdout.write(b.toString().replace(/^(?=.)/gm, `[demo ${run}] `));
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let stopped = null;
  void exited.then((r) => (stopped = r));

  const deadline = Date.now() + startTimeoutMs;
  while (!/Oblako is running\./.test(out)) {
    if (stopped) fail(`the demo exited (${JSON.stringify(stopped)}) before it said it was running`);
    if (Date.now() > deadline) fail(`the demo did not say it was running within ${startTimeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
  await new Promise((r) => setTimeout(r, 300)); // the rest of the banner
  const readySecs = secs();
  const panelUrl = /Panel:\s+(\S+)/.exec(out)?.[1];
  const apiUrl = /API:\s+(\S+)/.exec(out)?.[1];
  const customer = /Demo customer:\s+(\S+) \/ (\S+)/.exec(out);
  if (!panelUrl || !apiUrl || !customer) fail('the banner lacks the panel URL, the API URL or the demo customer login');

  const health = await fetch(`${apiUrl}/health`);
  if (!health.ok) fail(`${apiUrl}/health answered ${health.status}: ${await health.text()}`);
  const panel = await fetch(panelUrl);
  const html = await panel.text();
  if (!panel.ok || !/<ob-root/i.test(html)) fail(`the panel at ${panelUrl} answered ${panel.status} without the app`);
  const login = await fetch(`${panelUrl}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: customer[1], password: customer[2] }),
  });
  const body = await login.json().catch(() => ({}));
  if (login.status !== 200 || typeof body.accessToken !== 'string') fail(`signing in as the demo customer through the panel's origin answered ${login.status}: ${JSON.stringify(body)}`);
  const me = await fetch(`${apiUrl}/api/v1/servers`, { headers: { authorization: `Bearer ${body.accessToken}` } });
  if (!me.ok) fail(`the customer's server list answered ${me.status}`);
  log(`run ${run}: ready in ${readySecs} s; /health, the panel and the customer's sign-in work`);

  const tStop = performance.now();
  process.kill(-child.pid, 'SIGINT');
  const result = await Promise.race([exited, new Promise((r) => setTimeout(() => r(null), 60_000).unref())]);
  if (!result) fail('the demo did not stop within 60 s of Ctrl-C');
  if (result.code !== 0) fail(`the demo stopped with ${JSON.stringify(result)} instead of exit code 0`);
  if (!/Stopped \(/.test(out)) fail('the demo did not say it stopped');
  await new Promise((r) => setTimeout(r, 500));
  const left = groupAlive(child.pid);
  if (left.length) fail(`processes left behind after the demo stopped: ${left.join('; ')}`);
  const portsFree = (await portFor(port)) === port && (await portFor(panelPort)) === panelPort;
  if (!portsFree) fail(`ports ${port}/${panelPort} still taken after the demo stopped`);
  log(`run ${run}: stopped cleanly in ${((performance.now() - tStop) / 1000).toFixed(1)} s, nothing left behind`);
  return Number(readySecs);
}

const times = [];
for (let i = 1; i <= runs; i++) times.push(await once(i));
if (runs >= 2 && times[1] > maxSecond) fail(`the second start took ${times[1]} s (limit ${maxSecond} s)`);
log(`demo start times: ${times.map((t, i) => `run ${i + 1} ${t} s`).join(', ')}`);
