import { stat } from 'node:fs/promises';
import { WIRE_VERSION, type ImageStateEvent, type ImageVerifyCommand } from '@oblako/contracts';
import { nowMs } from '../clock.js';
import { errorMessage } from '../log.js';
import type { ImageCache } from './images.js';

/**
 * Answers `image_verify`: fetch the image into the node's cache (the same cache provisioning uses, so a verified
 * image is a base the next create finds in place) and check it there: sha256 on the way in, qemu-img for the
 * declared format and no backing file. A verified answer carries the disk size a guest sees (`virtualBytes`, qemu-img's
 * virtual-size), so the API can refuse a plan whose disk is smaller before a node ever tries. A cached copy is hashed again the first time this process uses it. The
 * answer says why a check failed in the cache's own words (a checksum mismatch names both checksums).
 */
export class ImageVerifier {
  constructor(private readonly cache: ImageCache, private readonly nodeId: string) {}

  async verify(cmd: ImageVerifyCommand): Promise<ImageStateEvent> {
    const base = { v: WIRE_VERSION, requestId: cmd.requestId, nodeId: this.nodeId, imageId: cmd.imageId, sha256: cmd.sha256 } as const;
    try {
      const path = await this.cache.ensure({ url: cmd.url, sha256: cmd.sha256, format: cmd.format });
      const { size } = await stat(path);
      const virtualBytes = await this.cache.virtualSize(path);
      return { ...base, ok: true, bytes: size, ...(virtualBytes !== null ? { virtualBytes } : {}), at: nowMs() };
    } catch (err) {
      return { ...base, ok: false, reason: errorMessage(err).slice(0, 2000), at: nowMs() };
    }
  }
}
