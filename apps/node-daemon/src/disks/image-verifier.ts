import { stat } from 'node:fs/promises';
import { WIRE_VERSION, type ImageProgressEvent, type ImageStateEvent, type ImageVerifyCommand } from '@oblako/contracts';
import { nowMs } from '../clock.js';
import { errorMessage } from '../log.js';
import type { ImageCache } from './images.js';

const PROGRESS_EVERY_MS = 2000;
const PROGRESS_STEP = 0.05;

/**
 * Answers `image_verify`: fetch the image into the node's cache (the same cache provisioning uses, so a verified
 * image is a base the next create finds in place) and check it there: sha256 on the way in, qemu-img for the
 * declared format and no backing file. A verified answer carries the disk size a guest sees (`virtualBytes`, qemu-img's
 * virtual-size), so the API can refuse a plan whose disk is smaller before a node ever tries. A cached copy is hashed again the first time this process uses it. The
 * answer says why a check failed in the cache's own words (a checksum mismatch names both checksums).
 */
export class ImageVerifier {
  constructor(
    private readonly cache: ImageCache,
    private readonly nodeId: string,
    /** Where the download's progress goes (`image.progress`, fire and forget); none: not reported. */
    private readonly progress?: (e: ImageProgressEvent) => void,
  ) {}

  async verify(cmd: ImageVerifyCommand): Promise<ImageStateEvent> {
    const base = { v: WIRE_VERSION, requestId: cmd.requestId, nodeId: this.nodeId, imageId: cmd.imageId, sha256: cmd.sha256 } as const;
    // throttled: every 2 s, or sooner once 5 % more of the total has come; the last word is the image.state answer
    let lastAt = 0;
    let lastFraction = -1;
    const stop = this.progress
      ? this.cache.listenProgress((image, bytes, total) => {
          if (image.sha256 !== cmd.sha256) return;
          const now = Date.now();
          const fraction = total ? bytes / total : null;
          if (now - lastAt < PROGRESS_EVERY_MS && (fraction === null || fraction - lastFraction < PROGRESS_STEP)) return;
          lastAt = now;
          if (fraction !== null) lastFraction = fraction;
          this.progress?.({ ...base, bytes, total, at: nowMs() });
        })
      : () => undefined;
    try {
      const path = await this.cache.ensure({ url: cmd.url, sha256: cmd.sha256, format: cmd.format });
      const { size } = await stat(path);
      const virtualBytes = await this.cache.virtualSize(path);
      return { ...base, ok: true, bytes: size, ...(virtualBytes !== null ? { virtualBytes } : {}), at: nowMs() };
    } catch (err) {
      return { ...base, ok: false, reason: errorMessage(err).slice(0, 2000), at: nowMs() };
    } finally {
      stop();
    }
  }
}
