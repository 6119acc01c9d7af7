import { imageFitProblem, type ImageSizeNeeds } from '@oblako/contracts';
import { ServerError } from '../servers/servers.errors.js';

/**
 * 409 `plan_too_small` when a plan's (or a server's) disk or memory is smaller than the image needs (staff's minimum,
 * or the image's own disk as the verifying node reported it), naming both sizes: an order, a rebuild and a resize
 * are refused here instead of failing on the node. The rule is the contract's `imageFitProblem`, which the panel
 * applies too.
 */
export function requireImageFits(image: ImageSizeNeeds, size: { diskGiB: number; memoryMiB: number }, what: string, field: 'planId' | 'imageId'): void {
  const problem = imageFitProblem(image, size, what);
  if (problem) throw new ServerError('plan_too_small', `${problem}: choose a larger plan or another image.`, [{ field, problems: [problem] }]);
}
