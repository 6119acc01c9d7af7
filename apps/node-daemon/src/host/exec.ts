import { execFile, spawn } from 'node:child_process';

export interface ExecResult {
  stdout: string;
  stderr: string;
}

/** Runs a program with an argument array (never a shell). Throws ExecError naming the command. */
export type Exec = (file: string, args: readonly string[], opts?: { input?: string; timeoutMs?: number }) => Promise<ExecResult>;

export class ExecError extends Error {
  constructor(
    readonly file: string,
    readonly args: readonly string[],
    readonly exitCode: number | string | null,
    readonly stderr: string,
    cause?: unknown,
  ) {
    super(`${file} ${args.join(' ')} failed${exitCode !== null ? ` (exit ${exitCode})` : ''}: ${stderr.trim().slice(0, 1000) || String(cause)}`);
    this.name = 'ExecError';
  }
}

export const execProgram: Exec = (file, args, opts = {}) =>
  new Promise((resolve, reject) => {
    if (opts.input === undefined) {
      execFile(file, [...args], { timeout: opts.timeoutMs ?? 120_000, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
        if (err) {
          const code = (err as NodeJS.ErrnoException & { code?: number | string }).code ?? null;
          reject(new ExecError(file, args, code, stderr || err.message, err));
        } else resolve({ stdout, stderr });
      });
      return;
    }
    const child = spawn(file, [...args], { stdio: ['pipe', 'pipe', 'pipe'], timeout: opts.timeoutMs ?? 120_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => reject(new ExecError(file, args, null, err.message, err)));
    child.on('close', (code) => (code === 0 ? resolve({ stdout, stderr }) : reject(new ExecError(file, args, code, stderr))));
    child.stdin.end(opts.input);
  });

/**
 * Run `ip`/`tc` with `-force -batch -` (one process for many commands) where the commands at the
 * given 1-based line numbers may fail (deletions of what may not exist); any other failing line
 * throws with the program's own messages.
 */
export async function batchAllowingFailures(exec: Exec, file: 'ip' | 'tc', pre: readonly string[], lines: readonly string[], mayFail: ReadonlySet<number>): Promise<void> {
  try {
    await exec(file, [...pre, '-force', '-batch', '-'], { input: lines.join('\n') + '\n' });
  } catch (err) {
    if (!(err instanceof ExecError)) throw err;
    const failed = [...err.stderr.matchAll(/Command failed -:(\d+)/g)].map((m) => Number(m[1]));
    if (failed.length === 0 || failed.some((n) => !mayFail.has(n))) throw err;
  }
}
