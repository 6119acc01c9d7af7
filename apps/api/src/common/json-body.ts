import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import { MAX_JSON_BODY_BYTES, MAX_JSON_DEPTH, type ApiError } from '@oblako/contracts';

const JSON_TYPES = ['application/json', 'application/*+json'];

/**
 * JSON body parsing with a size limit, and clear answers when it fails: 413 for bodies over the
 * limit, 400 for malformed JSON or a body that is not an object, 415 for a body that is not JSON,
 * and 400 for text no route can store or check (see `findUnsafeInput`), whatever the route.
 * Registered on the Express instance before the routes. Routes that read their body raw (the
 * Stripe webhook) have a Buffer body by then and are left alone.
 */
export function installJsonBody(app: Express): void {
  app.use(express.json({ limit: MAX_JSON_BODY_BYTES, strict: true, type: ['application/json', 'application/*+json'] }));
  const onBodyError: ErrorRequestHandler = (err, _req, res, next) => {
    const type = (err as { type?: string }).type;
    let body: ApiError | null = null;
    if (type === 'entity.too.large') {
      body = {
        statusCode: 413,
        code: 'payload_too_large',
        message: `The request body is larger than the limit of ${MAX_JSON_BODY_BYTES} bytes; send less data.`,
      };
    } else if (type === 'entity.parse.failed') {
      body = {
        statusCode: 400,
        code: 'malformed_json',
        message: `The request body is not a valid JSON object (${(err as Error).message}); check quoting, commas and brackets.`,
      };
    } else if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
      body = { statusCode: 415, code: 'unsupported_media_type', message: 'Send the body as UTF-8 JSON.' };
    }
    if (!body) return next(err);
    res.status(body.statusCode).json(body);
  };
  app.use(onBodyError);
  const requireJsonObject: RequestHandler = (req, res, next) => {
    if (!['POST', 'PUT', 'PATCH'].includes(req.method) || Buffer.isBuffer(req.body)) return next();
    const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
    let body: ApiError | null = null;
    if (hasBody && !req.is(JSON_TYPES)) {
      body = { statusCode: 415, code: 'unsupported_media_type', message: 'Send the request body as JSON with the header Content-Type: application/json.' };
    } else if (Array.isArray(req.body)) {
      body = { statusCode: 400, code: 'validation_failed', message: 'The request body must be a JSON object, not an array.' };
    } else {
      body = findUnsafeInput(req.body, 'body');
    }
    if (!body) return next();
    res.status(body.statusCode).json(body);
  };
  app.use(requireJsonObject);
  // Query strings are checked on every method (a NUL in a filter would reach PostgreSQL too).
  const checkQuery: RequestHandler = (req, res, next) => {
    const bad = findUnsafeInput(req.query, 'query');
    if (!bad) return next();
    res.status(bad.statusCode).json(bad);
  };
  app.use(checkQuery);
}

/**
 * What no route can take, found once at the edge instead of route by route: nesting deeper than
 * MAX_JSON_DEPTH (the validator's transformer recurses and overflows the stack at a few thousand
 * levels, and spends CPU long before that), a NUL character (PostgreSQL text cannot hold one) and
 * a lone UTF-16 surrogate (not text; the validator's e-mail check throws on it). Keys count as text.
 * The walk is iterative, so the body it refuses cannot overflow it; it stops at the first fault.
 */
export function findUnsafeInput(root: unknown, where: 'body' | 'query'): ApiError | null {
  if (root === null || typeof root !== 'object') return null;
  const stack: { value: unknown; path: string; depth: number }[] = [{ value: root, path: '', depth: 1 }];
  while (stack.length > 0) {
    const { value, path, depth } = stack.pop()!;
    if (depth > MAX_JSON_DEPTH) {
      return { statusCode: 400, code: 'json_too_deep', message: `The request ${where} nests objects or arrays more than ${MAX_JSON_DEPTH} levels deep (at ${path.length > 120 ? `…${path.slice(-120)}` : path}); no field of this API is nested that deeply.` };
    }
    const entries: [string, unknown][] = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value as object);
    for (const [key, child] of entries) {
      const at = Array.isArray(value) ? `${path}[${key}]` : path ? `${path}.${safeKey(key)}` : safeKey(key);
      for (const text of Array.isArray(value) ? [child] : [key, child]) {
        if (typeof text !== 'string') continue;
        if (text.includes('\u0000')) {
          return { statusCode: 400, code: 'invalid_text', message: `${where === 'body' ? 'Field' : 'Query parameter'} ${at} contains a NUL character (\\u0000), which no text field accepts; remove it.` };
        }
        if (LONE_SURROGATE.test(text)) {
          return { statusCode: 400, code: 'invalid_text', message: `${where === 'body' ? 'Field' : 'Query parameter'} ${at} contains a lone UTF-16 surrogate, which is not valid Unicode text; send well-formed UTF-8.` };
        }
      }
      if (child !== null && typeof child === 'object') stack.push({ value: child, path: at, depth: depth + 1 });
    }
  }
  return null;
}

/** With the u flag a surrogate pair is one code point, so only a lone surrogate is category Cs. */
const LONE_SURROGATE = /\p{Cs}/u;
const LONE_SURROGATE_ALL = /\p{Cs}/gu;

/** A key as it may be shown in a message: well-formed, printable and short. */
function safeKey(key: string): string {
  const clean = key.replace(LONE_SURROGATE_ALL, '?').replace(/[\u0000-\u001f\u007f]/g, '?');
  return clean.length > 40 ? `${clean.slice(0, 40)}…` : clean;
}
