import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './index.js';

/**
 * A real NATS cluster for tests: `size` nats-server processes (Debian's nats-server 2.9) with
 * JetStream, joined by cluster routes on free ports, each with its own store in a temp folder.
 * Never the machine's shared nats-server.
 */
export interface NatsClusterServer {
  name: string;
  /** nats://127.0.0.1:<port> of this server's client port. */
  url: string;
  port: number;
  /** The running process, or null after kill() / stop(). */
  child: ChildProcess | null;
  logFile: string;
  /** SIGKILL (no clean leave), the process stays down until start(). */
  kill(): Promise<void>;
  /** Start it again with the same ports and store (it rejoins the cluster). */
  start(): Promise<void>;
}

export interface NatsCluster {
  servers: NatsClusterServer[];
  /** Every server's URL, comma-separated: what NATS_URL is set to. */
  url: string;
  dir: string;
  /** The server that leads the named stream (its server_name), asked of the cluster. */
  streamLeader(stream: string): Promise<string | undefined>;
  /** Stop every server and remove the folder. */
  stop(): Promise<void>;
}

function findNatsServerBinary(): string {
  for (const c of ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server']) if (existsSync(c)) return c;
  try {
    return execFileSync('which', ['nats-server'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('nats-server is not installed: apt-get install nats-server');
  }
}

export async function startNatsCluster({ size = 3, name = 'oblako-test' }: { size?: number; name?: string } = {}): Promise<NatsCluster> {
  const bin = findNatsServerBinary();
  const dir = mkdtempSync(join(tmpdir(), 'oblako-nats-cluster-'));
  const ports: { client: number; route: number }[] = [];
  for (let i = 0; i < size; i++) ports.push({ client: await freePort(), route: await freePort() });
  const routes = ports.map((p) => `nats-route://127.0.0.1:${p.route}`);

  const servers: NatsClusterServer[] = ports.map((p, i) => {
    const serverName = `n${i + 1}`;
    const store = join(dir, serverName, 'jetstream');
    mkdirSync(store, { recursive: true });
    const configFile = join(dir, serverName, 'nats.conf');
    writeFileSync(
      configFile,
      [
        `server_name: ${serverName}`,
        `listen: 127.0.0.1:${p.client}`,
        `jetstream { store_dir: "${store}" }`,
        `cluster {`,
        `  name: ${name}`,
        `  listen: 127.0.0.1:${p.route}`,
        `  routes: [${routes.filter((_, j) => j !== i).join(', ')}]`,
        `}`,
        '',
      ].join('\n'),
    );
    const logFile = join(dir, serverName, 'nats.log');
    const s: NatsClusterServer = {
      name: serverName,
      url: `nats://127.0.0.1:${p.client}`,
      port: p.client,
      child: null,
      logFile,
      async kill() {
        const c = s.child;
        s.child = null;
        if (!c || c.exitCode !== null || c.signalCode !== null) return;
        const exited = new Promise((ok) => c.once('exit', ok));
        c.kill('SIGKILL');
        await exited;
      },
      async start() {
        if (s.child) return;
        const log = createWriteStream(logFile, { flags: 'a' });
        const child = spawn(bin, ['-c', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
        child.stdout?.pipe(log, { end: false });
        child.stderr?.pipe(log, { end: false });
        child.once('exit', () => log.end());
        s.child = child;
      },
    };
    return s;
  });

  const { connect } = await import('@nats-io/transport-node');
  const { jetstreamManager } = await import('@nats-io/jetstream');
  const url = servers.map((s) => s.url).join(',');
  const stop = async () => {
    for (const s of servers) await s.kill();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const s of servers) await s.start();
    // Ready when JetStream answers on every server: the routes are up and a meta leader is elected.
    for (const s of servers) {
      await waitFor(
        `nats-server ${s.name} on ${s.url} to serve JetStream in the cluster (log: ${s.logFile})`,
        async () => {
          if (s.child?.exitCode != null) throw new Error(`nats-server ${s.name} exited with code ${s.child.exitCode}`);
          const nc = await connect({ servers: s.url, timeout: 1000 });
          try {
            const info = await (await jetstreamManager(nc, { timeout: 1000 })).getAccountInfo();
            return info !== undefined;
          } finally {
            await nc.close();
          }
        },
        { timeoutMs: 30_000, intervalMs: 200 },
      );
    }
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    servers,
    url,
    dir,
    async streamLeader(stream: string) {
      const alive = servers.filter((s) => s.child).map((s) => s.url);
      const nc = await connect({ servers: alive, timeout: 2000 });
      try {
        const info = await (await jetstreamManager(nc, { timeout: 5000 })).streams.info(stream);
        return info.cluster?.leader;
      } finally {
        await nc.close();
      }
    },
    stop,
  };
}
