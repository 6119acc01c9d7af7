import express, { type ErrorRequestHandler, type Express } from 'express';
import { MAX_JSON_BODY_BYTES, type ApiError } from '@oblako/contracts';

/**
 * JSON body parsing with a size limit, and clear answers when it fails: 413 for bodies over the
 * limit, 400 for malformed JSON. Registered on the Express instance before the routes.
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
        message: `The request body is not valid JSON (${(err as Error).message}); check quoting, commas and brackets.`,
      };
    } else if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
      body = { statusCode: 415, code: 'unsupported_media_type', message: 'Send the body as UTF-8 JSON.' };
    }
    if (!body) return next(err);
    res.status(body.statusCode).json(body);
  };
  app.use(onBodyError);
}
