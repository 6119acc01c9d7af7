import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager, type StoredMsg } from '@nats-io/jetstream';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { readFileSync } from 'node:fs';
import {
  apiEventConsumerDefinition,
  changeableConsumerFields,
  commandStreamDefinition,
  eventStreamDefinition,
  natsServerList,
  nodeConsumerDefinition,
  subjects,
  type ConsumerDefinition,
  type StreamDefinition,
  type Subjects,
} from '@oblako/contracts';
import { APP_CONFIG } from '../common/config.provider.js';
import type { AppConfig } from '../config/config.js';

/** Sequence ranges a walk of the command stream reads side by side ({@link NatsService.walkCommands}). */
const WALK_PAGES = 8;

/**
 * The API's one NATS connection and the JetStream layout it owns.
 *
 * The definitions (names, retention, storage, age limits, duplicate window, consumer ack wait and
 * delivery limits) are shared with the node daemons: `libs/contracts/src/streams.ts`, which also
 * says why each is what it is. Replicas come from NATS_STREAM_REPLICAS.
 */
@Injectable()
export class NatsService implements OnApplicationShutdown {
  private readonly logger = new Logger('NatsService');
  readonly subjects: Subjects;
  private connection: NatsConnection | null = null;
  private client: JetStreamClient | null = null;
  private manager: JetStreamManager | null = null;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.subjects = subjects(config.natsSubjectPrefix);
  }

  get nc(): NatsConnection {
    if (!this.connection) throw new Error('NATS is not connected yet');
    return this.connection;
  }
  get js(): JetStreamClient {
    if (!this.client) throw new Error('NATS is not connected yet');
    return this.client;
  }
  get jsm(): JetStreamManager {
    if (!this.manager) throw new Error('NATS is not connected yet');
    return this.manager;
  }

  /** Connect and make sure both streams exist. Called once by the messaging lifecycle at start-up. */
  async start(): Promise<void> {
    if (this.connection) return;
    try {
      const authenticator = this.config.natsCredsFile ? credsAuthenticator(readFileSync(this.config.natsCredsFile)) : undefined;
      this.connection = await connect({
        servers: natsServerList(this.config.natsUrl), name: 'oblako-api', authenticator, maxReconnectAttempts: -1, reconnectTimeWait: 500,
        ...(this.config.natsCaFile ? { tls: { caFile: this.config.natsCaFile } } : {}),
      });
    } catch (err) {
      throw new Error(`Cannot connect to NATS at ${this.config.natsUrl} (NATS_URL): ${(err as Error).message}`);
    }
    this.client = jetstream(this.connection);
    this.manager = await jetstreamManager(this.connection);
    await this.ensureStreams();
    this.logger.log(`Connected to NATS at ${this.config.natsUrl}, subject prefix "${this.subjects.prefix}"`);
  }

  async ensureStreams(): Promise<void> {
    const opts = { replicas: this.config.natsStreamReplicas };
    await this.ensureStream(commandStreamDefinition(this.subjects, opts));
    await this.ensureStream(eventStreamDefinition(this.subjects, opts));
  }

  private async ensureStream(cfg: StreamDefinition): Promise<void> {
    let exists = true;
    try {
      await this.jsm.streams.info(cfg.name);
    } catch (err) {
      if (!/not found/i.test((err as Error).message)) throw err;
      exists = false;
    }
    if (!exists) {
      try {
        await this.jsm.streams.add(cfg);
        return;
      } catch (err) {
        // Another replica (or a node daemon running on its own) created it meanwhile.
        if (!/already in use|exists/i.test((err as Error).message)) throw err;
      }
    }
    const { name, ...rest } = cfg;
    try {
      await this.jsm.streams.update(name, rest);
    } catch (err) {
      this.logger.warn(`Stream ${name} exists with settings that cannot be changed to ours (${(err as Error).message}); using it as it is`);
    }
  }

  /** Create a durable consumer, or bring an existing one (e.g. made by a daemon on its own) to our settings. */
  private async ensureConsumer(stream: string, cfg: ConsumerDefinition): Promise<void> {
    try {
      await this.jsm.consumers.add(stream, cfg);
    } catch (err) {
      if (!/already exists|exists/i.test((err as Error).message)) throw err;
      const { durable_name } = cfg;
      try {
        await this.jsm.consumers.update(stream, durable_name, changeableConsumerFields(cfg));
      } catch (err2) {
        this.logger.warn(`Consumer ${durable_name} on ${stream} exists with other settings (${(err2 as Error).message}); using it as it is`);
      }
    }
  }

  /** The durable consumer a node daemon reads its commands from. Idempotent. */
  async ensureNodeConsumer(nodeId: string): Promise<void> {
    await this.ensureConsumer(this.subjects.commandStream, nodeConsumerDefinition(this.subjects, nodeId));
  }

  /** Drop a deleted node's command consumer (and with it any commands it never took). */
  async removeNodeConsumer(nodeId: string): Promise<void> {
    try {
      await this.jsm.consumers.delete(this.subjects.commandStream, this.subjects.nodeConsumer(nodeId));
    } catch (err) {
      if (!/not found/i.test((err as Error).message)) this.logger.warn(`Removing the consumer of node ${nodeId} failed: ${(err as Error).message}`);
    }
  }

  /**
   * Take back a node's commands that are still in the command stream (the node has not acknowledged them,
   * delivered or not): every message on `subject` whose payload `match`es is deleted. nats-server then drops
   * it from the node's consumer at once (checked on 2.9.10: its ack-pending count falls to 0 and it is never
   * redelivered), so a daemon that comes back never runs it. How many were taken back.
   */
  async withdrawCommands(subject: string, match: (payload: unknown) => boolean): Promise<number> {
    let withdrawn = 0;
    await this.walkCommands(subject, async (msg, payload) => {
      if (match(payload) && (await this.jsm.streams.deleteMessage(this.subjects.commandStream, msg.seq, false))) withdrawn++;
    });
    return withdrawn;
  }

  /**
   * Hand a node's unacknowledged commands that `match` to its consumer again at once: each is published anew (same
   * subject and payload, `Nats-Msg-Id` `<old>:again:<tag>`, in their old order) and only then deleted, so a failure
   * in between leaves two copies (the daemon runs a task's attempt once: finished-tasks.ts) and never none. For a
   * restarted daemon, whose dead process held them until the consumer's 60 s ack wait. How many were handed over.
   */
  async redeliverCommands(subject: string, match: (payload: unknown) => boolean, tag: string): Promise<number> {
    const stream = this.subjects.commandStream;
    const found: StoredMsg[] = [];
    await this.walkCommands(subject, async (msg, payload) => {
      if (match(payload)) found.push(msg);
    });
    found.sort((a, b) => a.seq - b.seq);
    for (const msg of found) {
      const id = msg.header?.get('Nats-Msg-Id') || `seq-${msg.seq}`;
      await this.js.publish(msg.subject, msg.data, { msgID: `${id}:again:${tag}`.slice(0, 200), timeout: 5000 });
      await this.jsm.streams.deleteMessage(stream, msg.seq, false);
    }
    return found.length;
  }

  /**
   * Every message on `subject` in the command stream, up to the stream's last sequence when the walk began: a queue
   * that keeps growing (or the copies {@link redeliverCommands} publishes) cannot keep it going, and no fixed cap
   * cuts off a long backlog (it used to stop after 10,000 messages). nats-server 2.9 answers one message per get
   * (no batched get), so the sequence range is cut into {@link WALK_PAGES} pages walked side by side, each one get
   * per message of `subject` in it (next_by_subj skips the rest). A message removed meanwhile (acknowledged,
   * deleted) is simply not seen. `visit` may run for several pages at once.
   */
  private async walkCommands(subject: string, visit: (msg: StoredMsg, payload: unknown) => Promise<void>): Promise<void> {
    const stream = this.subjects.commandStream;
    const { state } = await this.jsm.streams.info(stream);
    const first = Math.max(1, state.first_seq);
    const last = state.last_seq;
    if (last < first) return;
    const size = Math.ceil((last - first + 1) / WALK_PAGES);
    const pages: Promise<void>[] = [];
    for (let from = first; from <= last; from += size) {
      const to = Math.min(last, from + size - 1);
      pages.push((async () => {
        for (let seq = from; seq <= to; ) {
          // STREAM.MSG.GET takes next_by_subj (nats-server 2.9+); this client types it only for direct gets
          const msg = await this.jsm.streams.getMessage(stream, { next_by_subj: subject, seq } as unknown as { seq: number });
          if (!msg || msg.seq > to) break;
          let payload: unknown = null;
          try {
            payload = msg.json();
          } catch {
            // not ours to judge: left alone
          }
          await visit(msg, payload);
          seq = msg.seq + 1;
        }
      })());
    }
    await Promise.all(pages);
  }

  /** The API's durable event consumer. Idempotent. */
  async ensureEventConsumer(): Promise<void> {
    await this.ensureConsumer(this.subjects.eventStream, apiEventConsumerDefinition(this.subjects));
  }

  async isUp(timeoutMs = 1000): Promise<boolean> {
    const nc = this.connection;
    if (!nc || nc.isClosed()) return false;
    try {
      await Promise.race([nc.flush(), new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), timeoutMs).unref())]);
      return true;
    } catch {
      return false;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    const nc = this.connection;
    this.connection = null;
    if (nc && !nc.isClosed()) {
      try {
        await nc.drain();
      } catch {
        await nc.close();
      }
    }
  }
}
