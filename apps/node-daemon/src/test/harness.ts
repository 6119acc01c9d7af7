import { randomUUID } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { subjects as makeSubjects, WIRE_VERSION, type NodeCommandInput, type ServerSpec, type Subjects } from '@oblako/contracts';
import { TEST_NATS_URL, uniqueName, uniqueSubjectPrefix, waitFor } from '@oblako/testing';
import { defineConfig, type DaemonConfig } from '../config.js';
import { startDaemon, type DaemonDeps, type DaemonHandle } from '../daemon.js';
import { silentLogger } from '../log.js';

export interface Received {
  subject: string;
  kind: string;
  data: Record<string, unknown>;
}

/** Real NATS with a prefix of its own, a daemon in-process and a subscriber that records every event. */
export class Harness {
  readonly events: Received[] = [];
  daemon!: DaemonHandle;
  nc!: NatsConnection;
  js!: JetStreamClient;
  jsm!: JetStreamManager;
  s!: Subjects;
  nodeId = uniqueName('n');
  config!: DaemonConfig;

  /** `eventStream`: create the JetStream event stream first, as the API does (events then confirmed by JetStream). */
  static async start(
    overrides: Partial<DaemonConfig> = {},
    deps: DaemonDeps = {},
    opts: { eventStream?: boolean; beforeDaemon?: (h: Harness) => Promise<void> } = {},
  ): Promise<Harness> {
    const h = new Harness();
    h.config = defineConfig({
      nodeId: h.nodeId,
      natsUrl: TEST_NATS_URL,
      subjectPrefix: uniqueSubjectPrefix(),
      heartbeatIntervalMs: 250,
      logLevel: 'warn',
      ...overrides,
    });
    h.s = makeSubjects(h.config.subjectPrefix);
    h.nc = await connect({ servers: TEST_NATS_URL });
    h.js = jetstream(h.nc);
    h.jsm = await jetstreamManager(h.nc);
    if (opts.eventStream) await h.jsm.streams.add({ name: h.s.eventStream, subjects: [h.s.allEvents()] });
    const sub = h.nc.subscribe(`${h.config.subjectPrefix}.node.${h.nodeId}.>`);
    (async () => {
      for await (const m of sub) {
        const parsed = h.s.parse(m.subject);
        let data: Record<string, unknown>;
        try {
          data = m.json();
        } catch {
          data = { raw: m.string() };
        }
        h.events.push({ subject: m.subject, kind: parsed?.channel === 'hb' ? 'hb' : (parsed?.name ?? '?'), data });
      }
    })().catch(() => undefined);
    await h.nc.flush();
    await opts.beforeDaemon?.(h);
    h.daemon = await startDaemon(h.config, { logger: silentLogger, ...deps });
    return h;
  }

  async publish(cmd: NodeCommandInput | Record<string, unknown>, op = String((cmd as { op?: unknown }).op)): Promise<void> {
    await this.js.publish(this.s.nodeCommand(this.nodeId, op), JSON.stringify(cmd));
  }

  async publishRaw(op: string, data: string): Promise<void> {
    await this.js.publish(this.s.nodeCommand(this.nodeId, op), data);
  }

  results(taskId: string): Received[] {
    return this.events.filter((e) => e.kind === 'task.result' && e.data.taskId === taskId);
  }

  async result(taskId: string, timeoutMs = 10_000): Promise<Record<string, unknown>> {
    return (await waitFor(`task.result of ${taskId}`, () => this.results(taskId)[0], { timeoutMs, intervalMs: 5 })).data;
  }

  async stop(): Promise<void> {
    await this.daemon.stop().catch(() => undefined);
    await this.jsm.streams.delete(this.s.commandStream).catch(() => undefined);
    await this.jsm.streams.delete(this.s.eventStream).catch(() => undefined);
    await this.nc.drain().catch(() => undefined);
  }
}

export function spec(over: Partial<ServerSpec> = {}): ServerSpec {
  return {
    serverId: randomUUID(),
    hostname: 'web-1.example.com',
    vcpus: 2,
    memoryMiB: 256,
    diskGiB: 1,
    cpuQuotaPercent: 50,
    cpuShares: 1024,
    diskIops: 500,
    diskMBps: 50,
    netMbit: 100,
    image: {
      id: randomUUID(),
      name: 'test',
      url: 'file:///nonexistent.qcow2',
      sha256: 'a'.repeat(64),
      format: 'qcow2',
      cloudInit: 'nocloud',
    },
    addresses: [{ family: 4, address: '10.99.0.5', prefix: 32, gateway: '10.99.0.1' }],
    sshKeys: [],
    ...over,
  };
}

export function command(nodeId: string, op: string, serverId: string, extra: Record<string, unknown> = {}): NodeCommandInput {
  return {
    v: WIRE_VERSION,
    taskId: randomUUID(),
    serverId,
    nodeId,
    attempt: 1,
    issuedAt: Date.now(),
    op,
    ...extra,
  } as NodeCommandInput;
}
