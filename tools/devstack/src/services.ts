import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, waitFor } from '@oblako/testing';
import { startProcess, type ManagedProcess, type RestartPolicy } from './processes.js';
import { connect, credsAuthenticator } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';

export interface EmbeddedPostgres {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * PostgreSQL served by PGlite over the ordinary wire protocol, data kept in `dataDir`.
 * PGlite serialises connections: good for a demo, not for locking tests.
 */
export async function startEmbeddedPostgres(dataDir: string, port?: number): Promise<EmbeddedPostgres> {
  mkdirSync(dataDir, { recursive: true });
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  const db = await PGlite.create(dataDir);
  const chosen = port ?? (await freePort());
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: chosen, maxConnections: 20 });
  await server.start();
  return {
    url: `postgres://postgres@127.0.0.1:${chosen}/postgres`,
    port: chosen,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}

export interface NatsServer {
  url: string;
  port: number;
  process: ManagedProcess;
  stop(): Promise<void>;
}

export function findNatsServer(): string {
  for (const candidate of ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server']) {
    if (existsSync(candidate)) return candidate;
  }
  try {
    return execFileSync('which', ['nats-server'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('nats-server is not installed: run `apt-get install nats-server` (scripts/demo.sh does it for you), or set NATS_URL');
  }
}

/** Start a nats-server with JetStream (file storage in `dataDir`) on a free port, or the one given. */
export async function startNatsServer(opts: { dataDir: string; port?: number; configFile?: string; credsFile?: string; logFile: string; restart?: RestartPolicy }): Promise<NatsServer> {
  mkdirSync(opts.dataDir, { recursive: true });
  const port = opts.port ?? (await freePort());
  const args = ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', join(opts.dataDir, 'jetstream')];
  if (opts.configFile) args.push('-c', opts.configFile);
  const proc = startProcess({ name: 'nats-server', command: findNatsServer(), args, logFile: opts.logFile, restart: opts.restart });
  const url = `nats://127.0.0.1:${port}`;
  // a start that failed takes its process with it (left running, it kept the test process alive)
  await waitFor(
    `nats-server on ${url} (log: ${opts.logFile})`,
    async () => {
      if (proc.child.exitCode !== null) throw new Error(`nats-server exited with code ${proc.child.exitCode}`);
      const authenticator = opts.credsFile ? credsAuthenticator(readFileSync(opts.credsFile)) : undefined;
      const nc = await connect({ servers: url, timeout: 1000, authenticator });
      try {
        await (await jetstreamManager(nc)).getAccountInfo();
        return true;
      } finally {
        await nc.close();
      }
    },
    { timeoutMs: 15_000, intervalMs: 100 },
  ).catch(async (err: unknown) => {
    await proc.stop();
    throw err;
  });
  return { url, port, process: proc, stop: () => proc.stop() };
}
