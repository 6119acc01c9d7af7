import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Subscription } from '@nats-io/transport-node';
import {
  CONSOLE_PING_MS,
  CONSOLE_WINDOW_BYTES,
  CONSOLE_WS_CLOSE_CODES,
  ConsoleCloseReason,
  ConsoleNodeControlSchema,
  consoleSubjects,
  type ConsoleKind,
  type ConsoleSubjects,
} from '@oblako/contracts';
import type { Subscription as RxSubscription } from 'rxjs';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { APP_CONFIG } from '../common/config.provider.js';
import type { AppConfig } from '../config/config.js';
import { NatsService } from '../messaging/nats.service.js';
import { ServerEventsBus } from '../servers/server-events.bus.js';
import { ConsolesService, type ConsoleGrant } from './consoles.service.js';

const PATH = /^\/api\/v1\/servers\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/console\/(vnc|serial)$/;
/** Browser ↔ API keep-alive, so proxies in between never see an idle connection. */
const WS_PING_MS = 25_000;
/** The node must answer an open request within this long. */
const OPEN_TIMEOUT_MS = 10_000;
/** Input typed before the node's socket is open is held up to this much. */
const MAX_EARLY_INPUT = 64 * 1024;

/** Client address: the socket's, or the first X-Forwarded-For hop when a proxy on this machine forwarded it (as Express's `trust proxy: loopback`). */
function clientIp(req: IncomingMessage): string | null {
  const remote = req.socket.remoteAddress ?? null;
  const loopback = remote === '127.0.0.1' || remote === '::1' || remote === '::ffff:127.0.0.1';
  const xff = req.headers['x-forwarded-for'];
  if (loopback && typeof xff === 'string' && xff.trim()) return xff.split(',').at(-1)!.trim().slice(0, 64);
  return remote;
}

function reject(socket: Duplex, status: number, code: string, message: string): void {
  const body = JSON.stringify({ statusCode: status, code, message });
  const reason = { 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 409: 'Conflict', 503: 'Service Unavailable' }[status] ?? 'Error';
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/**
 * The API's end of the console relay. The panel opens a WebSocket on its own origin at
 * `/api/v1/servers/<id>/console/<vnc|serial>?ticket=...`; the ticket is redeemed (once, in time, for
 * that server and kind) and access checked before the upgrade completes, so a refused ticket never
 * opens anything on the node. Bytes then flow browser ↔ API ↔ node over NATS (see
 * libs/contracts/src/console.ts), so any API replica can relay to any node, wherever it runs.
 */
@Injectable()
export class ConsoleRelayService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('ConsoleRelay');
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 256 * 1024, perMessageDeflate: false });
  private readonly sessions = new Set<RelaySession>();
  private server: Server | null = null;
  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    void this.upgrade(req, socket, head).catch((err: unknown) => {
      this.logger.error(`console upgrade failed: ${(err as Error).message}`);
      if (!socket.destroyed) reject(socket, 503, 'console_node_unavailable', 'The console could not be opened; try again.');
    });
  };

  constructor(
    @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
    @Inject(ConsolesService) private readonly consoles: ConsolesService,
    @Inject(NatsService) private readonly nats: NatsService,
    @Inject(ServerEventsBus) private readonly bus: ServerEventsBus,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.server = this.adapterHost.httpAdapter.getHttpServer() as Server;
    this.server.on('upgrade', this.onUpgrade);
  }

  /** Sessions this replica relays now. */
  get openSessions(): number {
    return this.sessions.size;
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.server?.off('upgrade', this.onUpgrade);
    await Promise.all([...this.sessions].map((s) => s.close(ConsoleCloseReason.Shutdown)));
    this.wss.close();
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const m = PATH.exec(url.pathname);
    if (!m) return reject(socket, 404, 'not_found', 'No WebSocket endpoint here.');
    const [, serverId, kind] = m as unknown as [string, string, ConsoleKind];
    const redeemed = await this.consoles.redeem(url.searchParams.get('ticket') ?? '', serverId, kind);
    const ip = clientIp(req);
    if (!redeemed.ok) {
      this.logger.warn(`console ticket refused (${redeemed.reason}) for server ${serverId} from ${ip}`);
      return reject(socket, 401, 'console_ticket_refused', 'This console ticket is not valid: a ticket opens one console once, within seconds of being issued. Open the console again.');
    }
    const grant = redeemed.grant;
    const now = await this.consoles.check(grant);
    if (!now.allowed) return reject(socket, 404, 'server_not_found', `No server with id ${serverId}.`);
    if (now.state !== 'running' || !now.nodeId) return reject(socket, 409, 'server_not_running', `The server is ${now.state}; its console opens only while it is running.`);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const session = new RelaySession(ws, grant, now.nodeId!, ip, this.nats, this.bus, this.consoles, this.config, this.logger, () => this.sessions.delete(session));
      this.sessions.add(session);
      void session.start();
    });
  }
}

/** One browser WebSocket relayed to one node console session. */
class RelaySession {
  private readonly id = randomBytes(16).toString('hex');
  private readonly c: ConsoleSubjects;
  private readonly subs: Subscription[] = [];
  private changes: RxSubscription | null = null;
  private readonly timers: NodeJS.Timeout[] = [];
  private opened = false;
  private closed = false;
  private readonly early: Buffer[] = [];
  private earlyBytes = 0;
  /** Bytes from the node handed to the browser's socket, and the last total acknowledged to the node. */
  private passed = 0;
  private acked = 0;
  private bytesIn = 0;
  private lastActivity = Date.now();
  private readonly startedAt = Date.now();
  private closing: Promise<void> | null = null;

  constructor(
    private readonly ws: WebSocket,
    private readonly grant: ConsoleGrant,
    private readonly nodeId: string,
    private readonly ip: string | null,
    private readonly nats: NatsService,
    private readonly bus: ServerEventsBus,
    private readonly consoles: ConsolesService,
    private readonly config: AppConfig,
    private readonly logger: Logger,
    private readonly onDone: () => void,
  ) {
    this.c = consoleSubjects(nats.subjects, nodeId);
  }

  async start(): Promise<void> {
    const nc = this.nats.nc;
    const out = nc.subscribe(this.c.out(this.id));
    const ctl = nc.subscribe(this.c.nodeControl(this.id));
    this.subs.push(out, ctl);
    void (async () => {
      for await (const m of out) this.fromNode(m.data);
    })();
    void (async () => {
      for await (const m of ctl) this.nodeControl(m.data);
    })();
    this.ws.on('message', (data: RawData) => this.fromBrowser(data));
    this.ws.on('close', () => void this.close(ConsoleCloseReason.ClientClosed));
    this.ws.on('error', () => void this.close(ConsoleCloseReason.ClientClosed));
    // the server stops, is suspended, paused or deleted: the console ends with it
    this.changes = this.bus.changes$.subscribe((ch) => {
      if (ch.serverId === this.grant.serverId && ch.state !== 'running') void this.close(ConsoleCloseReason.ServerStopped);
    });
    await nc.flush();
    nc.publish(this.c.open, JSON.stringify({ v: 1, sessionId: this.id, serverId: this.grant.serverId, kind: this.grant.kind, replay: true }));
    this.timers.push(
      setTimeout(() => {
        if (!this.opened) void this.close(ConsoleCloseReason.RelayError);
      }, OPEN_TIMEOUT_MS),
      setInterval(() => this.publishControl({ type: 'ping' }), CONSOLE_PING_MS),
      setInterval(() => this.ws.ping(), WS_PING_MS),
      setInterval(() => {
        if (Date.now() - this.lastActivity > this.config.consoles.idleSeconds * 1000) void this.close(ConsoleCloseReason.Idle);
      }, Math.min(1000, this.config.consoles.idleSeconds * 250)),
      setInterval(() => void this.recheck(), this.config.consoles.accessCheckSeconds * 1000),
    );
    for (const t of this.timers) t.unref();
  }

  private publishControl(msg: unknown): void {
    try {
      this.nats.nc.publish(this.c.apiControl(this.id), JSON.stringify(msg));
    } catch (err) {
      this.logger.warn(`console control not sent: ${(err as Error).message}`);
    }
  }

  private fromNode(data: Uint8Array): void {
    if (this.closed) return;
    this.lastActivity = Date.now();
    const n = data.length;
    this.ws.send(data, { binary: true }, (err) => {
      if (err || this.closed) return;
      this.passed += n;
      if (this.passed - this.acked >= CONSOLE_WINDOW_BYTES / 4 || this.ws.bufferedAmount === 0) {
        this.acked = this.passed;
        this.publishControl({ type: 'ack', bytes: this.passed });
      }
    });
  }

  private fromBrowser(data: RawData): void {
    if (this.closed) return;
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    this.lastActivity = Date.now();
    this.bytesIn += buf.length;
    if (!this.opened) {
      this.earlyBytes += buf.length;
      if (this.earlyBytes > MAX_EARLY_INPUT) return void this.close(ConsoleCloseReason.RelayError);
      this.early.push(buf);
      return;
    }
    this.nats.nc.publish(this.c.in(this.id), buf);
  }

  private nodeControl(data: Uint8Array): void {
    let msg;
    try {
      msg = ConsoleNodeControlSchema.parse(JSON.parse(new TextDecoder().decode(data)));
    } catch {
      this.logger.warn(`malformed console control from node ${this.nodeId}`);
      return;
    }
    if (msg.type === 'opened') {
      if (this.opened || this.closed) return;
      this.opened = true;
      for (const b of this.early.splice(0)) this.nats.nc.publish(this.c.in(this.id), b);
      void this.consoles.recordOpen(this.grant, this.id, this.ip).catch((err: unknown) => this.logger.error(`console.open not audited: ${(err as Error).message}`));
    } else {
      void this.close(msg.reason, false);
    }
  }

  private async recheck(): Promise<void> {
    if (this.closed) return;
    try {
      const now = await this.consoles.check(this.grant);
      if (!now.allowed || now.nodeId !== this.nodeId) void this.close(ConsoleCloseReason.AccessLost);
      else if (now.state !== 'running') void this.close(ConsoleCloseReason.ServerStopped);
    } catch (err) {
      this.logger.warn(`console access check failed: ${(err as Error).message}`);
    }
  }

  /** End the session once: tell the node (unless it told us), close the browser's socket with the reason, audit. */
  close(reason: ConsoleCloseReason, tellNode = true): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      for (const t of this.timers) clearInterval(t);
      this.changes?.unsubscribe();
      if (tellNode) this.publishControl({ type: 'close', reason });
      for (const s of this.subs) s.unsubscribe();
      if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) this.ws.close(CONSOLE_WS_CLOSE_CODES[reason], reason);
      this.onDone();
      await this.consoles
        .recordClose(this.grant, this.id, this.ip, { reason, seconds: Math.round((Date.now() - this.startedAt) / 100) / 10, bytesIn: this.bytesIn, bytesOut: this.passed, opened: this.opened })
        .catch((err: unknown) => this.logger.error(`console.close not audited: ${(err as Error).message}`));
    })();
    return this.closing;
  }
}
