import { z } from 'zod';
import { WIRE_VERSION } from './command-parts.js';

const uuid = z.uuid();
const nodeId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);
const sha256 = z.string().regex(/^[a-f0-9]{64}$/);

/**
 * The node command that fetches an image into the node's cache and checks it (sha256, qemu-img: declared format,
 * no backing file). Not a server operation: it names no server and no task, so it travels on its own subject
 * (`<prefix>.node.<nodeId>.cmd.image_verify`) beside the operations' commands and is answered by an `image.state`
 * event, not a task result.
 */
export const IMAGE_VERIFY_OP = 'image_verify';

export const ImageVerifyCommandSchema = z.object({
  v: z.literal(WIRE_VERSION),
  kind: z.literal(IMAGE_VERIFY_OP),
  /** Which request this is (the `Nats-Msg-Id` and the key the answer comes back with). */
  requestId: uuid,
  nodeId,
  imageId: uuid,
  url: z.string().min(1).max(2048),
  sha256,
  format: z.enum(['qcow2', 'raw']),
  issuedAt: z.number(),
});
export type ImageVerifyCommand = z.infer<typeof ImageVerifyCommandSchema>;

/** The node's answer to `image_verify`: the image is in its cache and checked, or why not. */
export const ImageStateEventSchema = z.object({
  v: z.literal(WIRE_VERSION),
  requestId: uuid,
  nodeId,
  imageId: uuid,
  /** The checksum the command asked for (an answer for an image's older checksum is stale). */
  sha256,
  ok: z.boolean(),
  /** Why it failed (a checksum mismatch names both checksums; a fetch error names the URL). */
  reason: z.string().max(2000).optional(),
  /** Size of the verified file. */
  bytes: z.number().int().min(0).optional(),
  /** The disk size a guest made from it sees (qemu-img's virtual-size), when the node inspected it. */
  virtualBytes: z.number().int().min(0).optional(),
  at: z.number(),
});
export type ImageStateEvent = z.infer<typeof ImageStateEventSchema>;

/**
 * A node's fetch of an image for an `image_verify` request, under way (advisory, fire and forget): sent at most every
 * 2 s or every 5 % of the total, whichever comes first. The API keeps the latest per image and node for staff.
 */
export const ImageProgressEventSchema = z.object({
  v: z.literal(WIRE_VERSION),
  requestId: uuid,
  nodeId,
  imageId: uuid,
  sha256,
  /** Bytes received so far. */
  bytes: z.number().int().min(0),
  /** The whole file (HTTP Content-Length, the file's size), null when the source does not say. */
  total: z.number().int().min(0).nullable(),
  at: z.number(),
});
export type ImageProgressEvent = z.infer<typeof ImageProgressEventSchema>;

/** Where an image stands on one node: `unverified` (never asked), `verifying` (asked), `verified`, `failed` (reason). */
export const IMAGE_NODE_STATES = ['unverified', 'verifying', 'verified', 'failed'] as const;
export type ImageNodeState = (typeof IMAGE_NODE_STATES)[number];

/** Staff's view of an image on one node. */
export interface ImageNodeStateView {
  nodeId: string;
  nodeName: string;
  locationId: string;
  state: ImageNodeState;
  /** Why the last check failed (null otherwise). */
  reason: string | null;
  /** When the node last answered (ISO 8601), null if it never did. */
  checkedAt: string | null;
  /** When staff or the API last asked it (ISO 8601), null if never. */
  requestedAt: string | null;
  /** While `verifying`: the bytes the node has fetched so far and the file's total (null: not said yet / unknown). */
  progressBytes: number | null;
  progressTotal: number | null;
}

const GiB = 1024 ** 3;

/** What an image needs of a plan: staff's minimum disk (GiB) and memory (MiB), and the disk a guest made from it sees (bytes). */
export interface ImageSizeNeeds {
  name: string;
  minDiskGiB: number;
  minMemoryMiB: number;
  virtualSizeBytes: number | null;
}

/** The smallest disk (bytes) the image fits on: staff's minimum or its virtual size as a node reported it, whichever is larger. */
export function imageDiskNeedBytes(image: ImageSizeNeeds): number {
  return Math.max((image.minDiskGiB ?? 0) * GiB, image.virtualSizeBytes ?? 0);
}

const gib = (bytes: number) => {
  const v = bytes / GiB;
  return `${Number.isInteger(v) ? v : v.toFixed(2)} GiB`;
};

/**
 * Why a disk of `diskGiB` and `memoryMiB` of memory are too small for `image` (null when they fit), naming both
 * sizes; `what` names the plan or server ("The plan \"Small\""). The one rule for an order, a rebuild and a resize
 * in the API (409 plan_too_small) and for the panel's order form, which greys out what does not fit.
 */
export function imageFitProblem(image: ImageSizeNeeds, size: { diskGiB: number; memoryMiB: number }, what: string): string | null {
  const need = imageDiskNeedBytes(image);
  if (size.diskGiB * GiB < need) {
    const why = (image.virtualSizeBytes ?? 0) >= (image.minDiskGiB ?? 0) * GiB ? 'its disk is' : 'staff set a minimum of';
    return `${what} has a ${size.diskGiB} GiB disk, but the image "${image.name}" needs at least ${gib(need)} (${why} ${gib(need)})`;
  }
  if (size.memoryMiB < (image.minMemoryMiB ?? 0)) {
    return `${what} has ${size.memoryMiB} MiB of memory, but the image "${image.name}" needs at least ${image.minMemoryMiB} MiB`;
  }
  return null;
}
