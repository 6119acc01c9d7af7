import { readFile } from 'node:fs/promises';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import {
  jetstream,
  jetstreamManager,
  type Consumer,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import {
  commandStreamDefinition,
  EventKind,
  nodeConsumerDefinition,
  nodeInboxPrefix,
  type DomainStateEvent,
  type Heartbeat,
  type OrphanReport,
  type ImageStateEvent,
  type ImageProgressEvent,
  type StoreDeletedEvent,
  type Subjects,
  type TaskProgressEvent,
  type TaskResultEvent,
  type UsageEvent,
  type WireHelloReply,
  type WireRefusal,
  WIRE_VERSION,
  WireHelloReplySchema,
  natsServerList,
} from '@oblako/contracts';
import type { DaemonConfig } from '../config.js';
import { errorMessage, type Logger } from '../log.js';

const enc = new TextEncoder();

/** Open the NATS connection with the node's identity (user/password or a .creds file). */
export async function connectNats(config: DaemonConfig, log: Logger): Promise<NatsConnection> {
  let authenticator;
  if (config.natsCredsFile) {
    let creds: Uint8Array;
    try {
      creds = await readFile(config.natsCredsFile);
    } catch (err) {
      throw new Error(`NATS_CREDS="${config.natsCredsFile}" cannot be read: ${errorMessage(err)}`);
    }
    authenticator = credsAuthenticator(creds);
  }
  try {
    const nc = await connect({
      servers: natsServerList(config.natsUrl),
      name: `oblako-node-daemon:${config.nodeId}`,
      // replies come to an inbox only this node's NATS user may read
      inboxPrefix: nodeInboxPrefix(config.nodeId),
      user: config.natsUser,
      pass: config.natsPassword,
      authenticator,
      ...(config.natsCaFile ? { tls: { caFile: config.natsCaFile } } : {}),
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
    });
    (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect' || s.type === 'reconnect' || s.type === 'error') log.warn(`nats ${s.type}`, { server: 'server' in s ? s.server : undefined });
      }
    })().catch(() => undefined);
    return nc;
  } catch (err) {
    throw new Error(`cannot connect to NATS at ${config.natsUrl} as node ${config.nodeId}: ${errorMessage(err)}`);
  }
}

function isNotFound(err: unknown): boolean {
  const e = err as { code?: number; api_error?: { code?: number; err_code?: number } } | undefined;
  return e?.api_error?.code === 404 || e?.code === 404 || /not found/i.test(errorMessage(err));
}

/**
 * Make sure the command stream and this node's durable pull consumer exist. The API normally
 * creates both; the daemon creates them only when missing, from the same shared definitions
 * (`libs/contracts/src/streams.ts`), so it can also run on its own. Existing definitions are
 * never changed: the API owns them.
 */
export async function ensureCommandConsumer(jsm: JetStreamManager, s: Subjects, nodeId: string, log: Logger, replicas = 1): Promise<void> {
  try {
    await jsm.streams.info(s.commandStream);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    log.info('command stream missing, creating it', { stream: s.commandStream });
    try {
      await jsm.streams.add(commandStreamDefinition(s, { replicas }));
    } catch (err2) {
      // another node or the API created it in the meantime
      if (!/already in use|exists/i.test(errorMessage(err2))) throw err2;
    }
  }
  const consumer = nodeConsumerDefinition(s, nodeId);
  try {
    await jsm.consumers.info(s.commandStream, consumer.durable_name);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    log.info('node consumer missing, creating it', { stream: s.commandStream, consumer: consumer.durable_name });
    try {
      await jsm.consumers.add(s.commandStream, consumer);
    } catch (err2) {
      if (!/already exists|exists/i.test(errorMessage(err2))) throw err2;
    }
  }
}

/**
 * Publishes this node's events. Results and state changes are confirmed by JetStream (stored
 * before the command is acked) when the event stream exists; the API creates that stream. Without
 * it (daemon on its own) they are plain NATS messages. Whether it exists is checked at start and
 * with every heartbeat.
 */
export class EventPublisher {
  private eventStream: 'jetstream' | 'core' = 'core';

  constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly s: Subjects,
    private readonly nodeId: string,
    private readonly log: Logger,
  ) {}

  /** Look up the event stream; a node user without the right to ask is assumed to have one. */
  async refreshEventStream(): Promise<void> {
    let next: 'jetstream' | 'core';
    try {
      await this.jsm.streams.info(this.s.eventStream);
      next = 'jetstream';
    } catch (err) {
      next = isNotFound(err) ? 'core' : /permission|authoriz/i.test(errorMessage(err)) ? 'jetstream' : this.eventStream;
    }
    if (next !== this.eventStream) this.log.info(`events now published ${next === 'jetstream' ? 'to the JetStream event stream' : 'as plain NATS messages (no event stream)'}`, { stream: this.s.eventStream });
    this.eventStream = next;
  }

  /** Fire and forget: progress is advisory. */
  progress(e: TaskProgressEvent): void {
    this.nc.publish(this.s.nodeEvent(this.nodeId, EventKind.TaskProgress), enc.encode(JSON.stringify(e)));
  }

  result(e: TaskResultEvent): Promise<void> {
    return this.durable(this.s.nodeEvent(this.nodeId, EventKind.TaskResult), e);
  }

  domainState(e: DomainStateEvent): Promise<void> {
    return this.durable(this.s.nodeEvent(this.nodeId, EventKind.DomainState), e);
  }

  /** What the node did with a domain the API called an orphan (orphans.ts). */
  orphanReport(e: OrphanReport): Promise<void> {
    return this.durable(this.s.nodeEvent(this.nodeId, EventKind.OrphanReport), e);
  }

  /** A command in another wire version, refused before any of it ran (frozen format, `wire.ts`). */
  wireRefused(e: WireRefusal): Promise<void> {
    return this.durable(this.s.nodeEvent(this.nodeId, EventKind.WireRefused), e);
  }

  /** The answer to a `store_delete` command (confirmed: the backup's row waits for it). */
  storeDeleted(e: StoreDeletedEvent): Promise<void> {
    return this.durable(this.s.nodeEvent(this.nodeId, EventKind.StoreDeleted), e);
  }

  /** An image download under way for `image_verify` (fire and forget, like task progress: advisory). */
  imageProgress(e: ImageProgressEvent): void {
    this.nc.publish(this.s.nodeEvent(this.nodeId, EventKind.ImageProgress), enc.encode(JSON.stringify(e)));
  }

  /** The answer to an `image_verify` command (confirmed: staff and the catalogue wait for it). */
  imageState(e: ImageStateEvent): Promise<void> {
    return this.durable(this.s.nodeEvent(this.nodeId, EventKind.ImageState), e);
  }

  /**
   * Usage samples, confirmed by JetStream (throws when NATS or the stream does not answer: the sampler keeps
   * them and sends them again; `msgId` makes a repeat within the stream's duplicate window a no-op, and the
   * API counts each sample id once anyway).
   */
  async usage(e: UsageEvent, msgId: string): Promise<void> {
    if (!this.nc.isClosed() && this.nc.isDraining()) throw new Error('NATS connection is draining');
    // never a plain publish: only a stored (acknowledged) sample may leave the daemon's buffer
    await this.js.publish(this.s.nodeEvent(this.nodeId, EventKind.Usage), enc.encode(JSON.stringify(e)), { timeout: 5000, msgID: msgId });
  }

  heartbeat(hb: Heartbeat): void {
    this.nc.publish(this.s.nodeHeartbeat(this.nodeId), enc.encode(JSON.stringify(hb)));
  }

  private async durable(subject: string, payload: unknown): Promise<void> {
    const data = enc.encode(JSON.stringify(payload));
    if (this.eventStream === 'core') {
      this.nc.publish(subject, data);
      return;
    }
    try {
      await this.js.publish(subject, data, { timeout: 5000 });
    } catch (err) {
      // No event stream (daemon running on its own): a plain publish still reaches subscribers.
      if (/no responders|503/i.test(errorMessage(err))) {
        this.nc.publish(subject, data);
        return;
      }
      this.log.error('publishing an event failed', { subject, error: errorMessage(err) });
      throw err;
    }
  }
}

export interface Bus {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  consumer: Consumer;
  events: EventPublisher;
}

export async function openBus(config: DaemonConfig, s: Subjects, log: Logger): Promise<Bus> {
  const nc = await connectNats(config, log);
  try {
    const jsm = await jetstreamManager(nc);
    await ensureCommandConsumer(jsm, s, config.nodeId, log, config.streamReplicas);
    const js = jetstream(nc);
    const consumer = await js.consumers.get(s.commandStream, s.nodeConsumer(config.nodeId));
    const events = new EventPublisher(nc, js, jsm, s, config.nodeId, log);
    await events.refreshEventStream();
    return { nc, js, jsm, consumer, events };
  } catch (err) {
    await nc.close().catch(() => undefined);
    throw err;
  }
}

/**
 * Ask the API whether it speaks our wire version. Null when nobody answers (no API running yet, or
 * credentials minted before the hello existed): the per-command check still guards every command.
 */
export async function helloApi(nc: NatsConnection, s: Subjects, nodeId: string, daemonVersion: string, log: Logger): Promise<WireHelloReply | null> {
  try {
    const reply = await nc.request(s.nodeHello(nodeId), enc.encode(JSON.stringify({ nodeId, wireVersion: WIRE_VERSION, daemonVersion })), { timeout: 3000 });
    const parsed = WireHelloReplySchema.safeParse(reply.json());
    if (!parsed.success) {
      log.warn('the API answered the hello in a form this daemon does not understand; going on', { answer: reply.string().slice(0, 200) });
      return null;
    }
    return parsed.data;
  } catch (err) {
    log.warn('no answer from the API to the wire-version hello; going on (every command is still checked)', { error: errorMessage(err) });
    return null;
  }
}
