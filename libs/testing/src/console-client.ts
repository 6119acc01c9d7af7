import { WebSocket } from 'ws';

/** A console WebSocket as a test (or a benchmark) holds it: what arrived, and how it ended. */
export interface ConsoleClient {
  ws: WebSocket;
  /** Everything received so far. */
  bytes(): Buffer;
  text(): string;
  /** Resolves with the close code and reason. */
  closed: Promise<{ code: number; reason: string }>;
  /** Called with every chunk as it arrives (latency probes). */
  onData(fn: (chunk: Buffer) => void): void;
}

export interface ConsoleRefusal {
  status: number;
  body: { code: string; message: string };
}

/**
 * Open `wsUrl` (ws://host/api/v1/servers/<id>/console/<kind>?ticket=...). Resolves with the open
 * console, or with the HTTP answer that refused the upgrade (401 for a ticket refused, ...).
 */
export function openConsole(wsUrl: string): Promise<ConsoleClient | ConsoleRefusal> {
  return new Promise((resolve, fail) => {
    const ws = new WebSocket(wsUrl);
    const chunks: Buffer[] = [];
    const listeners: ((c: Buffer) => void)[] = [];
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() })));
    ws.on('message', (d: Buffer) => {
      chunks.push(d);
      for (const l of listeners) l(d);
    });
    ws.on('open', () =>
      resolve({
        ws,
        bytes: () => Buffer.concat(chunks),
        text: () => Buffer.concat(chunks).toString(),
        closed,
        onData: (fn) => listeners.push(fn),
      }),
    );
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(body) });
        } catch {
          resolve({ status: res.statusCode ?? 0, body: { code: 'unknown', message: body } });
        }
      });
    });
    ws.on('error', (err) => {
      if (!/Unexpected server response/.test(err.message)) fail(err);
    });
  });
}

export function isConsoleOpen(c: ConsoleClient | ConsoleRefusal): c is ConsoleClient {
  return 'ws' in c;
}
