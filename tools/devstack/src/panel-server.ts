import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect as connectTcp } from 'node:net';
import type { Duplex } from 'node:stream';
import { extname, join, normalize, resolve, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json',
};

/**
 * Serves the built panel and proxies /api and /health to the API, so the browser talks to one
 * origin. Unknown paths fall back to index.html (client-side routing).
 */
export function startPanelServer(opts: { root: string; port: number; host?: string; apiUrl: string }): Promise<Server> {
  const root = resolve(opts.root);
  const api = new URL(opts.apiUrl);
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (url.startsWith('/api/') || url === '/health' || url.startsWith('/health?')) return proxy(req, res, api);
    serveStatic(root, url, res);
  });
  // Console WebSockets (/api/v1/servers/<id>/console/...) go to the API like every other /api call.
  server.on('upgrade', (req, socket, head) => {
    if (!(req.url ?? '').startsWith('/api/')) return socket.destroy();
    proxyUpgrade(req, socket, head, api);
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => ok(server));
  });
}

function proxy(req: IncomingMessage, res: ServerResponse, api: URL): void {
  const upstream = request(
    { hostname: api.hostname, port: api.port, path: req.url, method: req.method, headers: { ...req.headers, host: api.host } },
    (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    },
  );
  // A browser that goes away (a closed tab, a live-update stream) ends the upstream request too,
  // or the API would keep the stream open and could not shut down promptly.
  res.on('close', () => {
    if (!res.writableFinished) upstream.destroy();
  });
  upstream.on('error', () => {
    if (res.destroyed) return;
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ statusCode: 502, code: 'api_unreachable', message: 'The API is not answering; is it running?' }));
  });
  req.pipe(upstream);
}

/** Pass a WebSocket upgrade through as bytes: the request head as it came (plus X-Forwarded-For), then both directions piped. */
function proxyUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, api: URL): void {
  const upstream = connectTcp({ host: api.hostname, port: Number(api.port) }, () => {
    const lines = [`${req.method} ${req.url} HTTP/1.1`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i]!;
      if (/^x-forwarded-for$/i.test(name)) continue;
      lines.push(`${name}: ${/^host$/i.test(name) ? api.host : req.rawHeaders[i + 1]}`);
    }
    lines.push(`X-Forwarded-For: ${req.socket.remoteAddress ?? ''}`);
    upstream.write(lines.join('\r\n') + '\r\n\r\n');
    if (head.length) upstream.write(head);
    upstream.pipe(socket);
    socket.pipe(upstream);
  });
  const end = () => {
    upstream.destroy();
    socket.destroy();
  };
  upstream.on('error', end);
  socket.on('error', end);
  upstream.on('close', () => socket.destroy());
  socket.on('close', () => upstream.destroy());
}

function serveStatic(root: string, url: string, res: ServerResponse): void {
  let path: string;
  try {
    path = decodeURIComponent(new URL(url, 'http://x').pathname);
  } catch {
    res.writeHead(400).end('bad path');
    return;
  }
  let file = normalize(join(root, path));
  if (file !== root && !file.startsWith(root + sep)) {
    res.writeHead(403).end('forbidden');
    return;
  }
  if (!existsSync(file) || statSync(file).isDirectory()) file = join(root, 'index.html');
  if (!existsSync(file)) {
    res.writeHead(503, { 'content-type': 'text/plain' }).end('The panel is not built: run npx nx run panel:build');
    return;
  }
  const type = TYPES[extname(file)] ?? 'application/octet-stream';
  const cache = file.endsWith('index.html') ? 'no-cache' : 'public, max-age=3600';
  res.writeHead(200, { 'content-type': type, 'cache-control': cache });
  createReadStream(file).pipe(res);
}
