import { API_PREFIX } from '@oblako/contracts';
import { ApiRequestError, errorMessage } from '../../core/api/api-error';

/** A staff page's load error; says which API is missing when the endpoint does not exist yet. */
export function adminLoadError(e: unknown, path: string): string {
  if (e instanceof ApiRequestError && (e.status === 404 || e.status === 405) && (e.code === 'not_found' || e.code === 'http_404')) {
    return `${errorMessage(e)} (GET ${API_PREFIX}${path} is not available on this API yet.)`;
  }
  return errorMessage(e);
}
