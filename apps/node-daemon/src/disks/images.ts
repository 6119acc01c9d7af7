import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import type { ImageRef } from '@oblako/contracts';

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

/**
 * Base images fetched once per node into `<dir>/<sha256>.<format>` and checked against their
 * SHA-256 on the way in (a file that does not match is never stored). Concurrent requests for the
 * same image share one download. The file name is the checksum, so no user text becomes a path.
 */
export class ImageCache {
  private readonly inflight = new Map<string, Promise<string>>();

  constructor(
    readonly dir: string,
    private readonly opts: { timeoutMs?: number } = {},
  ) {}

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
      p = this.fetchOnce(url, image.sha256, path).finally(() => this.inflight.delete(path));
      this.inflight.set(path, p);
    }
    return p;
  }

  private async fetchOnce(url: URL, sha256: string, path: string): Promise<string> {
    if (await stat(path).then((s) => s.isFile(), () => false)) return path;
    await mkdir(this.dir, { recursive: true });
    const tmp = join(this.dir, `.fetch-${randomBytes(6).toString('hex')}`);
    const hash = createHash('sha256');
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        cb(null, chunk);
      },
    });
    try {
      let source: Readable;
      if (url.protocol === 'file:') {
        source = createReadStream(fileURLToPath(url));
      } else {
        const res = await fetch(url, { redirect: 'follow', signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30 * 60_000) });
        if (!res.ok || !res.body) throw new ImageError(`fetching ${url.href} answered HTTP ${res.status}`);
        source = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream);
      }
      await pipeline(source, tap, createWriteStream(tmp, { mode: 0o644 }));
      const got = hash.digest('hex');
      if (got !== sha256) throw new ImageError(`image ${url.href} has sha256 ${got}, expected ${sha256}: not stored`);
      await rename(tmp, path);
      return path;
    } catch (err) {
      await rm(tmp, { force: true });
      if (err instanceof ImageError) throw err;
      throw new ImageError(`cannot fetch image ${url.href}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
