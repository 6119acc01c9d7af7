#!/usr/bin/env node
// The control-plane installer's work, after install.sh has the packages and a built checkout:
// configuration with generated secrets, NATS operator keys, TLS, the release, the node bundle,
// the database, migrations, the first admin, systemd units, and (with systemd) a rolling restart.
// Every step keeps what a previous run made: a re-run is an upgrade. Options: --help.
import { createHash, createPublicKey, randomBytes } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const OPTIONS = {
  repo: { type: 'string', help: 'checkout to install from (install.sh sets it)' },
  root: { type: 'string', help: 'install below this folder instead of / (tests); nothing outside it is written' },
  domain: { type: 'string', help: 'name (or IP address) browsers and hypervisors use for this host (default: hostname -f)' },
  listen: { type: 'string', help: 'address nginx listens on (default 0.0.0.0)' },
  'https-port': { type: 'string', help: 'panel + API over HTTPS (default 443)' },
  'http-port': { type: 'string', help: 'plain HTTP port that redirects to HTTPS; 0 = none (default 80)' },
  'nats-listen': { type: 'string', help: 'address nats-server listens on (default 0.0.0.0: hypervisors connect to it)' },
  'nats-port': { type: 'string', help: 'NATS client port, TLS (default 4222)' },
  replicas: { type: 'string', help: 'API processes on this host behind nginx (default 2)' },
  'api-port': { type: 'string', help: 'loopback port of the first API replica; the others follow (default 3001)' },
  cert: { type: 'string', help: 'PEM certificate (chain) for the panel; without it a self-signed one is made, and kept until you give one' },
  key: { type: 'string', help: 'PEM private key of --cert' },
  'admin-email': { type: 'string', help: 'the first staff admin (default admin@DOMAIN); made once, its password printed once' },
  'db-admin-url': { type: 'string', help: 'PostgreSQL superuser URL to create the role and database with (default: the local cluster as user postgres)' },
  'db-host': { type: 'string', help: 'PostgreSQL host the API connects to (default 127.0.0.1)' },
  'db-port': { type: 'string', help: 'default 5432' },
  'db-name': { type: 'string', help: 'database and role name (default oblako)' },
  'subject-prefix': { type: 'string', help: 'NATS subject prefix (default oblako)' },
  'no-systemd': { type: 'boolean', help: 'write the units but do not enable or (re)start them (automatic when systemd is not PID 1, and with --root)' },
  'no-packages': { type: 'boolean', help: '(install.sh) do not apt-get install' },
  'no-build': { type: 'boolean', help: '(install.sh) do not build; the checkout is built already' },
  help: { type: 'boolean', short: 'h' },
};

const { values: args } = parseArgs({ options: Object.fromEntries(Object.entries(OPTIONS).map(([k, v]) => [k, { type: v.type, ...(v.short ? { short: v.short } : {}) }])), strict: true });
if (args.help) {
  console.log('usage: tools/install/install.sh [options]\n');
  for (const [k, v] of Object.entries(OPTIONS)) if (v.help) console.log(`  --${k}${v.type === 'string' ? ' VALUE' : ''}\n      ${v.help}`);
  process.exit(0);
}

const say = (m) => process.stderr.write(`\x1b[1;34m==>\x1b[0m ${m}\n`);
const die = (m) => {
  process.stderr.write(`install: ${m}\n`);
  process.exit(1);
};

const REPO = args.repo ?? join(dirname(new URL(import.meta.url).pathname), '..', '..');
const ROOT = args.root ?? '/';
const P = (p) => (ROOT === '/' ? p : join(ROOT, p));
const ETC = P('/etc/oblako');
const OPT = P('/opt/oblako');
const VAR = P('/var/lib/oblako');
const LOG = P('/var/log/oblako');
const UNITS = P('/etc/systemd/system');
const SETTINGS_FILE = join(ETC, 'install.json');
const production = ROOT === '/';
const useSystemd = production && !args['no-systemd'] && existsSync('/run/systemd/system');
const SERVICE_USER = 'oblako';

// ---- settings: flags, else what the last run used, else defaults ----
mkdirSync(ETC, { recursive: true, mode: 0o750 });
const previous = existsSync(SETTINGS_FILE) ? JSON.parse(readFileSync(SETTINGS_FILE, 'utf8')) : {};
const pick = (name, def) => args[name] ?? previous[name] ?? def;
const port = (name, def) => {
  const v = Number(pick(name, def));
  if (!Number.isInteger(v) || v < 0 || v > 65535) die(`--${name} must be a port number (got "${pick(name, def)}")`);
  return v;
};
const fqdn = () => {
  try {
    return execFileSync('hostname', ['-f'], { encoding: 'utf8' }).trim() || hostname();
  } catch {
    return hostname();
  }
};
const s = {
  domain: pick('domain', fqdn()),
  listen: pick('listen', '0.0.0.0'),
  'https-port': port('https-port', 443),
  'http-port': port('http-port', 80),
  'nats-listen': pick('nats-listen', '0.0.0.0'),
  'nats-port': port('nats-port', 4222),
  replicas: Number(pick('replicas', 2)),
  'api-port': port('api-port', 3001),
  'db-host': pick('db-host', '127.0.0.1'),
  'db-port': port('db-port', 5432),
  'db-name': pick('db-name', 'oblako'),
  'subject-prefix': pick('subject-prefix', 'oblako'),
  'admin-email': pick('admin-email', undefined),
};
s['admin-email'] ??= `admin@${/^[\d.:]+$/.test(s.domain) ? 'localhost' : s.domain}`;
if (!/^[A-Za-z0-9.-]{1,253}$/.test(s.domain) && !/^[0-9a-fA-F:]+$/.test(s.domain)) die(`--domain must be a host name or an IP address (got "${s.domain}")`);
if (!Number.isInteger(s.replicas) || s.replicas < 1 || s.replicas > 16) die('--replicas must be 1 to 16');
if (!/^[a-z_][a-z0-9_]{0,62}$/.test(s['db-name'])) die('--db-name may contain only a-z, 0-9 and _ (it names the database and its role)');
for (const k of ['listen', 'nats-listen', 'db-host']) if (!/^[A-Za-z0-9.:-]+$/.test(s[k])) die(`--${k} must be an address`);
const isIp = /^[\d.]+$/.test(s.domain) || s.domain.includes(':');
const publicPort = s['https-port'] === 443 ? '' : `:${s['https-port']}`;
const panelUrl = `https://${s.domain.includes(':') ? `[${s.domain}]` : s.domain}${publicPort}`;

// ---- helpers ----
const writeSecret = (file, text) => {
  mkdirSync(dirname(file), { recursive: true, mode: 0o750 });
  writeFileSync(`${file}.tmp`, text, { mode: 0o600 });
  chmodSync(`${file}.tmp`, 0o600);
  renameSync(`${file}.tmp`, file);
};
const writePublic = (file, text, mode = 0o644) => {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(`${file}.tmp`, text, { mode });
  chmodSync(`${file}.tmp`, mode);
  renameSync(`${file}.tmp`, file);
};
const readEnvFile = (file) => {
  if (!existsSync(file)) return {};
  const env = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m) env[m[1]] = m[2].replace(/^"(.*)"$/, '$1');
  }
  return env;
};
const envFileText = (env) => Object.entries(env).map(([k, v]) => `${k}=${v}`).join('\n') + '\n';
const run = (file, argv, opts = {}) => {
  const r = spawnSync(file, argv, { encoding: 'utf8', ...opts });
  if (r.status !== 0) die(`${file} ${argv.join(' ')} failed: ${(r.stderr || r.stdout || r.error?.message || '').trim()}`);
  return r.stdout;
};
const sha = (text) => createHash('sha256').update(text).digest('hex');

// ---- the service user ----
let uid = process.getuid();
let gid = process.getgid();
if (production) {
  if (spawnSync('getent', ['passwd', SERVICE_USER]).status !== 0) {
    run('useradd', ['--system', '--home-dir', '/var/lib/oblako', '--shell', '/usr/sbin/nologin', '--user-group', SERVICE_USER]);
    say(`created system user ${SERVICE_USER}`);
  }
  uid = Number(run('id', ['-u', SERVICE_USER]).trim());
  gid = Number(run('id', ['-g', SERVICE_USER]).trim());
}
/** Files the API (user oblako) reads itself; EnvironmentFile= is read by systemd as root and stays root's. */
const ownByService = (file) => {
  if (production) chownSync(file, uid, gid);
};

// ---- secrets: made once, kept on every re-run ----
const apiEnvFile = join(ETC, 'api.env');
const oldEnv = readEnvFile(apiEnvFile);
const oldDbPassword = (() => {
  try {
    return oldEnv.DATABASE_URL ? decodeURIComponent(new URL(oldEnv.DATABASE_URL).password) : '';
  } catch {
    return '';
  }
})();
const dbPassword = oldDbPassword || randomBytes(24).toString('hex');
const jwtSecret = oldEnv.JWT_SECRET || randomBytes(48).toString('base64');
const dataKey = oldEnv.DATA_KEY || randomBytes(32).toString('base64');
// GET /metrics of each replica (127.0.0.1:<port>) asks for it; nginx never routes /metrics (docs/metrics.md)
const metricsToken = oldEnv.METRICS_TOKEN || randomBytes(24).toString('hex');

// ---- TLS: the operator's certificate, or a self-signed one until then; NATS has its own ----
const TLS = join(ETC, 'tls');
mkdirSync(TLS, { recursive: true, mode: 0o750 });
const sans = [isIp ? `IP:${s.domain}` : `DNS:${s.domain}`, 'IP:127.0.0.1', 'DNS:localhost'];
if (s.listen !== '0.0.0.0' && s.listen !== s.domain && /^[\d.]+$/.test(s.listen)) sans.push(`IP:${s.listen}`);
if (s['nats-listen'] !== '0.0.0.0' && s['nats-listen'] !== s.domain && /^[\d.]+$/.test(s['nats-listen'])) sans.push(`IP:${s['nats-listen']}`);
const selfSign = (crt, key, cn) => {
  run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '825', '-subj', `/CN=${cn}`,
    '-addext', `subjectAltName=${[...new Set(sans)].join(',')}`, '-keyout', `${key}.tmp`, '-out', `${crt}.tmp`]);
  chmodSync(`${key}.tmp`, 0o600);
  renameSync(`${key}.tmp`, key);
  renameSync(`${crt}.tmp`, crt);
  writePublic(`${crt}.sans`, [...new Set(sans)].sort().join(',') + '\n');
};
const sansChanged = (crt) => !existsSync(`${crt}.sans`) || readFileSync(`${crt}.sans`, 'utf8').trim() !== [...new Set(sans)].sort().join(',');
const panelCrt = join(TLS, 'panel.crt');
const panelKey = join(TLS, 'panel.key');
let selfSigned = previous.selfSigned ?? true;
if (args.cert || args.key) {
  if (!args.cert || !args.key) die('--cert and --key go together');
  run('openssl', ['x509', '-in', args.cert, '-noout']);
  run('openssl', ['pkey', '-in', args.key, '-noout']);
  copyFileSync(args.cert, `${panelCrt}.tmp`);
  renameSync(`${panelCrt}.tmp`, panelCrt);
  writeSecret(panelKey, readFileSync(args.key));
  selfSigned = false;
  say('panel certificate: the one given');
} else if (!existsSync(panelCrt) || (selfSigned && sansChanged(panelCrt))) {
  selfSign(panelCrt, panelKey, s.domain);
  selfSigned = true;
  say('panel certificate: self-signed (give --cert/--key to replace it; the join command pins this one)');
}
const pinOf = (crtFile) => {
  const der = createPublicKey(readFileSync(crtFile)).export({ type: 'spki', format: 'der' });
  return `sha256//${createHash('sha256').update(der).digest('base64')}`;
};
const natsCrt = join(TLS, 'nats.crt');
const natsKey = join(TLS, 'nats.key');
if (!existsSync(natsCrt) || sansChanged(natsCrt)) selfSign(natsCrt, natsKey, `nats.${s.domain}`);
ownByService(natsKey);

// ---- the release: this checkout's build, self-contained (its own node binary) ----
const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
const gitRev = spawnSync('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout?.trim() || 'local';
const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
const releaseId = `${pkg.version}-${gitRev}-${stamp}`;
const RELEASES = join(OPT, 'releases');
const REL = join(RELEASES, releaseId);
for (const f of ['apps/api/dist/src/main.js', 'apps/api/dist/src/cli.js', 'apps/node-daemon/dist/src/main.js', 'libs/contracts/dist/index.js']) {
  if (!existsSync(join(REPO, f))) die(`${f} is missing: build first (npx nx run-many -t build), or run install.sh without --no-build`);
}
const panelIndex = (function find(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isFile() && e.name === 'index.html') return p;
    if (e.isDirectory()) {
      const f = find(p);
      if (f) return f;
    }
  }
  return null;
})(join(REPO, 'apps/panel/dist'));
if (!panelIndex) die('apps/panel/dist has no index.html: build the panel');
say(`release ${releaseId} → ${REL}`);
mkdirSync(join(REL, 'bin'), { recursive: true });
copyFileSync(process.execPath, join(REL, 'bin/node'));
chmodSync(join(REL, 'bin/node'), 0o755);
copyFileSync(join(REPO, 'package.json'), join(REL, 'package.json'));
// node_modules as hard links when on the same file system (fast, no space), else copied
if (spawnSync('cp', ['-al', join(REPO, 'node_modules'), join(REL, 'node_modules')]).status !== 0) {
  rmSync(join(REL, 'node_modules'), { recursive: true, force: true });
  run('cp', ['-a', join(REPO, 'node_modules'), join(REL, 'node_modules')]);
}
for (const d of ['libs/contracts/dist', 'apps/api/dist']) cpSync(join(REPO, d), join(REL, d), { recursive: true });
copyFileSync(join(REPO, 'libs/contracts/package.json'), join(REL, 'libs/contracts/package.json'));
cpSync(dirname(panelIndex), join(REL, 'panel'), { recursive: true });
writePublic(join(REL, 'RELEASE'), `${releaseId}\n`);

// ---- the node bundle: what a joining hypervisor downloads (daemon in one file, the libvirt addon, node) ----
const BUNDLE_DIR = join(VAR, 'node-bundle');
mkdirSync(BUNDLE_DIR, { recursive: true });
{
  const stage = join(OPT, `.bundle-${releaseId}`);
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(join(stage, 'bin'), { recursive: true });
  mkdirSync(join(stage, 'daemon'), { recursive: true });
  copyFileSync(process.execPath, join(stage, 'bin/node'));
  chmodSync(join(stage, 'bin/node'), 0o755);
  run(join(REPO, 'node_modules/.bin/esbuild'), [
    join(REPO, 'apps/node-daemon/dist/src/main.js'), '--bundle', '--platform=node', '--format=esm', '--target=node20', '--log-level=warning',
    '--external:@unraid/libvirt', `--outfile=${join(stage, 'daemon/main.js')}`,
    "--banner:js=import { createRequire as __oblakoRequire } from 'node:module'; const require = __oblakoRequire(import.meta.url);",
  ]);
  // the addon with its runtime dependencies (not its build tools)
  const BUILD_ONLY = new Set(['tsx', '@mapbox/node-pre-gyp', 'node-addon-api', 'node-gyp']);
  const seen = new Set();
  const copyPackage = (name, fromDir) => {
    if (seen.has(name) || BUILD_ONLY.has(name)) return;
    seen.add(name);
    const req = createRequire(join(fromDir, 'noop.js'));
    let dir;
    try {
      dir = dirname(req.resolve(`${name}/package.json`));
    } catch {
      dir = join(REPO, 'node_modules', name);
    }
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    cpSync(dir, join(stage, 'daemon/node_modules', name), {
      recursive: true,
      filter: (src) => {
        const r = relative(dir, src);
        return !r.endsWith('.map') && !/^(src|test|tests|docs)(\/|$)/.test(r) && !/^build\/(?!Release(\/|$))/.test(r) && !/^build\/Release\/(obj|\.deps)/.test(r);
      },
    });
    for (const dep of Object.keys(manifest.dependencies ?? {})) copyPackage(dep, dir);
  };
  copyPackage('@unraid/libvirt', REPO);
  copyFileSync(join(REPO, 'tools/install/join-helper.mjs'), join(stage, 'join-helper.mjs'));
  writePublic(join(stage, 'RELEASE'), `${releaseId}\n`);
  run('tar', ['-czf', join(BUNDLE_DIR, 'oblako-node.tar.gz.tmp'), '-C', stage, '.']);
  renameSync(join(BUNDLE_DIR, 'oblako-node.tar.gz.tmp'), join(BUNDLE_DIR, 'oblako-node.tar.gz'));
  copyFileSync(join(REPO, 'tools/install/join-node.sh'), join(BUNDLE_DIR, 'join-node.sh'));
  rmSync(stage, { recursive: true, force: true });
}

// ---- NATS in operator mode: keys made once (0600), server configuration, the API's users ----
const NATS = join(ETC, 'nats');
mkdirSync(NATS, { recursive: true, mode: 0o750 });
const appModule = await import(pathToFileURL(join(REL, 'apps/api/dist/src/app.js')).href);
const keysFile = join(NATS, 'keys.json');
const mode = await appModule.natsOperatorMode(existsSync(keysFile) ? JSON.parse(readFileSync(keysFile, 'utf8')) : {});
writeSecret(keysFile, JSON.stringify(mode.keys, null, 2) + '\n');
const resolverDir = join(VAR, 'nats/resolver');
const jsDir = join(VAR, 'nats/jetstream');
for (const d of [resolverDir, jsDir]) {
  mkdirSync(d, { recursive: true, mode: 0o700 });
  if (production) chownSync(d, uid, gid), chownSync(dirname(d), uid, gid);
}
const natsConf = join(NATS, 'nats-server.conf');
const natsConfText = [
  '# written by tools/install (a re-run rewrites it); keys: keys.json',
  `server_name: ${JSON.stringify(`oblako-${s.domain}`.replace(/[^A-Za-z0-9_.-]/g, '-'))}`,
  `listen: ${JSON.stringify(`${s['nats-listen']}:${s['nats-port']}`)}`,
  `jetstream { store_dir: ${JSON.stringify(jsDir)} }`,
  `tls { cert_file: ${JSON.stringify(natsCrt)}, key_file: ${JSON.stringify(natsKey)}, timeout: 5 }`,
  mode.serverConfig(resolverDir),
  '',
].join('\n');
const natsConfChanged = !existsSync(natsConf) || readFileSync(natsConf, 'utf8') !== natsConfText;
writeSecret(natsConf, natsConfText);
ownByService(natsConf);
const apiCreds = join(NATS, 'api.creds');
const systemCreds = join(NATS, 'system.creds');
writeSecret(apiCreds, mode.apiCreds);
writeSecret(systemCreds, mode.systemCreds);
ownByService(apiCreds);
ownByService(systemCreds);
if (production) chownSync(NATS, 0, gid);

// ---- PostgreSQL: a role and a database of their own ----
const dbName = s['db-name'];
{
  const sqlRole = `DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${dbName}') THEN CREATE ROLE ${dbName} LOGIN PASSWORD '${dbPassword}';
  ELSE ALTER ROLE ${dbName} LOGIN PASSWORD '${dbPassword}'; END IF; END $$;`;
  if (args['db-admin-url'] ?? previous['db-admin-url']) {
    const pg = createRequire(join(REL, 'package.json'))('pg');
    const c = new pg.Client({ connectionString: args['db-admin-url'] ?? previous['db-admin-url'] });
    await c.connect();
    try {
      await c.query(sqlRole);
      const { rows } = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [dbName]);
      if (!rows.length) await c.query(`CREATE DATABASE ${dbName} OWNER ${dbName}`);
    } finally {
      await c.end();
    }
  } else {
    // SQL on stdin: the password never appears in a process list
    run('runuser', ['-u', 'postgres', '--', 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', 'postgres'], {
      input: `${sqlRole}\nSELECT 'CREATE DATABASE ${dbName} OWNER ${dbName}' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '${dbName}')\\gexec\n`,
    });
  }
}
const databaseUrl = `postgres://${dbName}:${encodeURIComponent(dbPassword)}@${s['db-host']}:${s['db-port']}/${dbName}`;

// ---- the API's environment (0600, read by systemd) ----
const apiEnv = {
  DATABASE_URL: databaseUrl,
  NATS_URL: `tls://${s['nats-listen'] === '0.0.0.0' ? '127.0.0.1' : s['nats-listen']}:${s['nats-port']}`,
  NATS_CA: natsCrt,
  NATS_CREDS: apiCreds,
  NATS_ACCOUNT_SEED: mode.keys.accountSeed,
  NATS_OPERATOR_SIGNING_SEED: mode.keys.operatorSigningSeed,
  NATS_SYSTEM_CREDS: systemCreds,
  NATS_SUBJECT_PREFIX: s['subject-prefix'],
  NODE_NATS_URL: `tls://${s.domain.includes(':') ? `[${s.domain}]` : s.domain}:${s['nats-port']}`,
  NODE_NATS_CA: natsCrt,
  NODE_BUNDLE_DIR: BUNDLE_DIR,
  PANEL_URL: panelUrl,
  ...(selfSigned ? { PUBLIC_TLS_PIN: pinOf(panelCrt) } : {}),
  JWT_SECRET: jwtSecret,
  DATA_KEY: dataKey,
  METRICS_TOKEN: metricsToken,
  HOST: '127.0.0.1',
};
// settings the operator added by hand (SMTP_*, STRIPE_*, ...) are kept
for (const [k, v] of Object.entries(oldEnv)) if (!(k in apiEnv) && k !== 'PORT') apiEnv[k] = v;
writeSecret(apiEnvFile, '# written by tools/install; your own additions (SMTP_*, STRIPE_*) are kept on re-runs\n' + envFileText(apiEnv));

// ---- migrations (with the new release, before anything restarts) and the first admin ----
const node = join(REL, 'bin/node');
const cli = join(REL, 'apps/api/dist/src/cli.js');
const cliEnv = { PATH: process.env.PATH, ...apiEnv };
say(run(node, [cli, 'migrate'], { env: cliEnv }).trim());
let adminPassword = null;
{
  const candidate = randomBytes(15).toString('base64url');
  const out = run(node, [cli, 'create-admin'], { env: { ...cliEnv, OBLAKO_ADMIN_EMAIL: s['admin-email'] }, input: `${candidate}\n` }).trim();
  if (out.startsWith('created')) adminPassword = candidate;
}

// ---- nginx: TLS, the panel's files, /api and /health to the replicas ----
const NGINX = join(ETC, 'nginx');
const nginxTmp = join(VAR, 'nginx');
mkdirSync(nginxTmp, { recursive: true });
mkdirSync(LOG, { recursive: true });
if (production) chownSync(nginxTmp, uid, gid), chownSync(LOG, uid, gid);
const replicaPorts = Array.from({ length: s.replicas }, (_, i) => s['api-port'] + i);
const panelDir = join(OPT, 'current/panel');
const securityHeaders = [
  'add_header X-Content-Type-Options nosniff always;',
  'add_header Referrer-Policy no-referrer always;',
  'add_header X-Frame-Options DENY always;',
  ...(selfSigned ? [] : ['add_header Strict-Transport-Security "max-age=31536000" always;']),
].join('\n');
writePublic(join(NGINX, 'security-headers.conf'), securityHeaders + '\n');
const csp = (nonce) => `default-src 'self'; script-src 'self'; style-src 'self' 'nonce-${nonce}'; img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'`;
const listenHost = s.listen.includes(':') ? `[${s.listen}]` : s.listen;
const nginxConf = `# written by tools/install (a re-run rewrites it)
daemon off;
${production ? `user ${SERVICE_USER};` : ''}
worker_processes auto;
pid ${join(VAR, 'nginx/nginx.pid')};
error_log stderr warn;
events { worker_connections 1024; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  types { text/javascript mjs; }
  access_log ${join(LOG, 'access.log')};
  client_body_temp_path ${nginxTmp}/body;
  proxy_temp_path ${nginxTmp}/proxy;
  fastcgi_temp_path ${nginxTmp}/fastcgi;
  uwsgi_temp_path ${nginxTmp}/uwsgi;
  scgi_temp_path ${nginxTmp}/scgi;
  server_tokens off;
  sendfile on;
  gzip on;
  gzip_vary on;
  gzip_min_length 1024;
  gzip_types text/css text/javascript application/javascript application/json image/svg+xml text/plain;
  upstream oblako_api {
    least_conn;
${replicaPorts.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=5s;`).join('\n')}
    keepalive 32;
  }
  map $http_upgrade $connection_upgrade { default upgrade; '' ''; }
${s['http-port'] ? `  server {
    listen ${listenHost}:${s['http-port']};
    location / { return 301 https://$host${publicPort}$request_uri; }
  }` : ''}
  server {
    listen ${listenHost}:${s['https-port']} ssl http2;
    ssl_certificate ${panelCrt};
    ssl_certificate_key ${panelKey};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:oblako:10m;
    client_max_body_size 10m;
    root ${panelDir};
    include ${join(NGINX, 'security-headers.conf')};

    location /api/ {
      proxy_pass http://oblako_api;
      proxy_http_version 1.1;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto https;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      # the event stream and console WebSockets stay open
      proxy_buffering off;
      proxy_read_timeout 1h;
      proxy_next_upstream error timeout http_502;
    }
    location = /health { proxy_pass http://oblako_api; proxy_http_version 1.1; proxy_set_header Connection ""; }
    # operators scrape each replica on 127.0.0.1 with METRICS_TOKEN; never through the public front
    location = /metrics { return 404; }
    # hashed build files never change
    location ~ "-[A-Z0-9]{8}\\.(js|mjs|css)$" {
      include ${join(NGINX, 'security-headers.conf')};
      add_header Content-Security-Policy "default-src 'none'; frame-ancestors 'none'" always;
      add_header Cache-Control "public, max-age=31536000, immutable";
      try_files $uri =404;
    }
    location / {
      include ${join(NGINX, 'security-headers.conf')};
      add_header Content-Security-Policy "default-src 'none'; frame-ancestors 'none'" always;
      add_header Cache-Control "public, max-age=3600";
      try_files $uri /index.html;
    }
    # the app shell: a fresh CSP nonce per answer (the request id), in the header and on <ob-root ngCspNonce>
    location = /index.html {
      include ${join(NGINX, 'security-headers.conf')};
      add_header Content-Security-Policy "${csp('$request_id')}" always;
      add_header Cache-Control "no-cache";
      etag off;
      if_modified_since off;
      sub_filter_once off;
      sub_filter_types text/html;
      sub_filter '__CSP_NONCE__' '$request_id';
    }
  }
}
`;
writePublic(join(NGINX, 'nginx.conf'), nginxConf);

// ---- systemd units ----
const rel = (p) => p; // paths in units are absolute (below --root when given)
const hardening = ['NoNewPrivileges=yes', 'ProtectSystem=strict', 'ProtectHome=yes', 'PrivateTmp=yes', 'PrivateDevices=yes', 'ProtectKernelTunables=yes', 'ProtectKernelModules=yes', 'ProtectControlGroups=yes', 'RestrictSUIDSGID=yes', 'LockPersonality=yes'];
const nodeBin = join(OPT, 'current/bin/node');
const units = {
  'oblako.target': `[Unit]
Description=Oblako control plane (NATS, API replicas, web front)
Wants=oblako-nats.service oblako-web.service ${replicaPorts.map((p) => `oblako-api@${p}.service`).join(' ')}
After=network-online.target

[Install]
WantedBy=multi-user.target
`,
  'oblako-nats.service': `[Unit]
Description=Oblako NATS (JetStream, operator mode)
After=network-online.target
Wants=network-online.target
PartOf=oblako.target

[Service]
Type=simple
User=${SERVICE_USER}
Group=${SERVICE_USER}
ExecStart=/usr/sbin/nats-server -c ${rel(natsConf)}
ExecReload=/bin/kill -HUP $MAINPID
Restart=on-failure
RestartSec=2
LimitNOFILE=65536
${hardening.join('\n')}
ReadWritePaths=${join(VAR, 'nats')}

[Install]
WantedBy=oblako.target
`,
  'oblako-migrate.service': `[Unit]
Description=Oblako database migrations
After=network-online.target postgresql.service
Wants=postgresql.service

[Service]
Type=oneshot
RemainAfterExit=yes
User=${SERVICE_USER}
Group=${SERVICE_USER}
EnvironmentFile=${apiEnvFile}
ExecStart=${nodeBin} ${join(OPT, 'current/apps/api/dist/src/cli.js')} migrate
${hardening.join('\n')}
`,
  'oblako-api@.service': `[Unit]
Description=Oblako API replica on 127.0.0.1:%i
After=network-online.target postgresql.service oblako-nats.service oblako-migrate.service
Wants=postgresql.service oblako-nats.service
Requires=oblako-migrate.service
PartOf=oblako.target

[Service]
Type=simple
User=${SERVICE_USER}
Group=${SERVICE_USER}
EnvironmentFile=${apiEnvFile}
Environment=PORT=%i NODE_ENV=production
ExecStart=${nodeBin} ${join(OPT, 'current/apps/api/dist/src/main.js')}
Restart=on-failure
RestartSec=2
RestartPreventExitStatus=2
TimeoutStopSec=30
${hardening.join('\n')}

[Install]
WantedBy=oblako.target
`,
  'oblako-web.service': `[Unit]
Description=Oblako web front (nginx: TLS, panel files, API load balancing)
After=network-online.target
Wants=network-online.target
PartOf=oblako.target

[Service]
Type=simple
ExecStartPre=/usr/sbin/nginx -t -q -c ${join(NGINX, 'nginx.conf')}
ExecStart=/usr/sbin/nginx -c ${join(NGINX, 'nginx.conf')}
ExecReload=/usr/sbin/nginx -c ${join(NGINX, 'nginx.conf')} -s reload
Restart=on-failure
RestartSec=2

[Install]
WantedBy=oblako.target
`,
};
mkdirSync(UNITS, { recursive: true });
for (const [name, text] of Object.entries(units)) writePublic(join(UNITS, name), text);

// ---- switch to the new release (atomic), keep the last three ----
const current = join(OPT, 'current');
const previousRelease = existsSync(current) ? readFileSync(join(current, 'RELEASE'), 'utf8').trim() : null;
symlinkSync(join('releases', releaseId), `${current}.tmp`);
renameSync(`${current}.tmp`, current);
const keep = new Set([releaseId, previousRelease]);
const old = readdirSync(RELEASES).filter((r) => !keep.has(r)).sort((a, b) => statSync(join(RELEASES, b)).mtimeMs - statSync(join(RELEASES, a)).mtimeMs);
for (const r of old.slice(1)) rmSync(join(RELEASES, r), { recursive: true, force: true });

writePublic(SETTINGS_FILE, JSON.stringify({ ...s, selfSigned, ...(args['db-admin-url'] || previous['db-admin-url'] ? { 'db-admin-url': args['db-admin-url'] ?? previous['db-admin-url'] } : {}), release: releaseId }, null, 2) + '\n', 0o600);

// ---- services ----
if (useSystemd) {
  const sc = (...a) => run('systemctl', a);
  // Debian's own units would hold ports 80 and 4222 with their default configuration
  for (const u of ['nginx.service', 'nats-server.service']) spawnSync('systemctl', ['disable', '--now', u]);
  sc('daemon-reload');
  sc('enable', 'oblako.target', 'oblako-nats.service', 'oblako-web.service', ...replicaPorts.map((p) => `oblako-api@${p}.service`));
  // replicas beyond --replicas from an earlier run
  const running = run('systemctl', ['list-units', '--plain', '--no-legend', 'oblako-api@*']).split('\n').map((l) => l.split(/\s+/)[0]).filter(Boolean);
  for (const u of running) if (!replicaPorts.some((p) => u === `oblako-api@${p}.service`)) spawnSync('systemctl', ['disable', '--now', u]);
  if (natsConfChanged) sc('restart', 'oblako-nats.service');
  else sc('start', 'oblako-nats.service');
  sc('restart', 'oblako-migrate.service');
  // rolling: one replica at a time, each healthy before the next
  for (const p of replicaPorts) {
    sc('restart', `oblako-api@${p}.service`);
    const until = Date.now() + 60_000;
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${p}/health`).then((r) => r.status < 500, () => false);
      if (ok) break;
      if (Date.now() > until) die(`API replica ${p} did not become healthy in 60 s: journalctl -u oblako-api@${p}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  sc('reload-or-restart', 'oblako-web.service');
  sc('start', 'oblako.target');
} else {
  say(`systemd not used (${production ? (args['no-systemd'] ? '--no-systemd' : 'systemd is not PID 1') : '--root'}): units written to ${UNITS}; start them yourself`);
}

const out = [
  '',
  `Oblako ${releaseId} is installed${previousRelease ? ` (upgraded from ${previousRelease})` : ''}.`,
  `  Panel:  ${panelUrl}${selfSigned ? '   (self-signed certificate; replace it: install.sh --cert FILE --key FILE)' : ''}`,
  ...(adminPassword
    ? [`  Staff admin: ${s['admin-email']}`, `  Password:    ${adminPassword}`, '  (shown this once and stored nowhere; sign in and change it)']
    : [`  Staff admin: exists already (password unchanged)`]),
  `  Settings:  ${apiEnvFile} (0600), NATS keys ${keysFile} (0600)`,
  `  Metrics:   each replica: curl -H "Authorization: Bearer $METRICS_TOKEN" http://127.0.0.1:${replicaPorts[0]}/metrics (METRICS_TOKEN in ${apiEnvFile});`,
  '             each node: http://127.0.0.1:9465/metrics on the node itself (METRICS_LISTEN in its node.env); see docs/metrics.md',
  '  Hypervisors: panel → Nodes → Add, then run the join command it shows on the new host, as root.',
  '',
];
process.stdout.write(out.join('\n'));
