/**
 * The node's console relay against real NATS and real UNIX sockets standing in for QEMU's
 * chardev and VNC sockets: bytes both ways, the serial log replayed first, flow control, one
 * session per console (take-over), and sessions ending when the guest or the API goes away.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { consoleSubjects, subjects, type ConsoleNodeControl, type ConsoleSubjects } from '@oblako/contracts';
import { TEST_NATS_URL, uniqueName, uniqueSubjectPrefix, waitFor } from '@oblako/testing';
import { silentLogger } from '../log.js';
import { consoleFiles, type ConsolePaths } from '../console/paths.js';
import { ConsoleRelay, readTail } from '../console/relay.js';

const WINDOW = 64 * 1024;

/** The API's side of one session, as the relay in apps/api speaks it. */
class ApiSide {
  readonly out: Buffer[] = [];
  readonly control: ConsoleNodeControl[] = [];
  private constructor(
    private readonly nc: NatsConnection,
    private readonly c: ConsoleSubjects,
    readonly id: string,
  ) {}
  static async open(nc: NatsConnection, c: ConsoleSubjects, serverId: string, kind: 'vnc' | 'serial'): Promise<ApiSide> {
    const side = new ApiSide(nc, c, randomBytes(16).toString('hex'));
    const out = nc.subscribe(c.out(side.id));
    const ctl = nc.subscribe(c.nodeControl(side.id));
    void (async () => {
      for await (const m of out) side.out.push(Buffer.from(m.data));
    })();
    void (async () => {
      for await (const m of ctl) side.control.push(m.json<ConsoleNodeControl>());
    })();
    await nc.flush();
    nc.publish(c.open, JSON.stringify({ v: 1, sessionId: side.id, serverId, kind }));
    return side;
  }
  get bytes(): Buffer {
    return Buffer.concat(this.out);
  }
  text(): string {
    return this.bytes.toString('utf8');
  }
  send(s: string | Buffer): void {
    this.nc.publish(this.c.in(this.id), typeof s === 'string' ? Buffer.from(s) : s);
  }
  ack(bytes = this.bytes.length): void {
    this.nc.publish(this.c.apiControl(this.id), JSON.stringify({ type: 'ack', bytes }));
  }
  ping(): void {
    this.nc.publish(this.c.apiControl(this.id), JSON.stringify({ type: 'ping' }));
  }
  closed(): string | undefined {
    const m = this.control.find((x) => x.type === 'closed');
    return m && m.type === 'closed' ? m.reason : undefined;
  }
}

/** A guest console: greets, echoes what it gets in upper case, and can be told to flood. */
function fakeGuest(path: string): { server: Server; clients: Socket[] } {
  const clients: Socket[] = [];
  const server = createServer((sock) => {
    clients.push(sock);
    sock.write('login: ');
    sock.on('data', (d) => sock.write(d.toString().toUpperCase()));
    sock.on('error', () => undefined);
  });
  server.listen(path);
  return { server, clients };
}

describe('console relay (node side)', () => {
  let nc: NatsConnection;
  let relay: ConsoleRelay;
  let c: ConsoleSubjects;
  let dir: string;
  let paths: ConsolePaths;
  const guests: Server[] = [];

  before(async () => {
    dir = join('/tmp', uniqueName('obc'));
    paths = { socketDir: join(dir, 's'), logDir: join(dir, 'l') };
    mkdirSync(paths.socketDir, { recursive: true });
    mkdirSync(paths.logDir, { recursive: true });
    nc = await connect({ servers: TEST_NATS_URL });
    const s = subjects(uniqueSubjectPrefix());
    const nodeId = uniqueName('n');
    c = consoleSubjects(s, nodeId);
    relay = new ConsoleRelay(nc, s, nodeId, paths, silentLogger, { windowBytes: WINDOW, pingMs: 300 });
    await relay.start();
  });
  after(async () => {
    await relay?.stop();
    for (const g of guests) g.close();
    await nc?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function guest(serverId: string, kind: 'vnc' | 'serial') {
    const f = consoleFiles(paths, serverId);
    const g = fakeGuest(kind === 'vnc' ? f.vncSocket : f.serialSocket);
    guests.push(g.server);
    return g;
  }

  test('serial: recent output from the log first, then live bytes both ways', async () => {
    const serverId = randomUUID();
    const f = consoleFiles(paths, serverId);
    writeFileSync(f.serialLog, 'x'.repeat(20_000) + '\n[    0.000000] Linux version 6.1\nWelcome to the test guest\n');
    guest(serverId, 'serial');
    const a = await ApiSide.open(nc, c, serverId, 'serial');
    await waitFor('opened', () => a.control.find((m) => m.type === 'opened'));
    await waitFor('the log tail and the greeting', () => a.text().endsWith('login: '));
    assert.ok(a.text().startsWith('[    0.000000] Linux version 6.1\n'), 'the replay starts at a line boundary, within the replay limit');
    assert.match(a.text(), /Welcome to the test guest\nlogin: $/);
    a.send('hostname\n');
    await waitFor('echo', () => a.text().endsWith('HOSTNAME\n'));
    assert.equal(a.closed(), undefined);
  });

  test('a second session of the same console takes over; the first is told', async () => {
    const serverId = randomUUID();
    const g = guest(serverId, 'vnc');
    const first = await ApiSide.open(nc, c, serverId, 'vnc');
    await waitFor('first greeted', () => first.text() === 'login: ');
    const second = await ApiSide.open(nc, c, serverId, 'vnc');
    await waitFor('first closed', () => first.closed());
    assert.equal(first.closed(), 'taken_over');
    await waitFor('second greeted', () => second.text() === 'login: ');
    second.send('ok');
    await waitFor('second echo', () => second.text().endsWith('OK'));
    first.send('ignored');
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(!second.text().includes('IGNORED'), 'input of the taken-over session reaches nothing');
    await waitFor('the guest saw the first connection end', () => g.clients[0]!.destroyed || g.clients[0]!.readableEnded);
    // a different kind of the same server is a different console
    guest(serverId, 'serial');
    const serial = await ApiSide.open(nc, c, serverId, 'serial');
    await waitFor('serial greeted', () => serial.text().endsWith('login: '));
    assert.equal(second.closed(), undefined);
  });

  test('no socket (server not running here): closed as not_running', async () => {
    const a = await ApiSide.open(nc, c, randomUUID(), 'serial');
    await waitFor('closed', () => a.closed());
    assert.equal(a.closed(), 'not_running');
  });

  test('flow control: at most a window in flight until the API acknowledges, every byte in order', async () => {
    const serverId = randomUUID();
    const total = 2 * 1024 * 1024;
    const data = randomBytes(total);
    const f = consoleFiles(paths, serverId);
    const server = createServer((sock) => {
      sock.on('error', () => undefined);
      sock.end(data);
    });
    server.listen(f.vncSocket);
    guests.push(server);
    const a = await ApiSide.open(nc, c, serverId, 'vnc');
    await waitFor('first window', () => a.bytes.length >= WINDOW);
    await new Promise((r) => setTimeout(r, 200));
    const inFlight = a.bytes.length;
    assert.ok(inFlight <= WINDOW + 64 * 1024 + 65536, `without acks the node stops after about a window (${inFlight} bytes)`);
    const t = setInterval(() => {
      a.ack();
      a.ping();
    }, 5);
    try {
      await waitFor('all bytes', () => a.bytes.length >= total, { timeoutMs: 20_000 });
    } finally {
      clearInterval(t);
    }
    assert.equal(createHash('sha256').update(a.bytes).digest('hex'), createHash('sha256').update(data).digest('hex'), 'the bytes arrive whole and in order');
    await waitFor('closed when the guest side ends', () => a.closed());
    assert.equal(a.closed(), 'server_stopped');
  });

  test('an API that stops pinging loses the session; the guest socket is freed', async () => {
    const serverId = randomUUID();
    const g = guest(serverId, 'serial');
    const a = await ApiSide.open(nc, c, serverId, 'serial');
    await waitFor('greeted', () => a.text().endsWith('login: '));
    await waitFor('closed for silence', () => a.closed(), { timeoutMs: 3000 });
    assert.equal(a.closed(), 'relay_error');
    await waitFor('guest connection closed', () => g.clients[0]!.destroyed || g.clients[0]!.readableEnded);
    assert.equal(relay.openSessions.filter((s) => s.serverId === serverId).length, 0);
  });

  test('a malformed open request opens nothing', async () => {
    const id = randomBytes(16).toString('hex');
    const got: ConsoleNodeControl[] = [];
    const sub = nc.subscribe(c.nodeControl(id));
    void (async () => {
      for await (const m of sub) got.push(m.json());
    })();
    await nc.flush();
    nc.publish(c.open, JSON.stringify({ v: 1, sessionId: id, serverId: '../../etc/passwd', kind: 'serial' }));
    await waitFor('refused', () => got[0]);
    assert.deepEqual(got[0], { type: 'closed', reason: 'relay_error', message: 'invalid open request' });
    assert.equal(relay.openSessions.length, 0);
  });
});

test('readTail returns whole lines from the end of a file', async () => {
  const p = join('/tmp', uniqueName('tail'));
  writeFileSync(p, 'one\ntwo\nthree\n');
  try {
    assert.equal((await readTail(p, 9)).toString(), 'three\n');
    assert.equal((await readTail(p, 100)).toString(), 'one\ntwo\nthree\n');
  } finally {
    rmSync(p, { force: true });
  }
});
