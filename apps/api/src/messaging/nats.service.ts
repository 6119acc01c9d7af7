import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
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
    const stream = this.subjects.commandStream;
    let withdrawn = 0;
    // a work queue holds only what its nodes have not acknowledged: a node's backlog, a short walk
    for (let seq = 1, i = 0; i < 10_000; i++) {
      // STREAM.MSG.GET takes next_by_subj (nats-server 2.9+); this client types it only for direct gets
      const msg = await this.jsm.streams.getMessage(stream, { next_by_subj: subject, seq } as unknown as { seq: number });
      if (!msg) break;
      let payload: unknown = null;
      try {
        payload = msg.json();
      } catch {
        // not ours to judge: left alone
      }
      if (match(payload) && (await this.jsm.streams.deleteMessage(stream, msg.seq, false))) withdrawn++;
      seq = msg.seq + 1;
    }
    return withdrawn;
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
