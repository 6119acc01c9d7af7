import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export interface ManagedProcess {
  readonly name: string;
  /** The running child (a new one after each restart). */
  readonly child: ChildProcess;
  /** Resolves when the process has exited for good: stopped, or exited without a restart policy. */
  readonly exited: Promise<number | null>;
  /** How many times the process was restarted after an unexpected exit. */
  readonly restarts: number;
  /** SIGTERM, then SIGKILL after `graceMs`; no restart follows. */
  stop(graceMs?: number): Promise<void>;
}

/** Restart a child that exits unexpectedly, with exponential backoff (the demo's supervisor; production uses systemd). */
export interface RestartPolicy {
  /** First delay; doubled after each exit that follows a short run. Default 1 s. */
  initialDelayMs?: number;
  /** Default 30 s. */
  maxDelayMs?: number;
  /** A run at least this long resets the backoff. Default 60 s. */
  healthyAfterMs?: number;
  /** Told of every exit and restart, in words a person reads in the demo's output. */
  report(message: string): void;
  /** Called after a restarted child was spawned. */
  onRestart?(child: ChildProcess, restart: number): void;
}

export interface SpawnOptions {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** File that receives stdout and stderr (appended to across restarts). */
  logFile: string;
  /** Also echo output to this process's stderr, prefixed with the name. */
  echo?: boolean;
  /** Restart after an unexpected exit; unset: an exit is final. */
  restart?: RestartPolicy;
}

/** Start a program with an argument array (never through a shell), its output going to a log file. */
export function startProcess(opts: SpawnOptions): ManagedProcess {
  mkdirSync(dirname(opts.logFile), { recursive: true });
  const log = createWriteStream(opts.logFile, { flags: 'a' });
  const policy = opts.restart;
  const initial = policy?.initialDelayMs ?? 1000;
  const max = policy?.maxDelayMs ?? 30_000;
  const healthyAfter = policy?.healthyAfterMs ?? 60_000;
  let stopping = false;
  let restarts = 0;
  let delay = initial;
  let pending: NodeJS.Timeout | null = null;
  let finish!: (code: number | null) => void;
  const exited = new Promise<number | null>((resolve) => (finish = resolve));
  void exited.then(() => log.end());

  let current: { child: ChildProcess; exit: Promise<number | null> };
  const launch = () => {
    const startedAt = Date.now();
    const child = spawn(opts.command, opts.args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [child.stdout, child.stderr]) {
      stream?.pipe(log, { end: false });
      if (opts.echo) stream?.on('data', (b: Buffer) => process.stderr.write(prefixLines(opts.name, b.toString())));
    }
    const exit = new Promise<number | null>((resolve) => {
      child.once('exit', (code) => resolve(code));
      child.once('error', (err) => {
        log.write(`failed to start ${opts.command}: ${err.message}\n`);
        resolve(null);
      });
    });
    current = { child, exit };
    void exit.then((code) => {
      if (stopping || !policy) return finish(code);
      if (Date.now() - startedAt >= healthyAfter) delay = initial;
      const how = child.signalCode ? `was killed by ${child.signalCode}` : `exited with code ${code}`;
      policy.report(`${opts.name} ${how}; restarting it in ${(delay / 1000).toFixed(delay < 1000 ? 1 : 0)} s (restart ${restarts + 1}; log: ${opts.logFile})`);
      pending = setTimeout(() => {
        pending = null;
        if (stopping) return finish(code);
        restarts++;
        launch();
        policy.report(`${opts.name} restarted (pid ${current.child.pid})`);
        policy.onRestart?.(current.child, restarts);
      }, delay);
      delay = Math.min(max, delay * 2);
    });
  };
  launch();

  return {
    name: opts.name,
    get child() {
      return current.child;
    },
    exited,
    get restarts() {
      return restarts;
    },
    async stop(graceMs = 10_000) {
      stopping = true;
      if (pending) {
        clearTimeout(pending);
        pending = null;
        finish(current.child.exitCode);
        return;
      }
      const { child, exit } = current;
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exit;
        clearTimeout(timer);
      }
      finish(child.exitCode);
      await exited;
    },
  };
}

function prefixLines(name: string, text: string): string {
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => `[${name}] ${l}\n`)
    .join('');
}
