/**
 * A real SMTP server that keeps what it receives: the tests' mail server and the demo's inbox.
 * Runs as a process of its own (`startMailCatcher`), so a test can stop it for a while and start it
 * again on the same port. Every message is written to `<dir>/<time>-<id>.json` (to, from, subject,
 * text, html) and listed over HTTP: `/` (an inbox page) and `/messages` (JSON). With `auth`, it
 * takes mail only from a client that logs in with that user and password (AUTH PLAIN/LOGIN), and
 * answers "535" to a wrong one, as a provider's SMTP server would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { simpleParser, type AddressObject } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { freePort, waitFor } from './index.js';

export interface CaughtMail {
  id: string;
  receivedAt: string;
  /** Envelope recipients, lower case. */
  to: string[];
  from: string;
  subject: string;
  text: string;
  html: string;
  /** The SMTP login the client used (catchers started with `auth`), else null. */
  authUser: string | null;
}

export interface MailCatcherAuth {
  user: string;
  password: string;
}

export function readInbox(dir: string): CaughtMail[] {
  let files: string[] = [];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  } catch {
    return [];
  }
  return files.map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as CaughtMail);
}

/** Run the SMTP and HTTP servers in this process (the child's entry point calls this). */
export async function runMailCatcher(opts: { dir: string; smtpPort: number; httpPort: number; host?: string; auth?: MailCatcherAuth }): Promise<{ close(): Promise<void> }> {
  const host = opts.host ?? '127.0.0.1';
  mkdirSync(opts.dir, { recursive: true });
  const auth = opts.auth;
  const smtp = new SMTPServer({
    authOptional: !auth,
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN'],
    onAuth(a, _session, callback) {
      if (auth && a.username === auth.user && a.password === auth.password) return callback(null, { user: a.username });
      const err = new Error('Authentication failed') as Error & { responseCode: number };
      err.responseCode = 535;
      callback(err);
    },
    disabledCommands: ['STARTTLS'],
    logger: false,
    size: 10 * 1024 * 1024,
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((parsed) => {
          const id = randomBytes(6).toString('hex');
          const from = (parsed.from as AddressObject | undefined)?.text ?? session.envelope.mailFrom?.toString() ?? '';
          const mail: CaughtMail = {
            id,
            receivedAt: new Date().toISOString(),
            to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
            from,
            subject: parsed.subject ?? '',
            text: parsed.text ?? '',
            html: typeof parsed.html === 'string' ? parsed.html : '',
            authUser: typeof session.user === 'string' ? session.user : null,
          };
          const name = `${Date.now().toString().padStart(15, '0')}-${id}.json`;
          writeFileSync(join(opts.dir, `.${name}`), JSON.stringify(mail, null, 2));
          renameSync(join(opts.dir, `.${name}`), join(opts.dir, name));
          callback();
        })
        .catch((err: Error) => callback(err));
    },
  });
  await new Promise<void>((ok, fail) => {
    smtp.once('error', fail);
    smtp.listen(opts.smtpPort, host, () => ok());
  });
  const http: Server = createServer((req, res) => {
    const mails = readInbox(opts.dir).reverse();
    if (req.url?.startsWith('/messages')) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(mails));
      return;
    }
    const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
    const links = (s: string) => esc(s).replace(/https?:\/\/[^\s<]+/g, (u) => `<a href="${u}">${u}</a>`);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(`<!doctype html><meta charset="utf-8"><title>Demo inbox (${mails.length})</title>
<style>body{font-family:system-ui,sans-serif;max-width:900px;margin:24px auto;padding:0 16px;color:#1f2328}details{border:1px solid #d0d7de;border-radius:6px;margin:8px 0;padding:8px 12px}summary{cursor:pointer}pre{white-space:pre-wrap;font-size:14px}.m{color:#59636e;font-size:13px}</style>
<h1>Demo inbox</h1><p class="m">Every mail the API sent to the demo's SMTP catcher (port ${opts.smtpPort}), newest first. Reload to see new ones.</p>
${mails.map((m) => `<details><summary><strong>${esc(m.subject)}</strong> <span class="m">to ${esc(m.to.join(', '))} · ${esc(m.receivedAt)}</span></summary><pre>${links(m.text)}</pre></details>`).join('\n') || '<p>No mail yet.</p>'}`);
  });
  await new Promise<void>((ok, fail) => {
    http.once('error', fail);
    http.listen(opts.httpPort, host, () => ok());
  });
  return {
    async close() {
      await new Promise<void>((ok) => smtp.close(() => ok()));
      await new Promise<void>((ok) => http.close(() => ok()));
    },
  };
}

export interface MailCatcher {
  smtpPort: number;
  httpPort: number;
  /** http://127.0.0.1:<httpPort>/ (the inbox page) */
  url: string;
  dir: string;
  running(): boolean;
  /** Stop the server process (mail sent meanwhile is refused: connection refused). */
  stop(): Promise<void>;
  /** Start it again on the same ports, keeping what it received. */
  start(): Promise<void>;
  inbox(): CaughtMail[];
  /** Wait for a mail to `to` that matches; `after` skips mail received before that many messages. */
  waitForMail(to: string, match?: (m: CaughtMail) => boolean, timeoutMs?: number): Promise<CaughtMail>;
}

/** How long a start may take before it counts as failed (a process start on a loaded machine). */
const START_TIMEOUT_MS = 60_000;

const MAIN = fileURLToPath(new URL('./mail-catcher-main.js', import.meta.url));

/** Start the mail catcher as a child process on free ports (or the ones given). */
export async function startMailCatcher(opts: { dir: string; smtpPort?: number; httpPort?: number; echo?: boolean; auth?: MailCatcherAuth }): Promise<MailCatcher> {
  const smtpPort = opts.smtpPort ?? (await freePort());
  const httpPort = opts.httpPort ?? (await freePort());
  let child: ChildProcess | null = null;
  const start = async () => {
    if (child) return;
    const c = spawn(process.execPath, [MAIN, '--dir', opts.dir, '--smtp-port', String(smtpPort), '--http-port', String(httpPort)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      // The login goes through the environment, not the command line (ps shows that).
      env: { ...process.env, ...(opts.auth ? { MAIL_CATCHER_AUTH: JSON.stringify(opts.auth) } : {}) },
    });
    child = c;
    let out = '';
    c.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    c.stderr!.on('data', (b: Buffer) => {
      out += b.toString();
      if (opts.echo) process.stderr.write(b);
    });
    c.once('exit', () => {
      if (child === c) child = null;
    });
    // A start that fails takes its process with it: left running, its pipes kept the test process alive after the
    // test had failed (seen at load 32: a nats-cluster.test whose catcher took over 15 s to start hung until killed
    // from outside, 10 min later). The wait is generous: starting node itself took that long at that load.
    try {
      await waitFor(`the mail catcher to listen on ${smtpPort} (${out.trim() || 'no output'})`, () => {
        if (c.exitCode !== null) throw new Error(`the mail catcher exited with code ${c.exitCode}: ${out.trim()}`);
        return out.includes('mail catcher ready');
      }, { timeoutMs: START_TIMEOUT_MS, intervalMs: 20 });
    } catch (err) {
      if (child === c) child = null;
      c.kill('SIGKILL');
      throw err;
    }
  };
  const stop = async () => {
    const c = child;
    if (!c) return;
    child = null;
    await new Promise<void>((ok) => {
      c.once('exit', () => ok());
      c.kill('SIGTERM');
      setTimeout(() => c.kill('SIGKILL'), 3000).unref();
    });
  };
  await start();
  const inbox = () => readInbox(opts.dir);
  return {
    smtpPort, httpPort, dir: opts.dir, url: `http://127.0.0.1:${httpPort}/`,
    running: () => child !== null,
    start, stop, inbox,
    waitForMail: (to, match = () => true, timeoutMs = 15_000) =>
      waitFor(`a mail to ${to}`, () => inbox().find((m) => m.to.includes(to.toLowerCase()) && match(m)), { timeoutMs, intervalMs: 50 }),
  };
}

/** The first link in a mail's plain-text part that starts with `prefix`. */
export function linkIn(mail: CaughtMail, prefix: string): string {
  const url = mail.text.match(/https?:\/\/\S+/g)?.find((u) => u.startsWith(prefix));
  if (!url) throw new Error(`no link starting with ${prefix} in the mail "${mail.subject}":\n${mail.text}`);
  return url;
}

/** The `token` query parameter of the first link starting with `prefix`. */
export function tokenIn(mail: CaughtMail, prefix: string): string {
  const token = new URL(linkIn(mail, prefix)).searchParams.get('token');
  if (!token) throw new Error(`the link in "${mail.subject}" has no token`);
  return token;
}
