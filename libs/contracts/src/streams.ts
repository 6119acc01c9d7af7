import type { Subjects } from './subjects.js';

/**
 * The JetStream layout, defined once for the API and every node daemon. Plain data in JetStream's
 * own wire format (field names as the server's JSON API spells them, durations in nanoseconds), so
 * either side passes a definition straight to `jsm.streams.add()` / `jsm.consumers.add()` without
 * this library importing a NATS client.
 *
 * Durability (deliberate):
 * - Both streams use file storage. Replicas come from configuration (1 on a single nats-server, 3 on
 *   a three-node cluster); `STREAM_REPLICAS_MAX` is the most JetStream allows.
 * - Commands: a work queue (a message is gone once its node acks it), kept at most 7 days, with a
 *   2-minute duplicate window so a relay retry with the same `Nats-Msg-Id` (= task id) is stored once.
 * - Events: limits retention, 7 days, the same duplicate window; the API reads them with one durable
 *   consumer and explicit acks.
 * - A node's command consumer: explicit ack, 60 s ack wait (the daemon sends "working" every
 *   `COMMAND_KEEPALIVE_MS` while a command runs, so only a frozen or dead daemon lets it expire),
 *   20 deliveries, 1000 unacknowledged at most.
 */
export const NS_PER_MS = 1_000_000;
const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;

/** What the streams and consumers are set to, in milliseconds (the definitions below turn them into nanoseconds). */
export const STREAM_SETTINGS = {
  commands: { retention: 'workqueue', storage: 'file', maxAgeMs: 7 * DAY_MS, duplicateWindowMs: 2 * MINUTE_MS },
  events: { retention: 'limits', storage: 'file', maxAgeMs: 7 * DAY_MS, duplicateWindowMs: 2 * MINUTE_MS },
  nodeConsumer: { ackWaitMs: 60_000, maxDeliver: 20, maxAckPending: 1000 },
  apiEventConsumer: { ackWaitMs: 30_000, maxDeliver: 50, maxAckPending: 2000 },
} as const;

/** How often a daemon tells JetStream it is still working on a command (well inside the ack wait). */
export const COMMAND_KEEPALIVE_MS = 10_000;

export const STREAM_REPLICAS_DEFAULT = 1;
export const STREAM_REPLICAS_MAX = 5;

export interface StreamDefinition {
  name: string;
  subjects: string[];
  retention: 'workqueue' | 'limits';
  storage: 'file';
  num_replicas: number;
  /** nanoseconds */
  max_age: number;
  /** nanoseconds */
  duplicate_window: number;
}

export interface ConsumerDefinition {
  durable_name: string;
  filter_subject: string;
  ack_policy: 'explicit';
  deliver_policy: 'all';
  /** nanoseconds */
  ack_wait: number;
  max_deliver: number;
  max_ack_pending: number;
}

export interface StreamOptions {
  /** Replicas of each stream (1 on one nats-server, 3 on a three-node cluster). */
  replicas?: number;
}

/** A problem with a replica count, or null when it is usable. */
export function streamReplicasProblem(replicas: number): string | null {
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > STREAM_REPLICAS_MAX) {
    return `stream replicas must be a whole number from 1 to ${STREAM_REPLICAS_MAX} (1 on one nats-server, 3 on a three-server cluster), got ${replicas}`;
  }
  return null;
}

function replicasOf(opts: StreamOptions): number {
  const r = opts.replicas ?? STREAM_REPLICAS_DEFAULT;
  const problem = streamReplicasProblem(r);
  if (problem) throw new Error(problem);
  return r;
}

export function commandStreamDefinition(s: Subjects, opts: StreamOptions = {}): StreamDefinition {
  const c = STREAM_SETTINGS.commands;
  return {
    name: s.commandStream,
    subjects: [s.allCommands()],
    retention: c.retention,
    storage: c.storage,
    num_replicas: replicasOf(opts),
    max_age: c.maxAgeMs * NS_PER_MS,
    duplicate_window: c.duplicateWindowMs * NS_PER_MS,
  };
}

export function eventStreamDefinition(s: Subjects, opts: StreamOptions = {}): StreamDefinition {
  const c = STREAM_SETTINGS.events;
  return {
    name: s.eventStream,
    subjects: [s.allEvents()],
    retention: c.retention,
    storage: c.storage,
    num_replicas: replicasOf(opts),
    max_age: c.maxAgeMs * NS_PER_MS,
    duplicate_window: c.duplicateWindowMs * NS_PER_MS,
  };
}

/** The durable pull consumer a node daemon reads its own commands from (on the command stream). */
export function nodeConsumerDefinition(s: Subjects, nodeId: string): ConsumerDefinition {
  const c = STREAM_SETTINGS.nodeConsumer;
  return {
    durable_name: s.nodeConsumer(nodeId),
    filter_subject: s.nodeCommands(nodeId),
    ack_policy: 'explicit',
    deliver_policy: 'all',
    ack_wait: c.ackWaitMs * NS_PER_MS,
    max_deliver: c.maxDeliver,
    max_ack_pending: c.maxAckPending,
  };
}

/** The API's durable consumer of every node's events (on the event stream). */
export function apiEventConsumerDefinition(s: Subjects): ConsumerDefinition {
  const c = STREAM_SETTINGS.apiEventConsumer;
  return {
    durable_name: s.apiEventConsumer,
    filter_subject: s.allEvents(),
    ack_policy: 'explicit',
    deliver_policy: 'all',
    ack_wait: c.ackWaitMs * NS_PER_MS,
    max_deliver: c.maxDeliver,
    max_ack_pending: c.maxAckPending,
  };
}

/** The fields of a consumer definition that JetStream lets an existing durable change. */
export function changeableConsumerFields(d: ConsumerDefinition): Pick<ConsumerDefinition, 'ack_wait' | 'max_deliver' | 'max_ack_pending'> {
  return { ack_wait: d.ack_wait, max_deliver: d.max_deliver, max_ack_pending: d.max_ack_pending };
}

/**
 * `NATS_URL` as a list of servers: one URL, or several separated by commas (the servers of a NATS
 * cluster; the client connects to any and fails over to the others). Blank entries are dropped.
 */
export function natsServerList(url: string): string[] {
  return url
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** Why `url` (one NATS URL or a comma-separated list) is unusable, or null. `name` is the setting named in the sentence. */
export function natsUrlProblem(name: string, url: string): string | null {
  const list = natsServerList(url);
  if (list.length === 0) return `${name} is empty: give nats://host:port, or several separated by commas for a cluster`;
  for (const one of list) {
    let ok = /^[A-Za-z0-9.-]+:\d{1,5}$/.test(one);
    if (!ok) {
      try {
        const u = new URL(one);
        ok = ['nats:', 'tls:', 'ws:', 'wss:'].includes(u.protocol) && u.hostname.length > 0;
      } catch {
        ok = false;
      }
    }
    if (!ok) return `${name}: "${one}" is not a NATS server URL (nats://host:port, tls://, ws:// or wss://; comma-separated for several)`;
  }
  return null;
}
