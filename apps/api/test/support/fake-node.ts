import { jetstream, type ConsumerMessages, type JetStreamClient } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  IMAGE_VERIFY_OP, ImageVerifyCommandSchema, ORPHAN_DESTROY, OrphanDestroyCommandSchema, parseNodeCommand, STORE_DELETE_OP, StoreDeleteCommandSchema, subjects, WIRE_VERSION,
  type EventKind, type ImageVerifyCommand, type NodeCommand, type OrphanDestroyCommand, type OrphanOutcome, type StoreDeleteCommand, type Subjects,
} from '@oblako/contracts';
import { TEST_NATS_URL } from '@oblako/testing';

export interface FakeOutcome {
  ok: boolean;
  error?: { code: string; message: string };
  domainState?: 'running' | 'shutoff' | 'paused' | 'missing';
  /** The result's `output` (e.g. a snapshot's bytes). */
  output?: Record<string, number | string | boolean>;
}

/**
 * Stands in for a node daemon: reads the node's commands from its durable consumer, checks them
 * against the contract, and answers with contract events (progress, then result).
 */
export class FakeNode {
  readonly received: NodeCommand[] = [];
  /** Orphan commands (`orphan_destroy`) received; each is answered with an `orphan.report` of {@link orphanOutcome}. */
  readonly orphans: OrphanDestroyCommand[] = [];
  orphanOutcome: OrphanOutcome = 'destroyed';
  /** The `store_delete` commands this node received; each is answered with {@link storeDeleteAnswer} (null: no answer). */
  readonly storeDeletes: StoreDeleteCommand[] = [];
  storeDeleteAnswer: { ok: boolean; reason?: string } | null = { ok: true };
  /** The `image_verify` commands this node received. */
  readonly imageRequests: ImageVerifyCommand[] = [];
  /** How it answers them (`image.state`): by default every image checks out; null leaves a request unanswered. */
  imageAnswer: (cmd: ImageVerifyCommand) => { ok: boolean; reason?: string; virtualBytes?: number } | null = () => ({ ok: true });
  private messages: ConsumerMessages | null = null;
  private loop: Promise<void> = Promise.resolve();

  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly s: Subjects,
    readonly nodeId: string,
    private readonly decide: (cmd: NodeCommand) => FakeOutcome | null,
  ) {}

  static async start(prefix: string, nodeId: string, decide: (cmd: NodeCommand) => FakeOutcome | null = defaultOutcome, natsUrl = TEST_NATS_URL): Promise<FakeNode> {
    const nc = await connect({ servers: natsUrl, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
    const node = new FakeNode(nc, jetstream(nc), subjects(prefix), nodeId, decide);
    const consumer = await node.js.consumers.get(node.s.commandStream, node.s.nodeConsumer(nodeId));
    node.messages = await consumer.consume({ max_messages: 100 });
    const messages = node.messages;
    node.loop = (async () => {
      for await (const msg of messages) {
        if (node.s.parse(msg.subject)?.name === ORPHAN_DESTROY) {
          const o = OrphanDestroyCommandSchema.safeParse(msg.json());
          if (o.success) {
            node.orphans.push(o.data);
            await node.publish(node.nodeId, 'orphan.report', {
              v: WIRE_VERSION, nodeId: node.nodeId, serverId: o.data.serverId, outcome: node.orphanOutcome, message: `fake node: ${node.orphanOutcome}`, at: Date.now(),
            });
          }
          msg.ack();
          continue;
        }
        if (node.s.parse(msg.subject)?.name === STORE_DELETE_OP) {
          const d = StoreDeleteCommandSchema.safeParse(msg.json());
          if (d.success) {
            node.storeDeletes.push(d.data);
            const a = node.storeDeleteAnswer;
            if (a) await node.publish(node.nodeId, 'backup.store_deleted', { v: WIRE_VERSION, requestId: d.data.requestId, nodeId: node.nodeId, backupId: d.data.backup.id, ok: a.ok, ...(a.reason ? { reason: a.reason } : {}), at: Date.now() });
          }
          msg.ack();
          continue;
        }
        if (node.s.parse(msg.subject)?.name === IMAGE_VERIFY_OP) {
          await node.answerImage(msg.json());
          msg.ack();
          continue;
        }
        const parsed = parseNodeCommand(msg.json());
        if (!parsed.ok) {
          msg.term();
          continue;
        }
        const cmd = parsed.command;
        node.received.push(cmd);
        const outcome = node.decide(cmd);
        if (outcome) await node.answer(cmd, outcome);
        msg.ack();
      }
    })();
    return node;
  }

  async answer(cmd: Pick<NodeCommand, 'taskId' | 'serverId' | 'op'> & { attempt?: number }, outcome: FakeOutcome, asNode = this.nodeId): Promise<void> {
    const receivedAt = Date.now();
    await this.publish(asNode, 'task.progress', { v: WIRE_VERSION, taskId: cmd.taskId, serverId: cmd.serverId, nodeId: asNode, stage: 'define', progress: 50, at: Date.now() });
    const result = {
      v: WIRE_VERSION, taskId: cmd.taskId, serverId: cmd.serverId, nodeId: asNode, ...(cmd.attempt ? { attempt: cmd.attempt } : {}), op: cmd.op, ok: outcome.ok, error: outcome.error,
      domainState: outcome.domainState ?? (cmd.op === 'stop' ? 'shutoff' : cmd.op === 'delete' ? 'missing' : 'running'),
      ...(outcome.output ? { output: outcome.output } : {}),
      timings: { receivedAt, hypervisorStartedAt: receivedAt + 0.1, hypervisorDoneAt: receivedAt + 0.5, finishedAt: Date.now(), steps: { define: 0.2, start: 0.2 } },
      at: Date.now(),
    };
    await this.publish(asNode, 'task.result', result);
  }

  private async answerImage(raw: unknown): Promise<void> {
    const parsed = ImageVerifyCommandSchema.safeParse(raw);
    if (!parsed.success) return;
    const cmd = parsed.data;
    this.imageRequests.push(cmd);
    const a = this.imageAnswer(cmd);
    if (!a) return;
    await this.publish(this.nodeId, 'image.state', { v: WIRE_VERSION, requestId: cmd.requestId, nodeId: this.nodeId, imageId: cmd.imageId, sha256: cmd.sha256, ok: a.ok, ...(a.reason ? { reason: a.reason } : {}), ...(a.virtualBytes !== undefined ? { virtualBytes: a.virtualBytes } : {}), at: Date.now() });
  }

  /** A heartbeat of this node (no domains), as its daemon sends one every few seconds. */
  async heartbeat(): Promise<void> {
    const hb = { v: WIRE_VERSION, nodeId: this.nodeId, at: Date.now(), daemonVersion: 'fake', hypervisor: 'fake', capacity: { vcpus: 8, memoryMiB: 16384, diskGiB: 200 }, domains: [] };
    this.nc.publish(this.s.nodeHeartbeat(this.nodeId), JSON.stringify(hb));
    await this.nc.flush();
  }

  async publish(subjectNode: string, kind: string, payload: unknown): Promise<void> {
    await this.js.publish(this.s.nodeEvent(subjectNode, kind as EventKind), JSON.stringify(payload));
  }

  async stop(): Promise<void> {
    await this.messages?.close().catch(() => undefined);
    await this.loop.catch(() => undefined);
    await this.nc.close();
  }
}

function defaultOutcome(): FakeOutcome {
  return { ok: true };
}
