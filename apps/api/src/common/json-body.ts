import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import { MAX_JSON_BODY_BYTES, type ApiError } from '@oblako/contracts';

const JSON_TYPES = ['application/json', 'application/*+json'];

/**
 * JSON body parsing with a size limit, and clear answers when it fails: 413 for bodies over the
 * limit, 400 for malformed JSON or a body that is not an object, 415 for a body that is not JSON.
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
    }
    if (!body) return next();
    res.status(body.statusCode).json(body);
  };
  app.use(requireJsonObject);
}
