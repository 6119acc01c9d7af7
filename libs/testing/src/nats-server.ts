import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { freePort, waitFor } from './index.js';

/** A nats-server of the test's own (JetStream on file storage), to kill and start again on the same port and store. */
export class PrivateNats {
  private child: ChildProcess | null = null;

  private constructor(
    readonly port: number,
    private readonly storeDir: string,
  ) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<PrivateNats> {
    const n = new PrivateNats(await freePort(), mkdtempSync(join(tmpdir(), 'oblako-nats-')));
    await n.up();
    return n;
  }

  async up(): Promise<void> {
    const bin = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].find((p) => existsSync(p)) ?? 'nats-server';
    this.child = spawn(bin, ['-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', this.storeDir], { stdio: 'ignore' });
    try {
      await waitFor(`nats-server on ${this.url}`, async () => {
        const nc = await connect({ servers: this.url, timeout: 500, maxReconnectAttempts: 0 });
        await nc.close();
        return true;
      }, { timeoutMs: 15_000, intervalMs: 100 });
    } catch (err) {
      // a start that failed takes its process with it (left running, it kept the test process alive)
      await this.kill();
      throw err;
    }
  }

  /** Kill it (SIGKILL: an outage, not a shutdown). */
  async kill(): Promise<void> {
    const c = this.child;
    this.child = null;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.storeDir, { recursive: true, force: true });
  }
}
