import { createConnection, type Socket } from 'node:net';
import { open as openFile } from 'node:fs/promises';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import {
  CONSOLE_CHUNK_BYTES,
  CONSOLE_PING_MS,
  CONSOLE_SERIAL_REPLAY_BYTES,
  CONSOLE_WINDOW_BYTES,
  ConsoleApiControlSchema,
  ConsoleCloseReason,
  ConsoleOpenSchema,
  consoleSubjects,
  type ConsoleKind,
  type ConsoleNodeControl,
  type ConsoleSubjects,
  type Subjects,
} from '@oblako/contracts';
import { errorMessage, type Logger } from '../log.js';
import { consoleFiles, type ConsolePaths } from './paths.js';

export interface ConsoleRelayOptions {
  /** Bytes in flight before the guest's socket is paused (default CONSOLE_WINDOW_BYTES). */
  windowBytes?: number;
  /** The API pings this often; a session not heard of for 3 pings is closed (default CONSOLE_PING_MS). */
  pingMs?: number;
}

interface Session {
  id: string;
  serverId: string;
  kind: ConsoleKind;
  key: string;
  socket: Socket;
  sent: number;
  acked: number;
  paused: boolean;
  lastHeard: number;
  closed: boolean;
  openedAt: number;
}

/** Input the API may queue towards a guest's socket before the session is closed as broken. */
const MAX_INPUT_BACKLOG = 1024 * 1024;

/**
 * The node's end of the console relay: the API asks (over NATS) to open a session for a server's
 * VNC or serial console; the daemon connects to the guest's local socket and moves bytes both
 * ways until either side closes. One session per server and kind: a new one takes over, and the
 * old one is told so. Nothing listens on the network.
 */
export class ConsoleRelay {
  private readonly c: ConsoleSubjects;
  private readonly sessions = new Map<string, Session>();
  /** `<serverId>:<kind>` → the session that holds that console. */
  private readonly holders = new Map<string, Session>();
  private readonly subs: Subscription[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly windowBytes: number;
  private readonly pingMs: number;

  constructor(
    private readonly nc: NatsConnection,
    s: Subjects,
    nodeId: string,
    private readonly paths: ConsolePaths,
    private readonly log: Logger,
    opts: ConsoleRelayOptions = {},
  ) {
    this.c = consoleSubjects(s, nodeId);
    this.windowBytes = opts.windowBytes ?? CONSOLE_WINDOW_BYTES;
    this.pingMs = opts.pingMs ?? CONSOLE_PING_MS;
  }

  /** Subscribe to open requests and session traffic; resolves once the server has the subscriptions. */
  async start(): Promise<void> {
    this.subs.push(this.listen(this.c.open, (data) => this.onOpen(data)));
    this.subs.push(this.listen(this.c.allIn, (data, subject) => this.onInput(subject, data)));
    this.subs.push(this.listen(this.c.allApiControl, (data, subject) => this.onControl(subject, data)));
    await this.nc.flush();
    this.timer = setInterval(() => this.reapSilent(), Math.max(250, Math.floor(this.pingMs / 2)));
    this.timer.unref();
  }

  /** Sessions open now (for heartbeats and tests). */
  get openSessions(): { id: string; serverId: string; kind: ConsoleKind; sent: number }[] {
    return [...this.sessions.values()].map((s) => ({ id: s.id, serverId: s.serverId, kind: s.kind, sent: s.sent }));
  }

  /** Close every session of a server (it was deleted or stopped by a command). */
  closeServer(serverId: string, reason: ConsoleCloseReason = ConsoleCloseReason.ServerStopped): void {
    for (const s of [...this.sessions.values()]) if (s.serverId === serverId) this.close(s, reason);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    for (const sub of this.subs) sub.unsubscribe();
    this.subs.length = 0;
    for (const s of [...this.sessions.values()]) this.close(s, ConsoleCloseReason.Shutdown);
    await this.nc.flush().catch(() => undefined);
  }

  private listen(subject: string, handle: (data: Uint8Array, subject: string) => void | Promise<void>): Subscription {
    const sub = this.nc.subscribe(subject);
    void (async () => {
      for await (const m of sub) {
        try {
          await handle(m.data, m.subject);
        } catch (err) {
          this.log.warn('console message not handled', { subject: m.subject, error: errorMessage(err) });
        }
      }
    })();
    return sub;
  }

  private control(sessionId: string, msg: ConsoleNodeControl): void {
    this.nc.publish(this.c.nodeControl(sessionId), JSON.stringify(msg));
  }

  private async onOpen(data: Uint8Array): Promise<void> {
    let raw: unknown;
    try {
      raw = JSON.parse(new TextDecoder().decode(data));
    } catch {
      this.log.warn('console open request is not JSON: ignored');
      return;
    }
    const parsed = ConsoleOpenSchema.safeParse(raw);
    if (!parsed.success) {
      const sid = (raw as { sessionId?: unknown } | null)?.sessionId;
      this.log.warn('console open request refused', { error: parsed.error.message.slice(0, 300) });
      if (typeof sid === 'string' && /^[0-9a-f]{32}$/.test(sid)) this.control(sid, { type: 'closed', reason: ConsoleCloseReason.RelayError, message: 'invalid open request' });
      return;
    }
    const req = parsed.data;
    if (this.sessions.has(req.sessionId)) return; // a repeated request
    const files = consoleFiles(this.paths, req.serverId);
    const path = req.kind === 'vnc' ? files.vncSocket : files.serialSocket;
    const key = `${req.serverId}:${req.kind}`;
    const previous = this.holders.get(key);
    if (previous) this.close(previous, ConsoleCloseReason.TakenOver);

    const socket = createConnection({ path });
    socket.pause();
    const session: Session = {
      id: req.sessionId, serverId: req.serverId, kind: req.kind, key, socket,
      sent: 0, acked: 0, paused: true, lastHeard: Date.now(), closed: false, openedAt: Date.now(),
    };
    this.sessions.set(session.id, session);
    this.holders.set(key, session);

    const connected = await new Promise<boolean>((resolve) => {
      socket.once('connect', () => resolve(true));
      socket.once('error', (err: NodeJS.ErrnoException) => {
        this.log.info('console socket not reachable', { serverId: req.serverId, kind: req.kind, code: err.code });
        resolve(false);
      });
    });
    if (session.closed) return; // taken over while connecting
    if (!connected) {
      this.close(session, ConsoleCloseReason.NotRunning);
      return;
    }
    socket.on('error', (err) => {
      this.log.warn('console socket error', { serverId: session.serverId, kind: session.kind, error: errorMessage(err) });
    });
    socket.on('close', () => this.close(session, ConsoleCloseReason.ServerStopped));
    socket.on('data', (chunk: Buffer) => this.forward(session, chunk));
    this.control(session.id, { type: 'opened', window: this.windowBytes });
    if (req.kind === 'serial' && req.replay) {
      const tail = await readTail(files.serialLog, CONSOLE_SERIAL_REPLAY_BYTES).catch(() => null);
      if (tail && tail.length && !session.closed) this.forward(session, tail);
    }
    this.log.info('console session opened', { session: session.id.slice(0, 8), serverId: session.serverId, kind: session.kind });
    if (!session.closed) this.resumeIfRoom(session);
  }

  private forward(s: Session, chunk: Buffer): void {
    if (s.closed) return;
    for (let off = 0; off < chunk.length; off += CONSOLE_CHUNK_BYTES) {
      const part = chunk.subarray(off, Math.min(chunk.length, off + CONSOLE_CHUNK_BYTES));
      this.nc.publish(this.c.out(s.id), part);
      s.sent += part.length;
    }
    if (!s.paused && s.sent - s.acked > this.windowBytes) {
      s.socket.pause();
      s.paused = true;
    }
  }

  private resumeIfRoom(s: Session): void {
    if (s.paused && s.sent - s.acked <= this.windowBytes / 2) {
      s.paused = false;
      s.socket.resume();
    }
  }

  private onInput(subject: string, data: Uint8Array): void {
    const p = this.c.parse(subject);
    const s = p && this.sessions.get(p.sessionId);
    if (!s || s.closed) return;
    s.lastHeard = Date.now();
    if (s.socket.writableLength > MAX_INPUT_BACKLOG) {
      this.close(s, ConsoleCloseReason.RelayError, 'the guest does not read its console input');
      return;
    }
    s.socket.write(data);
  }

  private onControl(subject: string, data: Uint8Array): void {
    const p = this.c.parse(subject);
    const s = p && this.sessions.get(p.sessionId);
    if (!s || s.closed) return;
    let msg;
    try {
      msg = ConsoleApiControlSchema.parse(JSON.parse(new TextDecoder().decode(data)));
    } catch {
      this.log.warn('console control message refused', { session: s.id.slice(0, 8) });
      return;
    }
    s.lastHeard = Date.now();
    if (msg.type === 'ack') {
      s.acked = Math.max(s.acked, Math.min(msg.bytes, s.sent));
      this.resumeIfRoom(s);
    } else if (msg.type === 'close') {
      this.close(s, ConsoleCloseReason.ClientClosed, undefined, false);
    }
  }

  /** The API stopped pinging (it crashed, or lost NATS): free the guest's console. */
  private reapSilent(): void {
    const limit = Date.now() - 3 * this.pingMs;
    for (const s of [...this.sessions.values()]) if (s.lastHeard < limit) this.close(s, ConsoleCloseReason.RelayError, 'the API stopped answering');
  }

  private close(s: Session, reason: ConsoleCloseReason, message?: string, tell = true): void {
    if (s.closed) return;
    s.closed = true;
    this.sessions.delete(s.id);
    if (this.holders.get(s.key) === s) this.holders.delete(s.key);
    s.socket.removeAllListeners('close');
    s.socket.destroy();
    if (tell) this.control(s.id, { type: 'closed', reason, ...(message ? { message } : {}) });
    this.log.info('console session closed', { session: s.id.slice(0, 8), serverId: s.serverId, kind: s.kind, reason, bytes: s.sent, seconds: Math.round((Date.now() - s.openedAt) / 1000) });
  }
}

/** The last `max` bytes of a file, starting after a line break so the terminal gets whole lines. */
export async function readTail(path: string, max: number): Promise<Buffer> {
  const fh = await openFile(path, 'r');
  try {
    const { size } = await fh.stat();
    const start = Math.max(0, size - max);
    const buf = Buffer.alloc(size - start);
    const { bytesRead } = await fh.read(buf, 0, buf.length, start);
    let out = buf.subarray(0, bytesRead);
    if (start > 0) {
      const nl = out.indexOf(0x0a);
      if (nl >= 0) out = out.subarray(nl + 1);
    }
    return out;
  } finally {
    await fh.close();
  }
}
