import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import type { Subscription } from '@nats-io/transport-node';
import { EventKind, HeartbeatSchema, parseWith, WIRE_VERSION, WireHelloSchema, wireMismatch, wireVersionOf, type WireHelloReply } from '@oblako/contracts';
import { NatsService } from '../messaging/nats.service.js';
import { RejectedEvent } from '../operations/task-runner.service.js';
import { NodeEventHandlers } from './event-handlers.js';
import { HeartbeatsService } from './heartbeats.service.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Reads node events from JetStream (durable consumer, explicit ack) and heartbeats from core NATS.
 * Every message is checked against the contract schema and against the node named in its subject;
 * bad messages are terminated (never redelivered) and logged. Each kind has its handler
 * (event-handlers.ts); a kind nobody handles is logged, counted and terminated. Events of one server
 * are handled in order; different servers in parallel.
 */
@Injectable()
export class NodeEventsConsumer {
  private readonly logger = new Logger('NodeEvents');
  private messages: ConsumerMessages | null = null;
  private heartbeats: Subscription | null = null;
  private hellos: Subscription | null = null;
  private loop: Promise<void> = Promise.resolve();
  private readonly chains = new Map<string, Promise<void>>();

  constructor(
    @Inject(NatsService) private readonly nats: NatsService,
    @Inject(NodeEventHandlers) private readonly handlers: NodeEventHandlers,
    @Inject(HeartbeatsService) private readonly heartbeatsService: HeartbeatsService,
  ) {}

  private stopping = false;

  async start(): Promise<void> {
    this.stopping = false;
    await this.nats.ensureEventConsumer();
    await this.openMessages();
    this.loop = this.readLoop();

    const s = this.nats.subjects;
    this.hellos = this.nats.nc.subscribe(s.allHellos(), {
      queue: 'oblako-api',
      callback: (_err, msg) => {
        if (msg.reply) msg.respond(JSON.stringify(this.answerHello(msg.subject, msg.data)));
      },
    });
    this.heartbeats = this.nats.nc.subscribe(s.allHeartbeats(), { queue: 'oblako-api' });
    const hbs = this.heartbeats;
    void (async () => {
      for await (const msg of hbs) {
        await this.onHeartbeat(msg.subject, msg.data).catch((err) => this.logger.warn(`Heartbeat on ${msg.subject} failed: ${(err as Error).message}`));
      }
    })();
  }

  private async openMessages(): Promise<ConsumerMessages> {
    const s = this.nats.subjects;
    const consumer = await this.nats.js.consumers.get(s.eventStream, s.apiEventConsumer);
    const messages = await consumer.consume({ max_messages: 256 });
    this.messages = messages;
    // If the consumer or its stream disappears, end this subscription so the read loop recreates them.
    void (async () => {
      for await (const n of messages.status()) {
        if (n.type === 'consumer_deleted' || n.type === 'consumer_not_found' || n.type === 'stream_not_found') {
          this.logger.warn(`Event consumer: ${n.type}; recreating it`);
          await messages.close().catch(() => undefined);
          break;
        }
      }
    })().catch(() => undefined);
    return messages;
  }

  /** Read events until stopped; if the subscription ends on its own (consumer deleted, stream recreated...), reopen it. */
  private async readLoop(): Promise<void> {
    let delay = 250;
    while (!this.stopping) {
      try {
        const messages = this.messages ?? (await this.openMessages());
        for await (const msg of messages) {
          delay = 250;
          this.dispatch(msg);
        }
        if (this.stopping) break;
        this.logger.warn('Event subscription ended; reopening it');
      } catch (err) {
        if (this.stopping) break;
        this.logger.error(`Event consumer failed (${(err as Error).message}); retrying in ${delay} ms`);
      }
      this.messages = null;
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 10_000);
      if (!this.stopping) await this.nats.ensureEventConsumer().catch(() => undefined);
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.heartbeats?.unsubscribe();
    this.heartbeats = null;
    this.hellos?.unsubscribe();
    this.hellos = null;
    if (this.messages) {
      await this.messages.close().catch(() => undefined);
      this.messages = null;
    }
    await this.loop;
    await Promise.allSettled([...this.chains.values()]);
  }

  private dispatch(msg: JsMsg): void {
    let key = msg.subject;
    let body: unknown;
    try {
      body = msg.json();
      const sid = (body as { serverId?: unknown })?.serverId;
      if (typeof sid === 'string') key = sid;
    } catch {
      body = undefined;
    }
    const prev = this.chains.get(key) ?? Promise.resolve();
    const next = prev.then(() => this.handle(msg, body));
    this.chains.set(key, next);
    void next.finally(() => {
      if (this.chains.get(key) === next) this.chains.delete(key);
    });
  }

  private async handle(msg: JsMsg, body: unknown): Promise<void> {
    const reject = (why: string) => {
      this.logger.warn(`Rejected event on ${msg.subject}: ${why}`);
      msg.term(why.slice(0, 200));
    };
    const parsed = this.nats.subjects.parse(msg.subject);
    if (!parsed || parsed.channel !== 'evt' || !parsed.name) return reject('not an event subject');
    const nodeId = parsed.nodeId;
    if (!UUID.test(nodeId)) return reject(`unknown node id "${nodeId}"`);
    if (body === undefined) return reject('payload is not JSON');
    // the refusal is the one frozen event without a wire version (wire.ts); every other must speak ours
    if (parsed.name !== EventKind.WireRefused) {
      const theirs = wireVersionOf(body);
      const mismatch = theirs === null ? null : wireMismatch('api', theirs);
      if (mismatch) return reject(`node ${nodeId}: ${mismatch}`);
    }
    const handler = this.handlers.get(parsed.name);
    if (!handler) {
      this.handlers.unhandled(parsed.name, msg.subject);
      return reject(`no handler for event kind "${parsed.name}"`);
    }
    try {
      const r = parseWith(handler.schema, body);
      if (!r.ok) return reject(r.error);
      if (r.value.nodeId !== nodeId) return reject(`payload nodeId ${r.value.nodeId} differs from the subject's ${nodeId}`);
      await handler.handle(nodeId, r.value);
      msg.ack();
    } catch (err) {
      if (err instanceof RejectedEvent) return reject(err.message);
      this.logger.error(`Handling ${msg.subject} failed, will retry: ${(err as Error).message}`);
      msg.nak(1000);
    }
  }

  /** The frozen hello (`wire.ts`): tell a daemon of another wire version what is wrong before it takes a command. */
  private answerHello(subject: string, data: Uint8Array): WireHelloReply {
    const parsed = this.nats.subjects.parse(subject);
    let body: unknown;
    try {
      body = JSON.parse(new TextDecoder().decode(data));
    } catch {
      body = undefined;
    }
    const hello = WireHelloSchema.safeParse(body);
    if (!parsed || !hello.success || hello.data.nodeId !== parsed.nodeId) {
      return { ok: false, apiWireVersion: WIRE_VERSION, message: `the hello on ${subject} is not one this API understands (it speaks wire version ${WIRE_VERSION})` };
    }
    const mismatch = wireMismatch('api', hello.data.wireVersion);
    if (mismatch) {
      this.logger.warn(`Node ${parsed.nodeId} (daemon ${hello.data.daemonVersion}): ${mismatch}`);
      // the same words from the daemon's side: it reads "this node daemon speaks ..., upgrade ..."
      return { ok: false, apiWireVersion: WIRE_VERSION, message: wireMismatch('daemon', WIRE_VERSION, hello.data.wireVersion) ?? mismatch };
    }
    return { ok: true, apiWireVersion: WIRE_VERSION, message: `the API speaks wire version ${WIRE_VERSION}, as this daemon does` };
  }

  private async onHeartbeat(subject: string, data: Uint8Array): Promise<void> {
    const parsed = this.nats.subjects.parse(subject);
    if (!parsed || parsed.channel !== 'hb' || !UUID.test(parsed.nodeId)) return;
    let body: unknown;
    try {
      body = JSON.parse(new TextDecoder().decode(data));
    } catch {
      this.logger.warn(`Heartbeat on ${subject} is not JSON; ignored`);
      return;
    }
    const mismatch = wireMismatch('api', wireVersionOf(body));
    if (mismatch) {
      this.logger.warn(`Heartbeat on ${subject}: ${mismatch}`);
      return;
    }
    const r = parseWith(HeartbeatSchema, body);
    if (!r.ok) {
      this.logger.warn(`Heartbeat on ${subject} does not match the contract: ${r.error}`);
      return;
    }
    if (r.value.nodeId !== parsed.nodeId) {
      this.logger.warn(`Heartbeat on ${subject} names node ${r.value.nodeId}; ignored`);
      return;
    }
    await this.heartbeatsService.onHeartbeat(parsed.nodeId, r.value);
  }
}
