/**
 * Server-sent events over fetch (EventSource cannot send the Authorization header),
 * and the reading of the API's server events. Pure: unit-tested with node:test.
 */
import { SERVER_STATES, type ServerState, type ServerView, type TaskView } from '@oblako/contracts';

export interface SseMessage {
  event: string;
  data: string;
  id?: string;
}

/** Incremental parser of the text/event-stream format (WHATWG HTML §9.2). */
export class SseParser {
  private buffer = '';
  private data: string[] = [];
  private event = '';
  private id: string | undefined;

  /** Feed a chunk of text; returns the messages it completed. */
  push(chunk: string): SseMessage[] {
    this.buffer += chunk;
    const out: SseMessage[] = [];
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buffer);
      if (!m) break;
      // A lone \r at the very end may be the first half of \r\n: wait for more.
      if (m[0] === '\r' && m.index === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, m.index);
      this.buffer = this.buffer.slice(m.index + m[0].length);
      const msg = this.line(line);
      if (msg) out.push(msg);
    }
    return out;
  }

  private line(line: string): SseMessage | null {
    if (line === '') {
      if (this.data.length === 0) {
        this.event = '';
        return null;
      }
      const msg: SseMessage = { event: this.event || 'message', data: this.data.join('\n') };
      if (this.id !== undefined) msg.id = this.id;
      this.data = [];
      this.event = '';
      return msg;
    }
    if (line.startsWith(':')) return null;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\0')) this.id = value;
    return null;
  }
}

/** What the panel needs to know from one event: which server changed and, if sent, its new view. */
export interface ServerChange {
  serverId: string;
  server: ServerView | null;
  task: TaskView | null;
  /** The server's state after the change, when the event says it. */
  state: ServerState | null;
  deleted: boolean;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function looksLikeServer(v: unknown): v is ServerView {
  return isRecord(v) && typeof v['id'] === 'string' && typeof v['state'] === 'string' && typeof v['hostname'] === 'string';
}

function looksLikeTask(v: unknown): v is TaskView {
  return isRecord(v) && typeof v['id'] === 'string' && typeof v['serverId'] === 'string' && typeof v['op'] === 'string';
}

/**
 * Read one event. Accepts a full server view, `{ server }`, `{ task }`, `{ serverId, ... }`;
 * returns null for anything without a server id (keep-alives, hello messages).
 */
export function readServerChange(msg: SseMessage): ServerChange | null {
  let body: unknown;
  try {
    body = JSON.parse(msg.data);
  } catch {
    return null;
  }
  if (!isRecord(body)) return null;
  const server = looksLikeServer(body) ? body : looksLikeServer(body['server']) ? body['server'] : null;
  const task = looksLikeTask(body['task']) ? body['task'] : looksLikeTask(body) ? body : server?.currentTask ?? null;
  const serverId =
    server?.id ?? task?.serverId ?? (typeof body['serverId'] === 'string' ? body['serverId'] : null);
  if (!serverId) return null;
  const rawState = server?.state ?? body['state'];
  const state = SERVER_STATES.includes(rawState as ServerState) ? (rawState as ServerState) : null;
  const deleted = state === 'deleted' || msg.event.includes('deleted');
  return { serverId, server, task, state, deleted };
}
