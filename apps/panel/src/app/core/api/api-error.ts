/**
 * Errors from the API, normalised so every page can show the API's own message.
 * Pure (no Angular): unit-tested with node:test.
 */
export interface ApiErrorDetail {
  field: string;
  problems: string[];
}

export class ApiRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: ApiErrorDetail[] = [],
  ) {
    super(message);
    this.name = 'ApiRequestError';
  }

  get isNotFound(): boolean {
    return this.status === 404;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const STATUS_TEXT: Record<number, string> = {
  0: 'The API could not be reached. Check your connection and try again.',
  400: 'The request was not accepted.',
  401: 'Your session has ended. Log in again.',
  403: 'You do not have permission to do that.',
  404: 'Not found.',
  409: 'That conflicts with the current state.',
  413: 'The request is too large.',
  429: 'Too many requests. Wait a moment and try again.',
  500: 'The API failed to answer. Try again in a moment.',
  502: 'The API is not available right now.',
  503: 'The API is not available right now.',
};

/**
 * Build an error from a status and a parsed body. Accepts the contract's ApiError body
 * (`{ statusCode, code, message, details }`) and NestJS's default shape (`message` as a list).
 */
export function apiErrorFrom(status: number, body: unknown): ApiRequestError {
  let message = STATUS_TEXT[status] ?? `The API answered ${status}.`;
  let code = status === 404 ? 'not_found' : `http_${status}`;
  let details: ApiErrorDetail[] = [];
  if (isRecord(body)) {
    if (typeof body['code'] === 'string') code = body['code'];
    const m = body['message'];
    if (typeof m === 'string' && m.trim()) message = m;
    else if (Array.isArray(m) && m.length > 0) message = m.map(String).join(' ');
    else if (typeof body['error'] === 'string' && body['error'].trim()) message = body['error'];
    const d = body['details'];
    if (Array.isArray(d)) {
      details = d.filter(isRecord).map((x) => ({
        field: String(x['field'] ?? ''),
        problems: Array.isArray(x['problems']) ? x['problems'].map(String) : [String(x['problems'] ?? '')],
      }));
    }
  } else if (typeof body === 'string' && body.trim() && body.length < 500 && !body.trimStart().startsWith('<')) {
    message = body.trim();
  }
  return new ApiRequestError(status, code, message, details);
}

/** Read an error out of a non-2xx fetch Response. */
export async function apiErrorFromResponse(res: Response): Promise<ApiRequestError> {
  let body: unknown = null;
  try {
    const text = await res.text();
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = text;
    }
  } catch {
    body = null;
  }
  return apiErrorFrom(res.status, body);
}

/** One sentence for a person, whatever was thrown. */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiRequestError) {
    if (err.details.length > 0) {
      const extra = err.details.flatMap((d) =>
        d.problems
          .filter((p) => p && !err.message.includes(p))
          .map((p) => (d.field && !p.toLowerCase().includes(d.field.toLowerCase()) ? `${d.field}: ${p}` : p)),
      );
      return extra.length ? `${err.message} ${extra.join(' ')}` : err.message;
    }
    return err.message;
  }
  if (err instanceof TypeError) return STATUS_TEXT[0] as string;
  if (err instanceof Error && err.message) return err.message;
  return 'Something went wrong.';
}
