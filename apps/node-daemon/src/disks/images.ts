import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import type { ImageRef } from '@oblako/contracts';
import { ExecError, type Exec } from '../host/exec.js';

export class ImageError extends Error {
  override name = 'ImageError';
}

const SHA256 = /^[a-f0-9]{64}$/;

/** Where base images come from: file:// (a path on this node) or http(s)://. Anything else is refused. */
export function checkImageUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ImageError(`image URL "${url.slice(0, 200)}" is not a URL`);
  }
  if (u.protocol !== 'file:' && u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new ImageError(`image URL scheme "${u.protocol}" is not supported (file://, http://, https://)`);
  }
  if (u.protocol === 'file:' && u.host !== '' && u.host !== 'localhost') throw new ImageError(`file:// image URL must name a local path, not host "${u.host}"`);
  if (u.username || u.password) throw new ImageError('image URLs may not carry credentials');
  return u;
}

/** SHA-256 of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), new Transform({ transform(chunk: Buffer, _e, cb) { hash.update(chunk); cb(); } }));
  return hash.digest('hex');
}

/**
 * What `qemu-img info` says of a downloaded file, checked before it may become a base: the format it declares
 * (a "qcow2" that qemu-img sees as raw is not a disk image; a "raw" that is really qcow2 would smuggle in qcow2
 * features), and no backing file (a qcow2 whose backing file points at another path on the node is a known way to
 * read the host's files through a guest).
 */
export async function inspectImage(exec: Exec, path: string, format: 'qcow2' | 'raw'): Promise<void> {
  let info: { format?: string; 'backing-filename'?: string; 'full-backing-filename'?: string };
  try {
    info = JSON.parse((await exec('qemu-img', ['info', '--output=json', path], { timeoutMs: 60_000 })).stdout) as typeof info;
  } catch (err) {
    throw new ImageError(`qemu-img cannot read the image: ${err instanceof ExecError ? err.stderr.trim().slice(0, 300) : String(err)}`);
  }
  if (info.format !== format) throw new ImageError(`the file is not a ${format} image (qemu-img sees ${info.format ?? 'nothing it knows'})`);
  const backing = info['full-backing-filename'] ?? info['backing-filename'];
  if (backing) throw new ImageError(`the image has a backing file (${backing.slice(0, 200)}): refused, a base image must stand alone`);
}

/**
 * Base images fetched once per node into `<dir>/<sha256>.<format>`, checked against their SHA-256 on the way in
 * and, with `exec`, inspected by qemu-img (format as declared, no backing file). Only a checked file is renamed
 * into place, after an fsync of it and of the folder, so a partial download, a wrong checksum, a crash mid-write
 * or a file that is not the declared image never becomes a base. A cached copy is hashed again the first time
 * this process uses it (a file damaged on disk since is removed and fetched again). Leftover partial downloads of
 * an earlier process are removed. Concurrent requests for the same image share one download. The file name is
 * the checksum, so no user text becomes a path.
 */
export class ImageCache {
  private readonly inflight = new Map<string, Promise<string>>();
  /** Paths hashed and found right by this process. */
  private readonly verified = new Set<string>();
  /** One sweep per process, awaited by every fetch before it writes: it never sees a partial file of this process. */
  private swept: Promise<void> | undefined;
  /** Listeners of every download's progress besides `opts.onProgress` (the image verifier's, per request). */
  private readonly progressListeners = new Set<(image: { sha256: string }, bytes: number, total: number | null) => void>();

  constructor(
    readonly dir: string,
    private readonly opts: {
      timeoutMs?: number;
      exec?: Exec;
      /** Downloads tried per ensure() when the failure is transient (network error, HTTP 408/429/5xx); default 3. */
      attempts?: number;
      /** Wait before the n-th retry: n × this (default 1000 ms). */
      retryDelayMs?: number;
      /** Bytes written so far and the total when the source says (HTTP Content-Length, the file's size). */
      onProgress?: (image: { sha256: string }, bytes: number, total: number | null) => void;
    } = {},
  ) {}

  /**
   * The disk size a guest made from the base at `path` sees (`qemu-img info` virtual-size, bytes): a plan's disk must
   * be at least this. Null when this cache has no `exec` (it never inspects) or qemu-img gives no size.
   */
  async virtualSize(path: string): Promise<number | null> {
    if (!this.opts.exec) return null;
    const info = JSON.parse((await this.opts.exec('qemu-img', ['info', '--output=json', path], { timeoutMs: 60_000 })).stdout) as { 'virtual-size'?: unknown };
    const v = info['virtual-size'];
    return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : null;
  }

  /** Hear every download's progress (at most every 500 ms and once at the end) until the returned function is called. */
  listenProgress(fn: (image: { sha256: string }, bytes: number, total: number | null) => void): () => void {
    this.progressListeners.add(fn);
    return () => this.progressListeners.delete(fn);
  }

  private report(image: { sha256: string }, bytes: number, total: number | null): void {
    this.opts.onProgress?.(image, bytes, total);
    for (const fn of this.progressListeners) fn(image, bytes, total);
  }

  pathOf(image: Pick<ImageRef, 'sha256' | 'format'>): string {
    if (!SHA256.test(image.sha256)) throw new ImageError(`image sha256 "${image.sha256.slice(0, 80)}" is not 64 lower-case hex digits`);
    if (image.format !== 'qcow2' && image.format !== 'raw') throw new ImageError(`image format "${String(image.format)}" must be qcow2 or raw`);
    return join(this.dir, `${image.sha256}.${image.format}`);
  }

  /** Path of the verified base image, fetching it first when this node does not have it yet. */
  async ensure(image: Pick<ImageRef, 'url' | 'sha256' | 'format'>): Promise<string> {
    const path = this.pathOf(image);
    const url = checkImageUrl(image.url);
    let p = this.inflight.get(path);
    if (!p) {
      p = this.fetchOnce(url, image.sha256, path, image.format).finally(() => this.inflight.delete(path));
      this.inflight.set(path, p);
    }
    return p;
  }

  /** Partial downloads (`.fetch-*`) an earlier process left behind: nothing of this process is in flight yet. */
  private async sweep(): Promise<void> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    await Promise.all(names.filter((n) => n.startsWith('.fetch-')).map((n) => rm(join(this.dir, n), { force: true })));
  }

  private async fetchOnce(url: URL, sha256: string, path: string, format: 'qcow2' | 'raw'): Promise<string> {
    if (await stat(path).then((s) => s.isFile(), () => false)) {
      if (this.verified.has(path)) return path;
      if ((await sha256File(path)) === sha256) {
        this.verified.add(path);
        return path;
      }
      // damaged on disk since it was stored: never used as a base, fetched again
      await rm(path, { force: true });
    }
    await mkdir(this.dir, { recursive: true });
    await (this.swept ??= this.sweep());
    const attempts = Math.max(1, this.opts.attempts ?? 3);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.download(url, sha256, path, format);
      } catch (err) {
        // a checksum, a format or a 4xx will not change by asking again: only transient failures are retried
        if (!(err instanceof TransientFetchError) || attempt >= attempts) throw err instanceof TransientFetchError ? new ImageError(`${err.message} (tried ${attempt} time${attempt === 1 ? '' : 's'})`) : err;
        await new Promise((r) => setTimeout(r, attempt * (this.opts.retryDelayMs ?? 1000)));
      }
    }
  }

  private async download(url: URL, sha256: string, path: string, format: 'qcow2' | 'raw'): Promise<string> {
    const tmp = join(this.dir, `.fetch-${randomBytes(6).toString('hex')}`);
    const hash = createHash('sha256');
    const onProgress = (image: { sha256: string }, b: number, t: number | null) => this.report(image, b, t);
    let bytes = 0;
    let total: number | null = null;
    let lastReport = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        bytes += chunk.length;
        const now = Date.now();
        if (now - lastReport >= 500) {
          lastReport = now;
          onProgress({ sha256 }, bytes, total);
        }
        cb(null, chunk);
      },
    });
    try {
      let source: Readable;
      if (url.protocol === 'file:') {
        total = await stat(fileURLToPath(url)).then((st) => st.size, () => null);
        source = createReadStream(fileURLToPath(url));
      } else {
        let res: Response;
        try {
          res = await fetch(url, { redirect: 'follow', signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30 * 60_000) });
        } catch (err) {
          throw new TransientFetchError(`cannot fetch image ${url.href}: ${err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err)}`);
        }
        if (!res.ok || !res.body) {
          const msg = `fetching ${url.href} answered HTTP ${res.status}`;
          throw res.status >= 500 || res.status === 408 || res.status === 429 ? new TransientFetchError(msg) : new ImageError(msg);
        }
        const length = Number(res.headers.get('content-length'));
        total = Number.isFinite(length) && length > 0 ? length : null;
        source = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream);
      }
      try {
        await pipeline(source, tap, createWriteStream(tmp, { mode: 0o644 }));
      } catch (err) {
        // the connection broke mid-download: worth another try (a file:// read error is not)
        if (url.protocol !== 'file:') throw new TransientFetchError(`fetching ${url.href} broke off after ${bytes} bytes: ${err instanceof Error ? err.message : String(err)}`);
        throw err;
      }
      onProgress({ sha256 }, bytes, total ?? bytes);
      const got = hash.digest('hex');
      if (got !== sha256) throw new ImageError(`image ${url.href} has sha256 ${got}, expected ${sha256}: not stored`);
      if (this.opts.exec) {
        await inspectImage(this.opts.exec, tmp, format).catch((err: unknown) => {
          throw new ImageError(`image ${url.href}: ${err instanceof Error ? err.message : String(err)}; not stored`);
        });
      }
      await fsync(tmp);
      await rename(tmp, path);
      await fsync(this.dir);
      this.verified.add(path);
      return path;
    } catch (err) {
      await rm(tmp, { force: true });
      if (err instanceof ImageError || err instanceof TransientFetchError) throw err;
      throw new ImageError(`cannot fetch image ${url.href}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

/** A download failure that may pass (network, HTTP 408/429/5xx, a connection cut mid-way): retried by fetchOnce. */
class TransientFetchError extends Error {}

/** Flush a file (or a folder's entries) to the disk. */
async function fsync(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
