import { z } from 'zod';
import type { Subjects } from './subjects.js';

/**
 * Consoles: the wire contract between the API's console relay and a node daemon.
 *
 * The bytes of one console session travel over the NATS link the node already has (authenticated,
 * outbound from the node; no port opens on the node). Per node, under `<prefix>.node.<node>.con`:
 *   `open`                   API → node  JSON ConsoleOpen (the daemon subscribes)
 *   `<session>.in`           API → node  raw bytes for the guest (keys, mouse, RFB client messages)
 *   `<session>.ctl.api`      API → node  JSON ConsoleApiControl (ack of bytes written, ping, close)
 *   `<session>.out`          node → API  raw bytes from the guest
 *   `<session>.ctl.node`     node → API  JSON ConsoleNodeControl (opened, closed with a reason)
 * The API subscribes to `.out` and `.ctl.node` before it publishes `open`, so nothing is lost and
 * the node needs no right to reply to the API's inbox.
 *
 * Flow control: the node stops reading the guest's socket while more than `window` bytes it sent
 * are not yet acknowledged by the API (which acknowledges once the browser's socket took them), so
 * neither NATS nor the API ever buffers more than a window per session, whatever the guest prints.
 */
export const ConsoleKind = { Vnc: 'vnc', Serial: 'serial' } as const;
export type ConsoleKind = (typeof ConsoleKind)[keyof typeof ConsoleKind];
export const CONSOLE_KINDS: readonly ConsoleKind[] = [ConsoleKind.Vnc, ConsoleKind.Serial];

/** Why a console session ended; the panel shows a sentence for each. */
export const ConsoleCloseReason = {
  /** The browser (or the API's client) closed it. */
  ClientClosed: 'client_closed',
  /** A second session of the same kind took over this server's console. */
  TakenOver: 'taken_over',
  /** The server stopped, was suspended, paused or deleted. */
  ServerStopped: 'server_stopped',
  /** Nothing was typed or shown for the idle time. */
  Idle: 'idle',
  /** The user lost access to the server (membership removed, role changed, server moved away). */
  AccessLost: 'access_lost',
  /** The guest's console socket is not there (the server is not running on this node). */
  NotRunning: 'not_running',
  /** The node or the relay failed (node unreachable, lost bytes, protocol error). */
  RelayError: 'relay_error',
  /** The API replica relaying it is shutting down. */
  Shutdown: 'shutdown',
} as const;
export type ConsoleCloseReason = (typeof ConsoleCloseReason)[keyof typeof ConsoleCloseReason];

/** Plain sentences for each reason (the WebSocket close frame carries the reason and this text). */
export const CONSOLE_CLOSE_MESSAGES: Readonly<Record<ConsoleCloseReason, string>> = {
  client_closed: 'The console was closed.',
  taken_over: 'Another console session of this server took over; this one was closed.',
  server_stopped: 'The server is no longer running, so its console closed.',
  idle: 'The console was idle for too long and closed; open it again to continue.',
  access_lost: 'You no longer have access to this server.',
  not_running: 'The server is not running on its node; start it first.',
  relay_error: 'The connection to the server’s node failed; open the console again.',
  shutdown: 'The API is restarting; open the console again.',
};

/** WebSocket close codes (4000-4999 are the application's own). */
export const CONSOLE_WS_CLOSE_CODES: Readonly<Record<ConsoleCloseReason | 'ticket_refused', number>> = {
  client_closed: 1000,
  taken_over: 4001,
  server_stopped: 4002,
  idle: 4003,
  access_lost: 4004,
  not_running: 4005,
  relay_error: 4006,
  shutdown: 4007,
  ticket_refused: 4401,
};

/** Session ids are 128 random bits in hex: unguessable, and a valid NATS subject token. */
export const CONSOLE_SESSION_ID = /^[0-9a-f]{32}$/;
/** Largest chunk of bytes in one NATS message (the node reads the guest's socket in chunks up to this). */
export const CONSOLE_CHUNK_BYTES = 64 * 1024;
/** Bytes the node may have in flight per session before it waits for the API's acknowledgement. */
export const CONSOLE_WINDOW_BYTES = 512 * 1024;
/** The API pings every session this often; the node closes a session it has not heard of for 3 pings. */
export const CONSOLE_PING_MS = 10_000;
/** Recent serial output (from the serial log) the node sends first when a serial session opens. */
export const CONSOLE_SERIAL_REPLAY_BYTES = 16 * 1024;

export const ConsoleOpenSchema = z.object({
  v: z.literal(1),
  sessionId: z.string().regex(CONSOLE_SESSION_ID),
  serverId: z.uuid(),
  kind: z.enum(['vnc', 'serial']),
  /** Send the tail of the serial log first (serial only). */
  replay: z.boolean().default(true),
});
export type ConsoleOpen = z.infer<typeof ConsoleOpenSchema>;

export const ConsoleApiControlSchema = z.discriminatedUnion('type', [
  /** Total bytes of `.out` the API has passed on so far (monotonic). */
  z.object({ type: z.literal('ack'), bytes: z.number().int().min(0) }),
  z.object({ type: z.literal('ping') }),
  z.object({ type: z.literal('close'), reason: z.string().max(64) }),
]);
export type ConsoleApiControl = z.infer<typeof ConsoleApiControlSchema>;

export const ConsoleNodeControlSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('opened'), window: z.number().int().min(1) }),
  z.object({ type: z.literal('closed'), reason: z.enum(Object.values(ConsoleCloseReason) as [ConsoleCloseReason, ...ConsoleCloseReason[]]), message: z.string().max(500).optional() }),
]);
export type ConsoleNodeControl = z.infer<typeof ConsoleNodeControlSchema>;

const TOKEN = /^[A-Za-z0-9_-]+$/;
function tok(what: string, v: string): string {
  if (!TOKEN.test(v)) throw new Error(`${what} "${v}" may contain only letters, digits, "-" and "_"`);
  return v;
}

/** The console subjects of one node. */
export interface ConsoleSubjects {
  open: string;
  in(sessionId: string): string;
  out(sessionId: string): string;
  apiControl(sessionId: string): string;
  nodeControl(sessionId: string): string;
  /** Wildcards the daemon subscribes to. */
  allIn: string;
  allApiControl: string;
  /** Parse `<base>.<session>.<in|ctl.api>` into the session id and channel, or null. */
  parse(subject: string): { sessionId: string; channel: 'in' | 'out' | 'ctl.api' | 'ctl.node' } | null;
}

export function consoleSubjects(s: Subjects, nodeId: string): ConsoleSubjects {
  const base = `${s.prefix}.node.${tok('node id', nodeId)}.con`;
  const sid = (id: string) => {
    if (!CONSOLE_SESSION_ID.test(id)) throw new Error(`console session id "${id.slice(0, 40)}" is not 32 hex digits`);
    return id;
  };
  return {
    open: `${base}.open`,
    in: (id) => `${base}.${sid(id)}.in`,
    out: (id) => `${base}.${sid(id)}.out`,
    apiControl: (id) => `${base}.${sid(id)}.ctl.api`,
    nodeControl: (id) => `${base}.${sid(id)}.ctl.node`,
    allIn: `${base}.*.in`,
    allApiControl: `${base}.*.ctl.api`,
    parse(subject) {
      if (!subject.startsWith(`${base}.`)) return null;
      const [id, ...rest] = subject.slice(base.length + 1).split('.');
      const channel = rest.join('.');
      if (!id || !CONSOLE_SESSION_ID.test(id)) return null;
      if (channel !== 'in' && channel !== 'out' && channel !== 'ctl.api' && channel !== 'ctl.node') return null;
      return { sessionId: id, channel };
    },
  };
}

/** What a node's NATS user may do for consoles (added to natsNodePermissions). */
export function consoleNodePermissions(s: Subjects, nodeId: string): { publish: string[]; subscribe: string[] } {
  const c = consoleSubjects(s, nodeId);
  const base = c.open.slice(0, -'.open'.length);
  return {
    publish: [`${base}.*.out`, `${base}.*.ctl.node`],
    subscribe: [c.open, c.allIn, c.allApiControl],
  };
}
