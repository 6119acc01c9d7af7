#!/usr/bin/env node
/**
 * A small in-memory stand-in for the Oblako API (shapes from libs/contracts), serving the built
 * panel too, for developing and smoke-testing the panel without the real stack.
 *   node apps/panel/tools/mock-api.mjs [--port 4300] [--no-sse] [--billing]
 * Logins: admin@example.com / admin-password (staff admin), demo@example.com / demo-password.
 * Not used by the product or its tests; the real API is apps/api.
 */
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ACTION_RULES, hostnameProblem, planAction } from '@oblako/contracts';

const args = process.argv.slice(2);
const port = Number(args[args.indexOf('--port') + 1] || process.env.PORT || 4300);
const noSse = args.includes('--no-sse');
const billingOn = args.includes('--billing');
const root = fileURLToPath(new URL('../dist/browser/', import.meta.url));
const now = () => new Date().toISOString();

const location = { id: randomUUID(), code: 'fra1', name: 'Frankfurt 1', country: 'DE' };
const locations = [location];
const plans = [
  { id: randomUUID(), name: 'Small', vcpus: 1, memoryMiB: 1024, diskGiB: 25, cpuQuotaPercent: 100, diskIops: 1000, diskMBps: 100, netMbit: 100, trafficGiB: 1024, priceMonthlyCents: 500, currency: 'EUR', active: true },
  { id: randomUUID(), name: 'Medium', vcpus: 2, memoryMiB: 4096, diskGiB: 80, cpuQuotaPercent: 100, diskIops: 3000, diskMBps: 200, netMbit: 500, trafficGiB: 4096, priceMonthlyCents: 1500, currency: 'EUR', active: true },
];
const images = [
  { id: randomUUID(), name: 'Debian 12', osFamily: 'debian', version: '12', active: true },
  { id: randomUUID(), name: 'Ubuntu 24.04', osFamily: 'ubuntu', version: '24.04', active: true },
];
const nodes = [{ id: randomUUID(), name: 'hv1', locationId: location.id, state: 'online', vcpus: 8, memoryMiB: 16384, diskGiB: 500, cpuOvercommit: 4, memoryOvercommit: 1, usedVcpus: 0, usedMemoryMiB: 0, usedDiskGiB: 0, lastHeartbeatAt: now() }];
const pools = [{ id: randomUUID(), locationId: location.id, family: 4, cidr: '192.0.2.0/24', gateway: '192.0.2.1', total: 253, used: 0 }];
const tenants = new Map();
const users = [];
function addUser(email, password, staffRole, tenantName) {
  const u = { id: randomUUID(), email, password, staffRole, memberships: [] };
  if (tenantName) {
    const t = { id: randomUUID(), name: tenantName };
    tenants.set(t.id, t);
    u.memberships.push({ tenantId: t.id, tenantName, role: 'owner' });
  }
  users.push(u);
  return u;
}
addUser('admin@example.com', 'admin-password', 'admin', null);
addUser('demo@example.com', 'demo-password', null, 'Demo Ltd');

const access = new Map(); // token -> userId
const refresh = new Map(); // token -> userId
const keys = []; const tokens = []; const servers = []; const tasks = []; const invites = [];
const streams = new Set();
let nextIp = 10;

const me = (u) => ({ id: u.id, email: u.email, staffRole: u.staffRole, memberships: u.memberships });
function issue(u) {
  const a = 'acc_' + randomUUID(); const r = 'ref_' + randomUUID();
  access.set(a, u.id); refresh.set(r, u.id);
  return { accessToken: a, refreshToken: r, expiresIn: 900, user: me(u) };
}
class HttpError extends Error { constructor(status, code, message, details) { super(message); this.status = status; this.code = code; this.details = details; } }
const notFound = (what = 'That') => new HttpError(404, 'not_found', `${what} was not found.`);

function auth(req) {
  const h = req.headers.authorization ?? '';
  const uid = access.get(h.replace(/^Bearer /, ''));
  const u = users.find((x) => x.id === uid);
  if (!u) throw new HttpError(401, 'unauthenticated', 'Authentication required.');
  return u;
}
function tenantOf(req, u) {
  const want = req.headers['x-tenant-id'];
  const m = u.memberships.find((x) => !want || x.tenantId === want) ?? null;
  if (!m) throw new HttpError(403, 'no_tenant', 'Your account belongs to no tenant.');
  return m.tenantId;
}
function staff(u) { if (!u.staffRole) throw new HttpError(403, 'forbidden', 'This endpoint is for provider staff.'); }

function emit(server, task) {
  const data = JSON.stringify({ server: view(server), task: task ?? null });
  for (const s of streams) if (s.tenantId === server.tenantId) s.res.write(`event: server\ndata: ${data}\n\n`);
}
function view(s) { return { ...s, currentTask: s.currentTaskId ? tasks.find((t) => t.id === s.currentTaskId) ?? null : null, currentTaskId: undefined }; }
function runTask(server, op, via, to) {
  const t = { id: randomUUID(), serverId: server.id, op, state: 'queued', progress: 0, stage: null, error: null, attempts: 1, createdAt: now(), updatedAt: now(), finishedAt: null };
  tasks.unshift(t); server.currentTaskId = t.id; server.state = via; server.updatedAt = now();
  emit(server, t);
  const timer = setInterval(() => {
    t.state = 'running'; t.progress = Math.min(100, t.progress + 25); t.stage = t.progress < 100 ? 'working' : 'done'; t.updatedAt = now();
    if (t.progress >= 100) {
      clearInterval(timer); t.state = 'succeeded'; t.finishedAt = now(); server.state = to; server.currentTaskId = null;
      if (to === 'deleted') { const i = servers.indexOf(server); if (i >= 0) servers.splice(i, 1); pools[0].used -= 1; }
    }
    emit(server, t);
  }, 400);
}

async function body(req) {
  let raw = ''; for await (const c of req) raw += c;
  if (!raw) return {};
  try { return JSON.parse(raw); } catch { throw new HttpError(400, 'malformed_json', 'The body is not valid JSON.'); }
}
const page = (items) => ({ items, nextCursor: null });

async function api(req, res, url) {
  const p = url.pathname.replace(/^\/api\/v1/, ''); const m = req.method;
  let seg;
  if (m === 'POST' && p === '/auth/login') {
    const b = await body(req); const u = users.find((x) => x.email === b.email && x.password === b.password);
    if (!u) throw new HttpError(401, 'bad_credentials', 'Wrong email or password.');
    return issue(u);
  }
  if (m === 'POST' && p === '/auth/register') {
    const b = await body(req);
    if (users.some((x) => x.email === b.email)) throw new HttpError(409, 'email_taken', 'An account with this email already exists; log in instead.');
    if (!b.password || b.password.length < 10) throw new HttpError(400, 'validation_failed', 'Some fields are not valid.', [{ field: 'password', problems: ['password must be 10 to 256 characters long'] }]);
    return issue(addUser(b.email, b.password, null, b.tenantName));
  }
  if (m === 'POST' && p === '/auth/refresh') {
    const b = await body(req); const uid = refresh.get(b.refreshToken);
    if (!uid) throw new HttpError(401, 'invalid_refresh', 'The refresh token is not valid; log in again.');
    refresh.delete(b.refreshToken); return issue(users.find((x) => x.id === uid));
  }
  if (m === 'GET' && p === '/billing/status') return { billing: billingOn ? 'on' : 'off', graceHours: 72, retentionDays: 14 };
  if (m === 'POST' && p === '/auth/logout') { const b = await body(req); refresh.delete(b.refreshToken); res.statusCode = 204; return undefined; }
  const u = auth(req);
  if (m === 'GET' && p === '/auth/me') return me(u);
  if (m === 'GET' && p === '/locations') return locations;
  if (m === 'GET' && p === '/plans') return plans;
  if (m === 'GET' && p === '/images') return images;
  if (p.startsWith('/admin/')) {
    staff(u);
    if (m === 'GET' && p === '/admin/nodes') return nodes;
    if (m === 'POST' && p === '/admin/nodes') {
      const b = await body(req);
      const n = { id: randomUUID(), state: 'offline', usedVcpus: 0, usedMemoryMiB: 0, usedDiskGiB: 0, lastHeartbeatAt: null, ...b };
      nodes.push(n);
      return { node: n, daemon: { nodeId: n.id, natsUrl: 'nats://127.0.0.1:4222', natsUser: `node-${n.id.slice(0, 8)}`, natsPassword: randomUUID(), subjectPrefix: 'oblako' } };
    }
    if (m === 'GET' && p === '/admin/ip-pools') return pools;
    if (m === 'POST' && p === '/admin/ip-pools') {
      const b = await body(req);
      if (!/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(b.cidr ?? '')) throw new HttpError(400, 'validation_failed', `"${b.cidr}" is not a CIDR block such as 203.0.113.0/24.`);
      const bits = Number(b.cidr.split('/')[1]);
      const pool = { id: randomUUID(), locationId: b.locationId, family: 4, cidr: b.cidr, gateway: b.gateway, total: Math.max(0, 2 ** (32 - bits) - 3), used: 0 };
      pools.push(pool); return pool;
    }
    if (m === 'PATCH' && (seg = p.match(/^\/admin\/nodes\/([^/]+)$/))) {
      const n = nodes.find((x) => x.id === seg[1]); if (!n) throw notFound('Node');
      Object.assign(n, await body(req)); return n;
    }
    if (m === 'GET' && p === '/admin/tenants') {
      return [...tenants.values()].map((t) => ({ id: t.id, name: t.name, serverLimit: t.serverLimit ?? null, servers: servers.filter((x) => x.tenantId === t.id).length,
        members: users.filter((u) => u.memberships.some((mm) => mm.tenantId === t.id)).length, createdAt: now() }));
    }
    if (m === 'PATCH' && (seg = p.match(/^\/admin\/tenants\/([^/]+)$/))) {
      const t = tenants.get(seg[1]); if (!t) throw notFound('Tenant');
      t.serverLimit = (await body(req)).serverLimit;
      return { id: t.id, name: t.name, serverLimit: t.serverLimit, servers: 0, members: 1, createdAt: now() };
    }
    if (m === 'GET' && p === '/admin/plans') return plans;
    if (m === 'POST' && p === '/admin/plans') { const pl = { id: randomUUID(), currency: 'EUR', active: true, ...(await body(req)) }; plans.push(pl); return pl; }
    if (m === 'PATCH' && (seg = p.match(/^\/admin\/plans\/([^/]+)$/))) {
      const pl = plans.find((x) => x.id === seg[1]); if (!pl) throw notFound('Plan'); Object.assign(pl, await body(req)); return pl;
    }
    if (m === 'GET' && p === '/admin/images') return images;
    if (m === 'POST' && p === '/admin/images') { const im = { id: randomUUID(), active: true, ...(await body(req)) }; images.push(im); return im; }
    if (m === 'PATCH' && (seg = p.match(/^\/admin\/images\/([^/]+)$/))) {
      const im = images.find((x) => x.id === seg[1]); if (!im) throw notFound('Image'); Object.assign(im, await body(req)); return im;
    }
    if (m === 'GET' && p === '/admin/locations') return locations;
    if (m === 'POST' && p === '/admin/locations') { const l = { id: randomUUID(), ...(await body(req)) }; locations.push(l); return l; }
    if (m === 'GET' && p === '/admin/audit') return [];
    if (m === 'GET' && p === '/admin/servers') {
      const st = url.searchParams.get('state');
      return page(servers.filter((x) => (st ? x.state === st : x.state !== 'deleted')).map(view));
    }
    if (m === 'POST' && (seg = p.match(/^\/admin\/servers\/([^/]+)\/(suspend|unsuspend)$/))) {
      const sv = servers.find((x) => x.id === seg[1]); if (!sv) throw notFound('Server');
      await body(req); sv.state = seg[2] === 'suspend' ? 'suspended' : 'stopped'; emit(sv, null);
      return { serverId: sv.id, hostname: sv.hostname, serverState: sv.state, order: 'none' };
    }
    if (m === 'GET' && p === '/admin/billing/orders') return [];
    if (m === 'GET' && p === '/admin/billing/events') return [];
    throw notFound('That endpoint');
  }
  const tenantId = tenantOf(req, u);
  if (m === 'GET' && p === '/billing/subscriptions') {
    return servers.filter((x) => x.tenantId === tenantId).map((x) => ({ serverId: x.id, hostname: x.hostname, serverState: x.state, planId: x.plan.id, order: 'provisioned',
      checkoutUrl: null, status: 'active', cancelAtPeriodEnd: false, currentPeriodEnd: new Date(Date.now() + 2592e6).toISOString(), endedAt: null, pastDueSince: null,
      staffHold: false, suspension: null, createdAt: x.createdAt }));
  }
  if (m === 'GET' && p === '/billing/invoices') {
    return servers.filter((x) => x.tenantId === tenantId).map((x, i) => ({ id: 'in_' + i, serverId: x.id, status: 'paid', amountDue: x.plan.priceMonthlyCents,
      amountPaid: x.plan.priceMonthlyCents, currency: 'eur', hostedInvoiceUrl: null, number: `OBL-${1000 + i}`, periodStart: x.createdAt, periodEnd: null, createdAt: x.createdAt }));
  }
  if (m === 'POST' && p === '/billing/portal') throw new HttpError(409, 'billing_off', 'The mock has no Stripe portal.');
  if (m === 'GET' && p === '/members') {
    return users.filter((x) => x.memberships.some((mm) => mm.tenantId === tenantId))
      .map((x) => ({ userId: x.id, email: x.email, role: x.memberships.find((mm) => mm.tenantId === tenantId).role, createdAt: now() }));
  }
  if (m === 'GET' && p === '/members/invites') return invites.filter((i) => i.tenantId === tenantId).map(({ tenantId: _t, ...i }) => i);
  if (m === 'POST' && p === '/members/invites') {
    // As the real API: the same answer whether or not the address has an account.
    const b = await body(req);
    const i = { id: randomUUID(), tenantId, email: b.email.toLowerCase(), role: b.role, state: 'pending', expiresAt: new Date(Date.now() + 7 * 864e5).toISOString(), createdAt: now() };
    invites.push(i); res.statusCode = 202;
    const { tenantId: _t, ...view } = i; return view;
  }
  if ((seg = p.match(/^\/members\/invites\/([^/]+)$/)) && m === 'DELETE') {
    const i = invites.find((x) => x.id === seg[1] && x.tenantId === tenantId && x.state === 'pending');
    if (!i) throw notFound('Invitation');
    i.state = 'revoked'; res.statusCode = 204; return undefined;
  }
  if ((seg = p.match(/^\/members\/([^/]+)$/))) {
    const other = users.find((x) => x.id === seg[1]); const mm = other?.memberships.find((x) => x.tenantId === tenantId);
    if (!mm) throw notFound('Member');
    if (m === 'PATCH') { mm.role = (await body(req)).role; return { userId: other.id, email: other.email, role: mm.role, createdAt: now() }; }
    if (m === 'DELETE') { other.memberships = other.memberships.filter((x) => x !== mm); res.statusCode = 204; return undefined; }
  }
  if (m === 'GET' && p === '/ssh-keys') return page(keys.filter((k) => k.tenantId === tenantId));
  if (m === 'POST' && p === '/ssh-keys') {
    const b = await body(req);
    if (!/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp\d+) [A-Za-z0-9+/=]{16,}/.test(b.publicKey ?? '')) throw new HttpError(400, 'invalid_ssh_key', 'That is not an OpenSSH public key: paste one line starting with ssh-ed25519, ssh-rsa or ecdsa-sha2-….');
    const k = { id: randomUUID(), tenantId, name: b.name, publicKey: b.publicKey, fingerprint: 'SHA256:' + randomUUID().replace(/-/g, '').slice(0, 43), createdAt: now() };
    keys.push(k); return k;
  }
  if (m === 'DELETE' && (seg = p.match(/^\/ssh-keys\/([^/]+)$/))) {
    const i = keys.findIndex((k) => k.id === seg[1] && k.tenantId === tenantId); if (i < 0) throw notFound('SSH key');
    keys.splice(i, 1); res.statusCode = 204; return undefined;
  }
  if (m === 'GET' && p === '/api-tokens') return tokens.filter((t) => t.tenantId === tenantId).map(({ token: _t, ...v }) => v);
  if (m === 'POST' && p === '/api-tokens') {
    const b = await body(req); const secret = 'obk_' + randomUUID().replace(/-/g, '');
    const t = { id: randomUUID(), tenantId, name: b.name, prefix: secret.slice(0, 8), createdAt: now(), lastUsedAt: null, token: secret };
    tokens.push(t); return t;
  }
  if (m === 'DELETE' && (seg = p.match(/^\/api-tokens\/([^/]+)$/))) {
    const i = tokens.findIndex((t) => t.id === seg[1] && t.tenantId === tenantId); if (i < 0) throw notFound('API token');
    tokens.splice(i, 1); res.statusCode = 204; return undefined;
  }
  if (m === 'GET' && p === '/servers/events') {
    if (noSse) throw notFound('That endpoint');
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
    res.write(': hello\n\n');
    const s = { tenantId, res }; streams.add(s);
    req.on('close', () => streams.delete(s));
    return Symbol.for('stream');
  }
  if (m === 'GET' && p === '/servers') {
    const mine = servers.filter((s) => s.tenantId === tenantId);
    const limit = Number(url.searchParams.get('limit') ?? 25); const start = Number(url.searchParams.get('cursor') ?? 0);
    const items = mine.slice(start, start + limit).map(view);
    return { items, nextCursor: start + limit < mine.length ? String(start + limit) : null };
  }
  if (m === 'POST' && p === '/servers') {
    const b = await body(req);
    const problem = hostnameProblem(String(b.hostname ?? ''));
    if (problem) throw new HttpError(400, 'validation_failed', problem, [{ field: 'hostname', problems: [problem] }]);
    const plan = plans.find((x) => x.id === b.planId); const image = images.find((x) => x.id === b.imageId);
    if (!plan) throw new HttpError(404, 'not_found', 'That plan does not exist.');
    if (b.hostname === 'full') throw new HttpError(409, 'no_capacity', 'No node in Frankfurt 1 has room for the plan Small; try another plan or location.');
    const ip = `192.0.2.${nextIp++}`; pools[0].used += 1;
    const s = { id: randomUUID(), tenantId, hostname: b.hostname, state: 'provisioning', plan, image, location, nodeId: nodes[0].id,
      addresses: [{ family: 4, address: ip, prefix: 32, gateway: '192.0.2.1' }], currentTaskId: null, createdAt: now(), updatedAt: now(), checkoutUrl: null };
    servers.unshift(s); runTask(s, 'create', 'provisioning', 'running');
    res.statusCode = 201; return view(s);
  }
  if ((seg = p.match(/^\/servers\/([^/]+)(\/tasks|\/actions)?$/))) {
    const s = servers.find((x) => x.id === seg[1] && x.tenantId === tenantId);
    if (!s) throw notFound('Server');
    if (m === 'GET' && !seg[2]) return view(s);
    if (m === 'GET' && seg[2] === '/tasks') return page(tasks.filter((t) => t.serverId === s.id));
    const action = m === 'DELETE' && !seg[2] ? 'delete' : m === 'POST' && seg[2] === '/actions' ? (await body(req)).action : null;
    if (!['start', 'stop', 'reboot', 'rebuild', 'delete'].includes(action)) throw new HttpError(400, 'validation_failed', 'action must be one of start, stop, reboot, rebuild.');
    if (!action || !ACTION_RULES[action]) throw new HttpError(400, 'validation_failed', 'action must be one of start, stop, reboot, rebuild.');
    const plan = planAction(s.state, action, !!s.currentTaskId);
    if (!plan.ok) throw new HttpError(409, 'invalid_transition', plan.reason);
    runTask(s, plan.op, plan.via, plan.to);
    res.statusCode = 202; return view(s);
  }
  throw notFound('That endpoint');
}

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.ico': 'image/x-icon', '.txt': 'text/plain' };
async function serveStatic(res, pathname) {
  let file = normalize(join(root, decodeURIComponent(pathname)));
  if (!file.startsWith(root)) file = join(root, 'index.html');
  try { if (!(await stat(file)).isFile()) throw new Error(); } catch { file = join(root, 'index.html'); }
  res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' });
  res.end(await readFile(file));
}

createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (!url.pathname.startsWith('/api/')) return serveStatic(res, url.pathname).catch(() => { res.statusCode = 500; res.end(); });
  try {
    const out = await api(req, res, url);
    if (out === Symbol.for('stream')) return;
    if (out === undefined) { res.statusCode = res.statusCode === 200 ? 204 : res.statusCode; return res.end(); }
    res.setHeader('Content-Type', 'application/json'); res.end(JSON.stringify(out));
  } catch (e) {
    const status = e instanceof HttpError ? e.status : 500;
    res.statusCode = status; res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ statusCode: status, code: e.code ?? 'internal', message: e.message, ...(e.details ? { details: e.details } : {}) }));
  }
}).listen(port, '127.0.0.1', () => console.log(`mock API and panel on http://127.0.0.1:${port} (SSE ${noSse ? 'off: 404' : 'on'})`));
