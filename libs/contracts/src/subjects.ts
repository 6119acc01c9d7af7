import { consoleNodePermissions } from './console.js';

/**
 * NATS subjects and JetStream names. Every name derives from one prefix so that
 * deployments (and test runs) never collide: `oblako.node.<nodeId>.cmd.<op>` etc.
 */
const TOKEN = /^[A-Za-z0-9_-]+$/;

function token(kind: string, value: string): string {
  if (!TOKEN.test(value)) throw new Error(`${kind} "${value}" may contain only letters, digits, "-" and "_"`);
  return value;
}

export interface Subjects {
  readonly prefix: string;
  /** Commands for one node, one subject per op. */
  nodeCommand(nodeId: string, op: string): string;
  /** Wildcard a node's durable consumer filters on. */
  nodeCommands(nodeId: string): string;
  /** Events from one node, one subject per kind. */
  nodeEvent(nodeId: string, kind: EventKind): string;
  /** Heartbeat with capacity and domain states. */
  nodeHeartbeat(nodeId: string): string;
  /** Request/reply at daemon start-up: do the two sides speak the same wire version? (`wire.ts`) */
  nodeHello(nodeId: string): string;
  allHellos(): string;
  allCommands(): string;
  allEvents(): string;
  allHeartbeats(): string;
  /** Stream of commands (work queue). */
  readonly commandStream: string;
  /** Stream of events from all nodes. */
  readonly eventStream: string;
  /** Durable consumer name of a node's command consumer. */
  nodeConsumer(nodeId: string): string;
  /** Durable consumer name of the API's event consumer. */
  readonly apiEventConsumer: string;
  /** Parse `<prefix>.node.<nodeId>.<evt|hb>...` into its parts, or null. */
  parse(subject: string): { nodeId: string; channel: 'cmd' | 'evt' | 'hb' | 'hello'; name: string | null } | null;
}

export const EventKind = {
  TaskProgress: 'task.progress',
  TaskResult: 'task.result',
  DomainState: 'domain.state',
  /** A command in a wire version the daemon does not speak, refused unexecuted (`WireRefusalSchema`). */
  WireRefused: 'wire.refused',
  /** Usage samples of the node's servers (`UsageEventSchema`, usage.ts). */
  Usage: 'usage',
  /** What a node did with a domain it was told is an orphan (`OrphanReportSchema`, orphans.ts). */
  OrphanReport: 'orphan.report',
  /** A node's answer to `image_verify`: an image fetched and checked, or why not (`ImageStateEventSchema`, images.ts). */
  ImageState: 'image.state',
  /** A node's download of an image it was asked to verify, under way: bytes so far and the total (`ImageProgressEventSchema`, images.ts). */
  ImageProgress: 'image.progress',
  /** A node's answer to `store_delete`: a deleted server's backup removed from its store, or why not (backup-store-delete.ts). */
  StoreDeleted: 'backup.store_deleted',
} as const;
export type EventKind = (typeof EventKind)[keyof typeof EventKind];

export function subjects(prefix = 'oblako'): Subjects {
  for (const part of prefix.split('.')) token('subject prefix part', part);
  const streamBase = prefix.replace(/[.]/g, '_').toUpperCase();
  const base = `${prefix}.node`;
  return {
    prefix,
    nodeCommand: (nodeId, op) => `${base}.${token('node id', nodeId)}.cmd.${token('op', op)}`,
    nodeCommands: (nodeId) => `${base}.${token('node id', nodeId)}.cmd.>`,
    nodeEvent: (nodeId, kind) => `${base}.${token('node id', nodeId)}.evt.${kind}`,
    nodeHeartbeat: (nodeId) => `${base}.${token('node id', nodeId)}.hb`,
    nodeHello: (nodeId) => `${base}.${token('node id', nodeId)}.hello`,
    allHellos: () => `${base}.*.hello`,
    allCommands: () => `${base}.*.cmd.>`,
    allEvents: () => `${base}.*.evt.>`,
    allHeartbeats: () => `${base}.*.hb`,
    commandStream: `${streamBase}_COMMANDS`,
    eventStream: `${streamBase}_EVENTS`,
    nodeConsumer: (nodeId) => `node-${token('node id', nodeId)}`,
    apiEventConsumer: 'api-events',
    parse(subject) {
      if (!subject.startsWith(`${base}.`)) return null;
      const rest = subject.slice(base.length + 1).split('.');
      const [nodeId, channel, ...name] = rest;
      if (!nodeId || (channel !== 'cmd' && channel !== 'evt' && channel !== 'hb' && channel !== 'hello')) return null;
      return { nodeId, channel, name: name.length ? name.join('.') : null };
    },
  };
}

/** Inbox prefix a node uses for replies, so that its NATS user may subscribe to its own inboxes only. */
export function nodeInboxPrefix(nodeId: string): string {
  return `_INBOX_${token('node id', nodeId)}`;
}

export interface NatsPermissions {
  publish: string[];
  subscribe: string[];
}

/**
 * What a node's NATS user may do: pull and ack its own commands, read the definitions it
 * checks at start-up, publish its own events and heartbeat, and receive replies on its own
 * inbox, and serve its own console sessions (console.ts). Nothing of any other node, nor of the API.
 */
export function natsNodePermissions(s: Subjects, nodeId: string): NatsPermissions {
  const consumer = s.nodeConsumer(nodeId);
  const consoles = consoleNodePermissions(s, nodeId);
  return {
    publish: [
      '$JS.API.INFO',
      `$JS.API.STREAM.INFO.${s.commandStream}`,
      `$JS.API.STREAM.INFO.${s.eventStream}`,
      `$JS.API.CONSUMER.INFO.${s.commandStream}.${consumer}`,
      `$JS.API.CONSUMER.MSG.NEXT.${s.commandStream}.${consumer}`,
      `$JS.ACK.${s.commandStream}.${consumer}.>`,
      `${s.prefix}.node.${nodeId}.evt.>`,
      s.nodeHeartbeat(nodeId),
      ...consoles.publish,
      s.nodeHello(nodeId),
    ],
    subscribe: [`${nodeInboxPrefix(nodeId)}.>`, ...consoles.subscribe],
  };
}
